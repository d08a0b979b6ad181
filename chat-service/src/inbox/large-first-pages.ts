import { LARGE_FIRST_PAGES_TOTAL_MAX, type ConversationLatest, type LargeConversationNew } from '@chat/protocol';
import { mapLimit } from '@chat/server/collections';
import type { ReplyBudget } from '../read/reply-budget.js';
import type { MessageStore } from '../store/message-store.js';

/** First pages read from Cassandra at the same time. */
const READ_CONCURRENCY = 8;
/** Bytes charged for the fields a page adds to an entry (`after_seq`, `messages`, `has_more`); generous. */
const PAGE_FIELDS_BYTES = 64;

export interface LargePosition {
  latest: ConversationLatest;
  /** The caller's position: their read position, at least their join point. */
  afterSeq: number;
}

/**
 * Each large conversation with messages after the caller's position, with the first page of them:
 * at most `perConversation` messages, LARGE_FIRST_PAGES_TOTAL_MAX over all of them, and as many as
 * `budget` still holds (taken in list order, each page a prefix, so one cut page leaves the rest to
 * `sync`). `has_more` says messages remain after the page. The others are returned as they were.
 */
export async function withFirstPages(
  messages: MessageStore,
  large: readonly LargePosition[],
  perConversation: number,
  budget: ReplyBudget,
): Promise<LargeConversationNew[]> {
  // A budget the inbox's own messages filled leaves nothing to read.
  let left = budget.exhausted ? 0 : LARGE_FIRST_PAGES_TOTAL_MAX;
  // Planned before reading, so nothing past the total is read.
  const quotas = large.map(({ latest, afterSeq }) => {
    const quota = Math.min(perConversation, Math.max(0, latest.last_seq - afterSeq), left);
    left -= quota;
    return quota;
  });
  const pages = await mapLimit(large, READ_CONCURRENCY, async ({ latest, afterSeq }, i) =>
    quotas[i]! > 0 ? messages.readAfter(latest.conversation_id, afterSeq, latest.last_seq, quotas[i]!) : [],
  );
  return large.map(({ latest, afterSeq }, i) => {
    if (latest.last_seq <= afterSeq) return latest;
    budget.charge(PAGE_FIELDS_BYTES);
    const page = pages[i]!;
    const taken = page.slice(0, budget.takeFront(page));
    return { ...latest, after_seq: afterSeq, messages: taken, has_more: (taken.at(-1)?.seq ?? afterSeq) < latest.last_seq };
  });
}
