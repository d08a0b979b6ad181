import { CloseCodes } from '@chat/protocol';
import { describe, expect, it } from 'vitest';
import { newSocketData, type GatewaySocket } from './socket-data.js';
import { sendTexts, type SendPolicy } from './socket-sender.js';

/** A socket whose send buffer grows by what is written (nothing drains) and that records its writes. */
function fakeSocket() {
  const data = newSocketData('u', 'c', Date.now() + 60_000);
  const writes: string[][] = [];
  let buffered = 0;
  let batch: string[] | undefined;
  const ws = {
    getUserData: () => data,
    getBufferedAmount: () => buffered,
    cork(fn: () => void) {
      batch = [];
      fn();
      writes.push(batch);
      batch = undefined;
    },
    send(text: string) {
      buffered += Buffer.byteLength(text);
      if (batch) batch.push(text);
      else writes.push([text]);
      return 0;
    },
    end: (code: number) => {
      data.closed = code === CloseCodes.SLOW_CONSUMER.code;
    },
  };
  return { ws: ws as unknown as GatewaySocket, writes, data };
}

const policy = (maxBackpressure: number): SendPolicy => ({ maxBackpressure, replyLimit: maxBackpressure / 2, onSlow: () => undefined });

describe('sendTexts', () => {
  it('writes frames that fit together in one corked write, in order', () => {
    const { ws, writes } = fakeSocket();
    expect(sendTexts(ws, ['a', 'bb', 'ccc'], 6, policy(1024))).toBe(true);
    expect(writes).toEqual([['a', 'bb', 'ccc']]);
  });

  it('goes frame by frame when they do not fit together: what fits is written, then the socket is a slow consumer', () => {
    const { ws, writes, data } = fakeSocket();
    const frame = 'x'.repeat(400);
    expect(sendTexts(ws, [frame, frame, frame], 1200, policy(1000))).toBe(false);
    expect(writes).toEqual([[frame], [frame]]);
    expect(data.slow).toBe(true);
    expect(sendTexts(ws, ['a'], 1, policy(1000))).toBe(false);
    expect(writes).toHaveLength(2);
  });
});
