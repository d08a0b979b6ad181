import type { ChatMessage } from '@chat/protocol';

/** For tests: `count` stored messages of one conversation, seq 1..count, each with `body`. */
export function storedMessages(count: number, body: string): ChatMessage[] {
  return Array.from({ length: count }, (_, i) => ({
    conversation_id: '7',
    message_id: String(1000 + i),
    seq: i + 1,
    epoch: '1',
    sender_id: 'u',
    client_msg_id: `c${i}`,
    body,
    created_at: Date.now(),
  }));
}
