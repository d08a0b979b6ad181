import { INBOX_PATHS, type ConversationListPage, type EverythingNew, type ReadCount } from '@chat/protocol';
import { RestCaller, type RestOptions } from './rest-caller.js';

export type InboxClientOptions = RestOptions;

/**
 * The inbox and read state over the REST API (docs/PROTOCOL.md, "Inbox"): the ordered conversation
 * list (seed `ChatClient.seedReadState` with its rows), "everything new for me" (the same page and
 * cursor as `ChatClient.everythingNew`), read positions, mute, and read counts (how many members
 * read a message: the way to show it in large groups, which send no receipts). Errors reject with
 * ChatRequestError.
 */
export class InboxClient {
  private readonly rest: RestCaller;

  constructor(options: InboxClientOptions) {
    this.rest = new RestCaller(options, 'InboxClient');
  }

  /** One page of the caller's conversations, newest activity first; pass `next_cursor` for the next. */
  conversationList(options: { limit?: number; cursor?: string } = {}): Promise<ConversationListPage> {
    return this.rest.call('GET', INBOX_PATHS.conversationList(options.limit, options.cursor));
  }

  /**
   * "Everything new for me", one page (the same as `ChatClient.everythingNew`). With
   * `largeFirstPage` (1 to LARGE_FIRST_PAGE_MAX) the page that ends the round (`has_more: false`)
   * also carries the first page of each large conversation's messages after the read position.
   */
  everythingNew(cursor?: string, options: { largeFirstPage?: number } = {}): Promise<EverythingNew> {
    return this.rest.call('GET', INBOX_PATHS.everythingNew(cursor, options.largeFirstPage));
  }

  /** Moves the read position forward (never back); resolves with the stored one. */
  async markRead(conversationId: string, seq: number): Promise<number> {
    return (await this.rest.call<{ read_seq: number }>('PUT', INBOX_PATHS.read(conversationId), { seq })).read_seq;
  }

  async setMuted(conversationId: string, muted: boolean): Promise<void> {
    await this.rest.call('PUT', INBOX_PATHS.mute(conversationId), { muted });
  }

  /** How many current members read `seq` or past it (cached by the server for up to READ_COUNT_CACHE_MS). */
  readCount(conversationId: string, seq: number): Promise<ReadCount> {
    return this.rest.call('GET', INBOX_PATHS.readCount(conversationId, seq));
  }
}
