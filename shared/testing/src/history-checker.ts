/**
 * A Jepsen-style history checker for the message path (G1–G5 under faults).
 *
 * Tests record every send with its outcome (ok / failed / indeterminate) and every device's received
 * log: what the client SDK showed (after its dedup) and, separately, what arrived raw on the socket
 * (at-least-once delivery allows raw duplicates). After the faults heal and consumer lag is zero, the
 * checker reads storage through a reader passed in and checks:
 *
 * - lost:          an acked send with no stored message (matched by message_id, or by (sender,
 *                  conversation, client_msg_id) for the documented case of a resend acked with a new id)
 * - duplicated:    one message_id stored twice or acked for two sends, one send stored twice, a message
 *                  shown twice on a device
 * - reordered:     a device showed a conversation out of seq order, or a seq with another message than storage
 * - gaps:          stored seqs of a conversation are not dense 1..N
 * - undelivered:   a device that follows a conversation never showed a stored message (identical
 *                  order on every member = every follower shows exactly the stored sequence)
 * - unexplained:   a stored message that no send explains, or whose only sends failed definitively
 *                  (stored but unacked is fine only when a send of it was indeterminate)
 *
 * It prints one line per check (`checker[name]: acked=.. lost=.. duplicated=.. reordered=.. …`) and
 * returns the counts with the first violations spelled out, for tests to assert on.
 */
import { Errors, type AckFrame, type ChatMessage } from '@chat/protocol';
import { ChatRequestError, type ChatClient } from '@chat/sdk';

export { recordingWebSocket } from './recording-websocket.js';
export { consumerLag, waitForZeroLag, type ConsumerLag } from './consumer-lag.js';
import type { StoredMessage, StoredReader } from './stored-messages.js';
export { cassandraMessageReader, type StoredMessage, type StoredReader } from './stored-messages.js';

export type SendOutcome = 'ok' | 'failed' | 'indeterminate';

/** One attempt of the test to send a message (one call of ChatClient.send, one raw send frame, …). */
export interface SendRecord {
  sender: string;
  conversationId: string;
  clientMsgId: string;
  body: string | undefined;
  outcome: SendOutcome | 'pending';
  /** From the ack (ok) only. */
  messageId?: string;
  /** Error code of a failure, when the server named one. */
  code?: number;
  reason?: string;
  startedAt: number;
  endedAt?: number;
}

/** A message as a device saw it (ChatMessage or any frame with these fields). */
export type SeenMessage = Pick<ChatMessage, 'conversation_id' | 'seq' | 'message_id'> & Partial<Pick<ChatMessage, 'sender_id' | 'client_msg_id'>>;

/** The handle of one send: settle it exactly once (later calls are ignored). */
export interface SendOp {
  readonly record: SendRecord;
  ok(messageId: string): void;
  failed(reason: string, code?: number): void;
  indeterminate(reason: string, code?: number): void;
  /** Classifies an error the send raised (see classifySendError). */
  error(err: unknown): void;
}

/** Error codes that are a definite refusal: the message never reached Kafka. */
const DEFINITE_REFUSALS = new Set<number>([
  ...Object.values(Errors)
    .filter((e) => !e.retry)
    .map((e) => e.code),
  Errors.RATE_LIMITED.code,
]);

/**
 * failed = the server refused definitively (a non-retryable code such as 4003/4012/4002, or 4100
 * rate limited, which is refused before Kafka); indeterminate = anything that may have been written:
 * timeouts, 4101/4102, a connection lost before the answer, a client closed with the send pending.
 */
export function classifySendError(err: unknown): { outcome: 'failed' | 'indeterminate'; reason: string; code?: number } {
  if (err instanceof ChatRequestError) {
    return { outcome: DEFINITE_REFUSALS.has(err.code) ? 'failed' : 'indeterminate', reason: err.name, code: err.code };
  }
  const reason = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return { outcome: 'indeterminate', reason };
}

/** What one device (one ChatClient instance, one socket owner) received. */
export class DeviceLog {
  /** Messages the client showed (after its dedup), in the order shown. */
  readonly shownLog: SeenMessage[] = [];
  /** Messages that arrived on the wire (message frames, sync and history results), duplicates included. */
  readonly rawLog: SeenMessage[] = [];
  /** Conversations this device must show in full, after the given seq. */
  readonly follows = new Map<string, number>();

  constructor(
    readonly userId: string,
    readonly deviceId: string,
  ) {}

  /** Declares that the device must show every stored message of the conversation after `afterSeq`. */
  follow(conversationId: string, afterSeq = 0): this {
    this.follows.set(conversationId, afterSeq);
    return this;
  }

  shown(m: SeenMessage): void {
    this.shownLog.push(pick(m));
  }

