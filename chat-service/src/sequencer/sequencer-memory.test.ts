import type { MessageRecord } from '@chat/protocol/internal';
import { describe, expect, it } from 'vitest';
import { MemoryMessageStore } from '../store/memory-message-store.js';
import { Sequencer } from './sequencer.js';
import { testTimestamps } from './test-timestamps.js';

let nextId = 1;
const record = (conversation_id: string, body = 'x'.repeat(2000)): MessageRecord => {
  const id = String(nextId++);
  return {
    v: 1,
    type: 'message',
    conversation_id,
    message_id: id,
    sender_id: `user-${'u'.repeat(100)}`,
    client_msg_id: `client-${id}-${'c'.repeat(50)}`,
    body,
    created_at: 1,
  };
};

/** A message store that refuses to read message bodies: the sequencer's state must not need them. */
class NoBodyReads extends MemoryMessageStore {
  override async readAfter(): Promise<never> {
    throw new Error('sequencer state must not read message bodies');
  }
  override async readBefore(): Promise<never> {
    throw new Error('sequencer state must not read message bodies');
  }
}

describe('Sequencer memory', () => {
  it('item 15: state stays within its byte budget over 5,000 conversations; an evicted conversation continues its numbering; no bodies are read', async () => {
    const messages = new NoBodyReads();
    const forgotten: string[] = [];
    const budget = 256 * 1024;
    const seq = new Sequencer(
      { messages, sends: messages.sends, epochOf: async () => 'e1', timestamp: testTimestamps(1) },
      { maxStateBytes: budget, onForget: (cid) => forgotten.push(cid) },
    );
    for (let round = 0; round < 2; round++) {
      for (let c = 0; c < 5000; c += 250) {
        const out = await seq.process(Array.from({ length: 250 }, (_, i) => record(String(10_000 + c + i))));
        expect(out.failed.size).toBe(0);
        expect(seq.stateBytes).toBeLessThanOrEqual(budget);
      }
    }
    expect(forgotten.length).toBeGreaterThan(5000); // evicted states announced, so caches elsewhere follow
    // Conversation 10000 was evicted long ago; its numbering continues from storage.
    const next = await seq.process([record('10000')]);
    expect(next.messages.map((m) => m.seq)).toEqual([3]);
  });

  it("item 15: a busy conversation's state stops growing once it remembers its quota of recent messages", async () => {
    nextId = 1_000_000; // equal-length ids: every remembered entry has the same size
    const messages = new MemoryMessageStore();
    const seq = new Sequencer({ messages, sends: messages.sends, epochOf: async () => 'e1', timestamp: testTimestamps(1) }, { recentPerConversation: 50 });
    const sizes: number[] = [];
    for (let chunk = 0; chunk < 6; chunk++) {
      await seq.process(Array.from({ length: 20 }, () => record('7')));
      sizes.push(seq.stateBytes);
    }
    expect(sizes[1]).toBeGreaterThan(sizes[0]!);
    expect(sizes[2]).toBeGreaterThan(sizes[1]!); // 60 remembered, capped at 50
    expect(new Set(sizes.slice(2)).size).toBe(1);
  });

  it("item 15: recent messages give way before numbering state, so a busy partition never reloads each conversation's last seq per chunk", async () => {
    class CountingStore extends MemoryMessageStore {
      lastSeqReads = 0;
      override async lastSeq(conversationId: string): Promise<number> {
        this.lastSeqReads++;
        return super.lastSeq(conversationId);
      }
    }
    const messages = new CountingStore();
    // Far too small for every conversation's recent messages, ample for their numbering state.
    const seq = new Sequencer({ messages, sends: messages.sends, epochOf: async () => 'e1', timestamp: testTimestamps(1) }, { maxStateBytes: 256 * 1024 });
    const conversations = Array.from({ length: 100 }, (_, i) => String(500 + i));
    for (let round = 0; round < 10; round++) {
      const out = await seq.process(conversations.flatMap((c) => Array.from({ length: 20 }, () => record(c, 'hi'))));
      expect(out.failed.size).toBe(0);
      expect(seq.stateBytes).toBeLessThanOrEqual(256 * 1024);
    }
    expect(messages.lastSeqReads).toBe(100);
    const last = await seq.process([record('500', 'hi')]);
    expect(last.messages.map((m) => m.seq)).toEqual([201]);
  });

  it('item 16: dropping the partition drops every conversation state and tells the per-conversation caches', async () => {
    const forgotten: string[] = [];
    const messages = new MemoryMessageStore();
    const seq = new Sequencer(
      { messages, sends: messages.sends, epochOf: async () => 'e1', timestamp: testTimestamps(1) },
      { onForget: (cid) => forgotten.push(cid) },
    );
    await seq.process([record('1'), record('2')]);
    seq.close();
    expect(forgotten.sort()).toEqual(['1', '2']);
    expect(seq.stateBytes).toBe(0);
  });
});
