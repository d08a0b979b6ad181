import type { ChatMessage } from '@chat/protocol';
import type { MessageStore } from '../store/message-store.js';

/** Bytes charged for a reply's envelope and for each conversation entry of a sync reply (approximate, generous). */
export const ENVELOPE_BYTES = 256;
/** Messages read per store query while filling a budget. */
const READ_STEP = 64;

/** Size of a message inside a reply: its JSON (UTF-8) plus a separator. */
export function messageBytes(m: ChatMessage): number {
  return Buffer.byteLength(JSON.stringify(m), 'utf8') + 1;
}

/**
 * The byte budget of one reply (sync or history page), so a reply fits the socket it goes to.
 * Messages are taken while they fit; the first message of a reply is always taken, whatever its
 * size, so paging always makes progress.
 */
export class ReplyBudget {
  private used = 0;
  private messages = 0;

  constructor(private readonly maxBytes: number = Infinity) {}

  /** Charges fixed overhead (envelope, per-entry fields). */
  charge(bytes: number): void {
    this.used += bytes;
  }

  get exhausted(): boolean {
    return this.messages > 0 && this.used >= this.maxBytes;
  }

  private fits(m: ChatMessage): boolean {
    const bytes = messageBytes(m);
    if (this.messages > 0 && this.used + bytes > this.maxBytes) return false;
    this.used += bytes;
    this.messages++;
    return true;
  }

  /** How many messages from the front of `list` fit (taking them). */
  takeFront(list: readonly ChatMessage[]): number {
    let n = 0;
    while (n < list.length && this.fits(list[n]!)) n++;
    return n;
  }

  /** How many messages from the back of `list` fit (taking them): for pages that end at the newest. */
  takeBack(list: readonly ChatMessage[]): number {
    let n = 0;
    while (n < list.length && this.fits(list[list.length - 1 - n]!)) n++;
    return n;
  }
}

/**
 * Messages in (afterSeq, untilSeq], ascending, at most `maxCount`, as many as fit `budget`; reads in
 * steps so a budget that fills early does not read the whole range. `cut` is true when messages
 * were left out for the budget.
 */
export async function readForwardWithin(
  store: MessageStore,
  conversationId: string,
  afterSeq: number,
  untilSeq: number,
  maxCount: number,
  budget: ReplyBudget,
): Promise<{ messages: ChatMessage[]; cut: boolean }> {
  const out: ChatMessage[] = [];
  let from = afterSeq;
  while (out.length < maxCount && from < untilSeq) {
    if (budget.exhausted) return { messages: out, cut: true };
    const step = Math.min(READ_STEP, maxCount - out.length);
    const page = await store.readAfter(conversationId, from, untilSeq, step);
    if (page.length === 0) break;
    const n = budget.takeFront(page);
    out.push(...page.slice(0, n));
    if (n < page.length) return { messages: out, cut: true };
    from = page.at(-1)!.seq;
    if (page.length < step) break;
  }
  return { messages: out, cut: false };
}