  raw(m: SeenMessage): void {
    this.rawLog.push(pick(m));
  }

  /** Records the messages carried by one raw server frame (JSON text); other frames are ignored. */
  rawFrame(text: string): void {
    let frame: unknown;
    try {
      frame = JSON.parse(text);
    } catch {
      return;
    }
    if (!isObject(frame)) return;
    const carried: unknown[] = [];
    if (frame.type === 'message') carried.push(frame);
    else if (frame.type === 'history.result' && Array.isArray(frame.messages)) carried.push(...frame.messages);
    else if (frame.type === 'sync.result' && Array.isArray(frame.conversations)) {
      for (const c of frame.conversations) {
        if (isObject(c) && Array.isArray(c.messages)) carried.push(...c.messages);
      }
    }
    for (const m of carried) {
      if (isSeen(m)) this.raw(m);
    }
  }

  /** Shown messages of one conversation, in the order shown. */
  shownIn(conversationId: string): SeenMessage[] {
    return this.shownLog.filter((m) => m.conversation_id === conversationId);
  }

  /** Records what `client` shows; returns the unsubscribe function. */
  attach(client: Pick<ChatClient, 'on'>): () => void {
    return client.on('message', (m) => this.shown(m));
  }
}

/** The record of one test run: sends and devices. */
export class History {
  readonly sends: SendRecord[] = [];
  readonly devices: DeviceLog[] = [];

  constructor(readonly name: string) {}

  /** Starts recording one send attempt. */
  begin(sender: string, conversationId: string, clientMsgId: string, body?: string): SendOp {
    const record: SendRecord = { sender, conversationId, clientMsgId, body, outcome: 'pending', startedAt: Date.now() };
    this.sends.push(record);
    const settle = (outcome: SendOutcome, fields: Partial<SendRecord>) => {
      if (record.outcome !== 'pending') return;
      Object.assign(record, fields, { outcome, endedAt: Date.now() });
    };
    return {
      record,
      ok: (messageId) => settle('ok', { messageId }),
      failed: (reason, code) => settle('failed', { reason, ...(code !== undefined ? { code } : {}) }),
      indeterminate: (reason, code) => settle('indeterminate', { reason, ...(code !== undefined ? { code } : {}) }),
      error: (err) => {
        const c = classifySendError(err);
        settle(c.outcome, { reason: c.reason, ...(c.code !== undefined ? { code: c.code } : {}) });
      },
    };
  }

  /** Records a promise-returning send (e.g. `client.send(...)`); never rejects. */
  async track(
    sender: string,
    conversationId: string,
    clientMsgId: string,
    body: string | undefined,
    send: Promise<Pick<AckFrame, 'message_id'>>,
  ): Promise<SendRecord> {
    const op = this.begin(sender, conversationId, clientMsgId, body);
    try {
      op.ok((await send).message_id);
    } catch (err) {
      op.error(err);
    }
    return op.record;
  }

  /** Sends through a ChatClient with an explicit client_msg_id and records the outcome. */
  send(client: Pick<ChatClient, 'send'>, sender: string, conversationId: string, body: string, clientMsgId: string): Promise<SendRecord> {
    return this.track(sender, conversationId, clientMsgId, body, client.send(conversationId, body, { clientMsgId }));
  }

  /** A device log for `userId` (one per client instance). */
  device(userId: string, deviceId = `${userId}#${this.devices.filter((d) => d.userId === userId).length + 1}`): DeviceLog {
    const d = new DeviceLog(userId, deviceId);
    this.devices.push(d);
    return d;
  }

  /** Conversations named by any send or followed by any device. */
  conversations(): string[] {
    return [...new Set([...this.sends.map((s) => s.conversationId), ...this.devices.flatMap((d) => [...d.follows.keys()])])];
  }
}

export interface CheckOptions {
  /** Reads storage (e.g. cassandraMessageReader(client), or chat-service's MessageStore). */
  readStored: StoredReader;
  /** Conversations to read. @default history.conversations() */
  conversations?: readonly string[];
  /**
   * Re-check until the result passes or this much time has gone by (deliveries still in flight after
   * the faults healed); then once more after `quietMs` to catch late duplicates. @default 0 (check once)
   */
  settleMs?: number;
  /** Pause before the confirming re-check of a passing result, when settleMs > 0. @default 300 */
  quietMs?: number;
  /** Print the one-line summary. @default true */
  print?: boolean;
}

