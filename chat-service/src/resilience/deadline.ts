import { ChatError, Errors } from '@chat/protocol';

/** Lets the more precise answer of the work itself (e.g. "not written") win a tie with the deadline. */
const TIE_BREAK_MS = 100;

/**
 * `work`'s result, or a 4101 UNAVAILABLE rejection just after `deadline` (epoch ms) if it has not
 * settled by then. `work` keeps running; whatever it would still write must check the deadline itself
 * (the Kafka writer drops records whose deadline passed before they were handed over).
 */
export function answerBy<T>(deadline: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new ChatError(Errors.UNAVAILABLE, 'a backend did not answer in time; retry with the same client_msg_id')),
      Math.max(0, deadline + TIE_BREAK_MS - Date.now()),
    );
  });
  work.catch(() => undefined);
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}
