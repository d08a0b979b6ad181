/** The REST API of the inbox and read state (docs/PROTOCOL.md, "Inbox"): paths and reply bodies. */

export const INBOX_PATHS = {
  everythingNew: (cursor?: string, largeFirstPage?: number) => {
    const q = [cursor !== undefined ? `cursor=${encodeURIComponent(cursor)}` : '', largeFirstPage !== undefined ? `large_first_page=${largeFirstPage}` : '']
      .filter(Boolean)
      .join('&');
    return `/v1/inbox${q ? `?${q}` : ''}`;
  },
  conversationList: (limit?: number, cursor?: string) => {
    const q = [limit !== undefined ? `limit=${limit}` : '', cursor !== undefined ? `cursor=${encodeURIComponent(cursor)}` : ''].filter(Boolean).join('&');
    return `/v1/conversation-list${q ? `?${q}` : ''}`;
  },
  read: (conversationId: string) => `/v1/conversations/${encodeURIComponent(conversationId)}/read`,
  mute: (conversationId: string) => `/v1/conversations/${encodeURIComponent(conversationId)}/mute`,
  readCount: (conversationId: string, seq: number) => `/v1/conversations/${encodeURIComponent(conversationId)}/messages/${seq}/read-count`,
} as const;

/** One row of `GET /v1/conversation-list`. */
export interface ConversationListItem {
  conversation_id: string;
  kind: 'direct' | 'group';
  title: string | null;
  epoch: string;
  last_activity: number;
  last_seq: number;
  /** The last message (body cut at 140 characters); null when there is none the caller may read. */
  preview: { message_id: string; sender_id: string; body: string } | null;
  read_seq: number;
  unread: number;
  muted: boolean;
  /** How the conversation is fanned out: on write (inbox rows) or on read (the client syncs it). */
  fanout: 'write' | 'read';
}

export interface ConversationListPage {
  conversations: ConversationListItem[];
  /** Absent on the last page. */
  next_cursor?: string;
}

/** `GET /v1/conversations/:id/messages/:seq/read-count`. */
export interface ReadCount {
  conversation_id: string;
  seq: number;
  /** Current members whose read position is at or past `seq` (the sender counts: sending reads). */
  read_count: number;
  /** Current members. */
  members: number;
}