export interface CheckResult {
  name: string;
  /** Distinct sends (by sender, conversation, client_msg_id) with at least one ok outcome. */
  acked: number;
  /** Distinct sends whose every attempt failed definitively. */
  failed: number;
  /** Distinct sends with no ok outcome and at least one indeterminate (or still pending) attempt. */
  indeterminate: number;
  /** Of those, how many are stored. */
  indeterminateStored: number;
  stored: number;
  lost: number;
  duplicated: number;
  reordered: number;
  gaps: number;
  undelivered: number;
  unexplained: number;
  /** Raw duplicates on the wire (allowed by at-least-once; informational). */
  rawDuplicates: number;
  /** Acked sends found in storage under (sender, client_msg_id) but not under their acked message_id. */
  ackedUnderOtherId: number;
  /** The first violations, spelled out. */
  violations: string[];
  ok: boolean;
  line: string;
}

const MAX_VIOLATIONS = 25;

/** Checks the history against storage and the devices' logs; prints and returns the counts. */
export async function checkHistory(history: History, options: CheckOptions): Promise<CheckResult> {
  const settleMs = options.settleMs ?? 0;
  const deadline = Date.now() + settleMs;
  let result = await checkOnce(history, options);
  while (!result.ok && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    result = await checkOnce(history, options);
  }
  if (result.ok && settleMs > 0) {
    await new Promise((r) => setTimeout(r, options.quietMs ?? 300));
    result = await checkOnce(history, options);
  }
  if (options.print ?? true) console.log(result.line);
  return result;
}

const sendKey = (sender: string, conversationId: string, clientMsgId: string) => `${conversationId}\u0000${sender}\u0000${clientMsgId}`;

