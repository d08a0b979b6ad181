import type { ConversationLatest } from '@chat/protocol';
import type { Logger } from '@chat/server/logger';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { SendPolicy } from '../transport/socket-sender.js';
import { newSocketData, type GatewaySocket } from '../transport/socket-data.js';
import { noteActive } from './conversation-activity.js';
import { startDigest } from './digest.js';
import { LocalSessions } from './local-sessions.js';

const silent = { warn: () => {}, child: () => silent } as unknown as Logger;
const policy: SendPolicy = { maxBackpressure: 1 << 20, replyLimit: 1 << 19, onSlow: () => {} };

/** A socket that records the frames written to it. */
function socket(userId: string, connectionId: string, sent: Map<string, string[]>): GatewaySocket {
  const data = newSocketData(userId, connectionId, Number.MAX_SAFE_INTEGER);
  sent.set(connectionId, []);
  return {
    getUserData: () => data,
    getBufferedAmount: () => 0,
    cork: (fn: () => void) => fn(),
    send: (text: string) => {
      sent.get(connectionId)!.push(text);
      return 1;
    },
  } as unknown as GatewaySocket;
}

afterEach(() => {
  vi.useRealTimers();
});

describe('digest', () => {
  it('item 8: every socket gets one digest per interval, of its own conversations, a slice of the sockets per round', async () => {
    vi.useFakeTimers();
    const sessions = new LocalSessions();
    const sent = new Map<string, string[]>();
    for (let i = 0; i < 400; i++) {
      const ws = socket(`u${i}`, `c${i}`, sent);
      noteActive(ws, String(1000 + (i % 50)), Date.now());
      sessions.add(ws);
    }
    const asked: number[] = [];
    const chat = {
      latest: async (req: { conversation_ids: string[] }) => {
        asked.push(req.conversation_ids.length);
        return { conversations: req.conversation_ids.map((id): ConversationLatest => ({ conversation_id: id, last_seq: 7, epoch: 'e1' })) };
      },
    };
    const stop = startDigest(sessions, chat, policy, { intervalMs: 10_000 }, silent);
    await vi.advanceTimersByTimeAsync(10_000);
    stop();
    expect(asked).toHaveLength(10);
    for (const n of asked) expect(n).toBeLessThan(50);
    for (let i = 0; i < 400; i++) {
      const frames = sent.get(`c${i}`)!.map((t) => JSON.parse(t) as { type: string; conversations: ConversationLatest[] });
      expect(frames).toEqual([{ type: 'digest', conversations: [{ conversation_id: String(1000 + (i % 50)), last_seq: 7, epoch: 'e1' }] }]);
    }
  });
});