async function checkOnce(history: History, options: CheckOptions): Promise<CheckResult> {
  const violations: string[] = [];
  const violate = (v: string) => {
    if (violations.length < MAX_VIOLATIONS) violations.push(v);
  };

  // ---- storage
  const conversations = options.conversations ?? history.conversations();
  const storedBy = new Map<string, StoredMessage[]>();
  const storedAt = new Map<string, Map<number, StoredMessage>>();
  for (const conv of conversations) {
    const rows = [...(await options.readStored(conv))].sort((a, b) => a.seq - b.seq);
    storedBy.set(conv, rows);
    storedAt.set(conv, new Map(rows.map((r) => [r.seq, r])));
  }
  const allStored = [...storedBy.values()].flat();

  let duplicated = 0;
  let gaps = 0;
  const storedById = new Map<string, StoredMessage>();
  const storedByKey = new Map<string, StoredMessage[]>();
  for (const m of allStored) {
    if (storedById.has(m.message_id)) {
      duplicated++;
      violate(`message_id ${m.message_id} stored twice (seq ${storedById.get(m.message_id)?.seq} and ${m.seq} in ${m.conversation_id})`);
    } else storedById.set(m.message_id, m);
    const key = sendKey(m.sender_id, m.conversation_id, m.client_msg_id);
    const same = storedByKey.get(key) ?? [];
    // Another body under one client_msg_id is another message (documented: stored, never dropped).
    if (same.some((o) => o.body === undefined || m.body === undefined || o.body === m.body)) {
      duplicated++;
      violate(`send ${m.sender_id}/${m.client_msg_id} in ${m.conversation_id} stored twice (seqs ${same.map((o) => o.seq).join(',')} and ${m.seq})`);
    }
    same.push(m);
    storedByKey.set(key, same);
  }
  for (const [conv, rows] of storedBy) {
    for (let i = 0; i < rows.length; i++) {
      const expected = i === 0 ? 1 : rows[i - 1]!.seq + 1;
      if (rows[i]!.seq !== expected) {
        const missing = rows[i]!.seq - expected;
        gaps += Math.max(1, missing);
        violate(`conversation ${conv}: stored seq ${rows[i]!.seq} follows ${i === 0 ? 'nothing' : rows[i - 1]!.seq}`);
      }
    }
  }

  // ---- sends
  const byKey = new Map<string, SendRecord[]>();
  for (const s of history.sends) {
    const k = sendKey(s.sender, s.conversationId, s.clientMsgId);
    byKey.set(k, [...(byKey.get(k) ?? []), s]);
  }
  let acked = 0;
  let failed = 0;
  let indeterminate = 0;
  let indeterminateStored = 0;
  let lost = 0;
  let ackedUnderOtherId = 0;
  const ackedId = new Map<string, string>();
  for (const [k, attempts] of byKey) {
    for (const a of attempts) {
      if (a.outcome !== 'ok') continue;
      const other = ackedId.get(a.messageId!);
      if (other !== undefined && other !== k) {
        duplicated++;
        violate(`message_id ${a.messageId} acked for two different sends (${other.replaceAll('\u0000', '/')} and ${k.replaceAll('\u0000', '/')})`);
      }
      ackedId.set(a.messageId!, k);
    }
  }
  for (const [k, attempts] of byKey) {
    const oks = attempts.filter((a) => a.outcome === 'ok');
    const storedUnderKey = storedByKey.get(k) ?? [];
    if (oks.length > 0) {
      acked++;
      const ids = new Set(oks.map((a) => a.messageId!));
      const byId = [...ids].some((id) => storedById.get(id)?.conversation_id === attempts[0]!.conversationId);
      if (!byId && storedUnderKey.length > 0) ackedUnderOtherId++;
      if (!byId && storedUnderKey.length === 0) {
        lost++;
        const a = oks[0]!;
        violate(`acked send ${a.sender}/${a.clientMsgId} (message_id ${[...ids].join(',')}) in ${a.conversationId} is not stored`);
      }
    } else if (attempts.some((a) => a.outcome === 'indeterminate' || a.outcome === 'pending')) {
      indeterminate++;
      if (storedUnderKey.length > 0) indeterminateStored++;
    } else {
      failed++;
    }
  }

  // Stored messages must be explained by an acked or an indeterminate send.
  let unexplained = 0;
  for (const m of allStored) {
    const attempts = byKey.get(sendKey(m.sender_id, m.conversation_id, m.client_msg_id));
    if (attempts?.some((a) => a.outcome !== 'failed')) continue;
    unexplained++;
    violate(
      attempts
        ? `stored message ${m.message_id} (seq ${m.seq} in ${m.conversation_id}) was refused definitively (${attempts.map((a) => a.code ?? a.reason).join(',')})`
        : `stored message ${m.message_id} (seq ${m.seq} in ${m.conversation_id}, ${m.sender_id}/${m.client_msg_id}) matches no recorded send`,
    );
  }

  // ---- devices
  let reordered = 0;
  let undelivered = 0;
  let rawDuplicates = 0;
  for (const d of history.devices) {
    const seenRaw = new Set<string>();
    for (const m of d.rawLog) {
      if (seenRaw.has(m.message_id)) rawDuplicates++;
      seenRaw.add(m.message_id);
    }
    const shownIds = new Set<string>();
    const lastSeq = new Map<string, number>();
    for (const m of d.shownLog) {
      if (shownIds.has(m.message_id)) {
        duplicated++;
        violate(`${d.deviceId} showed message ${m.message_id} (seq ${m.seq} in ${m.conversation_id}) twice`);
        continue;
      }
      shownIds.add(m.message_id);
      const prev = lastSeq.get(m.conversation_id) ?? 0;
      const storedAtSeq = storedAt.get(m.conversation_id)?.get(m.seq);
      if (m.seq <= prev) {
        reordered++;
        violate(`${d.deviceId} showed seq ${m.seq} after seq ${prev} in ${m.conversation_id}`);
      } else if (storedBy.has(m.conversation_id) && storedAtSeq?.message_id !== m.message_id) {
        reordered++;
        violate(
          `${d.deviceId} showed message ${m.message_id} at seq ${m.seq} in ${m.conversation_id}; storage has ${storedAtSeq?.message_id ?? 'nothing'} there`,
        );
      }
      lastSeq.set(m.conversation_id, Math.max(prev, m.seq));
    }
    for (const [conv, afterSeq] of d.follows) {
      const missing = (storedBy.get(conv) ?? []).filter((s) => s.seq > afterSeq && !shownIds.has(s.message_id));
      undelivered += missing.length;
      if (missing.length > 0) violate(`${d.deviceId} never showed ${missing.length} stored message(s) of ${conv}, first seq ${missing[0]!.seq}`);
    }
  }

  const stored = allStored.length;
  const ok = lost + duplicated + reordered + gaps + undelivered + unexplained === 0;
  const line =
    `checker[${history.name}]: acked=${acked} lost=${lost} duplicated=${duplicated} reordered=${reordered} indeterminate=${indeterminate} stored=${stored}` +
    ` failed=${failed} gaps=${gaps} undelivered=${undelivered} unexplained=${unexplained} indeterminate_stored=${indeterminateStored}` +
    ` raw_duplicates=${rawDuplicates} devices=${history.devices.length}`;
  return {
    name: history.name,
    acked,
    failed,
    indeterminate,
    indeterminateStored,
    stored,
    lost,
    duplicated,
    reordered,
    gaps,
    undelivered,
    unexplained,
    rawDuplicates,
    ackedUnderOtherId,
    violations,
    ok,
    line,
  };
}

function pick(m: SeenMessage): SeenMessage {
  return {
    conversation_id: m.conversation_id,
    seq: m.seq,
    message_id: m.message_id,
    ...(m.sender_id !== undefined ? { sender_id: m.sender_id } : {}),
    ...(m.client_msg_id !== undefined ? { client_msg_id: m.client_msg_id } : {}),
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

function isSeen(v: unknown): v is SeenMessage {
  return isObject(v) && typeof v.conversation_id === 'string' && typeof v.seq === 'number' && typeof v.message_id === 'string';
}
