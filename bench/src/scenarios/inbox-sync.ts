import type { AckFrame, ChatMessage, ErrorFrame, ConversationSync, InboxResultFrame, Position, ServerFrame, SyncResultFrame } from '@chat/protocol';
import { LARGE_FIRST_PAGE_MAX } from '@chat/protocol';
import { newHistogram, recordMs, summarize, type LatencySummary } from '../report/histogram.js';
import { scrapeSum } from '../system/prom-scrape.js';
import { mapLimit, Rest } from '../system/rest.js';
import { DEFAULT_RETRY_POLICY, retryDelayMs } from '../system/retry-hint.js';
import type { RunningSystem } from '../system/system-under-test.js';
import { WsSession } from '../system/ws-session.js';
import { param, round, sleep, startSystemFor, target, type Scenario, type ScenarioContext } from './common.js';

/**
 * App start with messages waiting: "everything new for me" (the `inbox` frame with the first page of
 * each large conversation it lists) against per-conversation `sync` of every conversation, same users,
 * same data, same run. Latency per app start and Cassandra reads per app start (the API process's
 * chat_cassandra_request_seconds_count{op="read"}). Then write amplification per message at
 * several conversation sizes (the sequencer + inbox writer process's counters).
 */

interface Layout {
  users: string[];
  /** Members of each small conversation (the first is the owner and sender). */
  small: string[][];
  /** Members of each of the 4 large conversations: two halves and two parities, so every user is in 2. */
  large: string[][];
}

function layout(runId: string, users: number, smallPer: number, smallSize: number): Layout {
  const ids = Array.from({ length: users }, (_, i) => `ib${runId}-u${i}`);
  // Slot s goes to user s mod U: each user is in exactly smallPer conversations of smallSize distinct members.
  const small = Array.from({ length: (users * smallPer) / smallSize }, (_, j) =>
    Array.from({ length: smallSize }, (_, t) => ids[(j * smallSize + t) % users]!),
  );
  const half = users / 2;
  const large = [ids.slice(0, half), ids.slice(half), ids.filter((_, i) => i % 2 === 0), ids.filter((_, i) => i % 2 === 1)];
  return { users: ids, small, large };
}

/** One app start's outcome. */
interface AppStart {
  ms: number;
  requests: number;
  messages: number;
}

const key = (m: ChatMessage) => `${m.conversation_id}:${m.seq}`;

/** Requests answered with a retriable `error` frame and sent again (a Cassandra circuit open under load); reported with the run. */
const wsRetries = { count: 0 };

/** A request whose retriable `error` answers are retried with backoff, never sooner than `retry_after_ms`. */
async function requestRetrying<T extends ServerFrame>(ws: WsSession, frame: Record<string, unknown>): Promise<T | ErrorFrame> {
  for (let attempt = 1; ; attempt++) {
    const reply = await ws.request<T | ErrorFrame>(frame);
    if (reply.type !== 'error' || !reply.retry || attempt >= DEFAULT_RETRY_POLICY.attempts) return reply;
    wsRetries.count++;
    await sleep(retryDelayMs(attempt - 1, reply.retry_after_ms ?? 0, DEFAULT_RETRY_POLICY));
  }
}

/** Syncs positions until no conversation has more: the rounds a client makes to resume them. */
async function syncAll(ws: WsSession, positions: Position[], seen: Set<string>): Promise<number> {
  let requests = 0;
  let pending = positions;
  while (pending.length > 0) {
    const reply = await requestRetrying<SyncResultFrame>(ws, { type: 'sync', positions: pending });
    requests++;
    if (reply.type !== 'sync.result') throw new Error(`sync answered ${reply.type}: ${JSON.stringify(reply).slice(0, 200)}`);
    const next: Position[] = [];
    for (const c of reply.conversations as ConversationSync[]) {
      if (c.status !== 'ok') throw new Error(`sync of ${c.conversation_id}: ${c.status} ${c.reason ?? ''}`);
      for (const m of c.messages) seen.add(key(m));
      if (c.has_more)
        next.push({ conversation_id: c.conversation_id, seq: c.messages.at(-1)?.seq ?? pending.find((p) => p.conversation_id === c.conversation_id)!.seq });
    }
    pending = next;
  }
  return requests;
}

/**
 * "Everything new for me" from the cursor of the previous session (none: a new device), asking for
 * the first page of each large conversation it lists (`large_first_page`); `sync` only where a
 * page says more remain.
 */
async function everythingNewStart(ws: WsSession, from: string | undefined): Promise<Omit<AppStart, 'ms'> & { cursor: string | undefined }> {
  const seen = new Set<string>();
  let requests = 0;
  let cursor = from;
  /** Large conversation → where a sync must start (its first page's end), or null once read to its last seq. */
  const large = new Map<string, number | null>();
  for (;;) {
    const page = await requestRetrying<InboxResultFrame>(ws, {
      type: 'inbox',
      large_first_page: LARGE_FIRST_PAGE_MAX,
      ...(cursor !== undefined ? { cursor } : {}),
    });
    requests++;
    if (page.type !== 'inbox.result') throw new Error(`inbox answered ${page.type}: ${JSON.stringify(page).slice(0, 200)}`);
    for (const m of page.messages) seen.add(key(m));
    for (const l of page.large) {
      if (l.messages === undefined) {
        if (!large.has(l.conversation_id) && l.last_seq > 0) large.set(l.conversation_id, 0);
        continue;
      }
      for (const m of l.messages) seen.add(key(m));
      large.set(l.conversation_id, l.has_more ? (l.messages.at(-1)?.seq ?? l.after_seq ?? 0) : null);
    }
    cursor = page.cursor;
    if (!page.has_more) break;
  }
  const positions = [...large].flatMap(([conversation_id, seq]) => (seq === null ? [] : [{ conversation_id, seq }]));
  if (positions.length > 0) requests += await syncAll(ws, positions, seen);
  return { requests, messages: seen.size, cursor };
}

/** The client knows its conversations and syncs each from its position (one frame with every position, then has_more rounds). */
async function perConversationStart(ws: WsSession, conversations: string[]): Promise<Omit<AppStart, 'ms'>> {
  const seen = new Set<string>();
  const requests = await syncAll(
    ws,
    conversations.map((conversation_id) => ({ conversation_id, seq: 0 })),
    seen,
  );
  return { requests, messages: seen.size };
}

interface Phase {
  latency: LatencySummary;
  readsPerStart: number;
  requestsPerStart: number;
  complete: number;
  wrong: string[];
}

/** Every user starts the app once (`concurrency` at a time); reads counted on the API process. */
async function phase(
  sys: RunningSystem,
  rest: Rest,
  users: string[],
  concurrency: number,
  expected: number,
  start: (ws: WsSession, user: string) => Promise<Omit<AppStart, 'ms'>>,
): Promise<Phase> {
  const metricsUrl = `http://127.0.0.1:${Number(sys.env.CHAT_HTTP_PORT) + 3}/metrics`;
  const reads = () => scrape(metricsUrl, 'chat_cassandra_request_seconds_count', { op: 'read' });
  const h = newHistogram();
  let requests = 0;
  let complete = 0;
  const wrong: string[] = [];
  const before = await reads();
  await mapLimit(users, concurrency, async (u, i) => {
    const ws = await WsSession.connect(sys.gatewayUrls[i % sys.gatewayUrls.length]!, rest.token(u));
    try {
      const t0 = performance.now();
      const r = await start(ws, u);
      recordMs(h, performance.now() - t0);
      requests += r.requests;
      if (r.messages === expected) complete++;
      else if (wrong.length < 5) wrong.push(`${u}: ${r.messages}/${expected}`);
    } finally {
      ws.close();
    }
  });
  const readsTotal = (await reads()) - before;
  return { latency: summarize(h), readsPerStart: round(readsTotal / users.length, 1), requestsPerStart: round(requests / users.length, 2), complete, wrong };
}

/** Sends `count` messages per conversation from its first member, `window` unacknowledged at a time per sender. */
async function sendMessages(sys: RunningSystem, rest: Rest, conversations: { id: string; owner: string }[], count: number, tag: string): Promise<number> {
  const byOwner = new Map<string, string[]>();
  for (const c of conversations) byOwner.set(c.owner, [...(byOwner.get(c.owner) ?? []), c.id]);
  let sent = 0;
  await mapLimit([...byOwner], 32, async ([owner, convs], i) => {
    const ws = await WsSession.connect(sys.gatewayUrls[i % sys.gatewayUrls.length]!, rest.token(owner));
    try {
      const jobs = convs.flatMap((cid) => Array.from({ length: count }, (_, n) => ({ cid, n })));
      await mapLimit(jobs, 16, async ({ cid, n }) => {
        for (let attempt = 0; ; attempt++) {
          const ack = await ws.request<AckFrame | ErrorFrame>({
            type: 'send',
            conversation_id: cid,
            client_msg_id: `${tag}-${cid}-${n}`,
            body: `${tag} message ${n} ${'x'.repeat(60)}`,
          });
          if (ack.type === 'ack') break;
          if (!(ack.type === 'error' && ack.retry) || attempt >= 20) throw new Error(`send refused: ${JSON.stringify(ack).slice(0, 200)}`);
          wsRetries.count++;
          await sleep(retryDelayMs(Math.min(attempt, 6), Math.max(100, ack.retry_after_ms ?? 0), DEFAULT_RETRY_POLICY));
        }
        sent++;
      });
    } finally {
      ws.close();
    }
  });
  return sent;
}

/** A metrics scrape that survives a process being busy or paused for a while (retried for up to a minute). */
async function scrape(url: string, name: string, labels?: Record<string, string>): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await scrapeSum(url, name, labels);
    } catch (err) {
      if (attempt >= 30) throw err;
      await sleep(2000);
    }
  }
}

/**
 * Polls until `check` holds or the deadline passes (then throws). A check that throws (a metrics
 * scrape or REST call failing while a process is busy or paused) counts as "not yet".
 */
async function until(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      if (await check()) return;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) throw new Error(`inbox-sync: timed out waiting for ${what}${lastError ? ` (last error: ${String(lastError)})` : ''}`);
    await sleep(500);
  }
}

interface Amplification {
  members: number;
  messages: number;
  inboxRowsPerMessage: number;
  listRowsPerMessage: number;
  cassandraWritesPerMessage: number;
}

/** Rows and Cassandra writes per message for one conversation of `size` members (writer process counters). */
async function amplification(ctx: ScenarioContext, sys: RunningSystem, rest: Rest, size: number, messages: number): Promise<Amplification> {
  const writerMetrics = `http://127.0.0.1:${Number(sys.env.CHAT_HTTP_PORT) + 2}/metrics`;
  const owner = `ib${ctx.runId}-amp${size}-0`;
  const others = Array.from({ length: size - 1 }, (_, i) => `ib${ctx.runId}-amp${size}-${i + 1}`);
  const id = size === 2 ? await rest.createDirect(owner, others[0]!) : await rest.createGroup(owner, `amp ${size}`, others);
  const counters = async () => ({
    inbox: await scrape(writerMetrics, 'chat_inbox_rows_written_total'),
    list: await scrape(writerMetrics, 'chat_conversation_list_rows_written_total'),
    writes: await scrape(writerMetrics, 'chat_cassandra_request_seconds_count', { op: 'write' }),
  });
  const before = await counters();
  await sendMessages(sys, rest, [{ id, owner }], messages, `amp${size}`);
  // The inbox writer stores the sender's read position last: once it is at the last seq, the writes are done.
  await until(`the inbox writer at ${size} members`, 120_000, async () => {
    const list = await rest.call<{ conversations: { conversation_id: string; read_seq: number }[] }>(owner, 'GET', '/v1/conversation-list?limit=200');
    return list.conversations.find((c) => c.conversation_id === id)?.read_seq === messages;
  });
  await sleep(1000);
  const after = await counters();
  const per = (a: number, b: number) => round((a - b) / messages, 2);
  return {
    members: size,
    messages,
    inboxRowsPerMessage: per(after.inbox, before.inbox),
    listRowsPerMessage: per(after.list, before.list),
    cassandraWritesPerMessage: per(after.writes, before.writes),
  };
}

export const inboxSync: Scenario = async (ctx) => {
  const users = param(ctx, 'users', 50, 2000);
  const smallPer = param(ctx, 'smallPer', 4, 40);
  const smallSize = param(ctx, 'smallSize', 4, 4);
  const waiting = param(ctx, 'waiting', 20, 200);
  const perSmall = param(ctx, 'perSmall', 4, 4);
  const threshold = param(ctx, 'fanoutMax', 10, 50);
  const concurrency = param(ctx, 'concurrency', 10, 50);
  const gateways = param(ctx, 'gateways', 2, 2);
  const ampMessages = param(ctx, 'ampMessages', 5, 20);
  const ampSizes = [2, threshold, threshold + 1, param(ctx, 'ampLargest', 100, 10_000)];
  const perLarge = (waiting - smallPer * perSmall) / 2;
  if (
    users % 2 !== 0 ||
    (users * smallPer) % smallSize !== 0 ||
    users / 2 <= threshold ||
    smallSize > threshold ||
    smallSize < 2 ||
    !Number.isInteger(perLarge) ||
    perLarge < 1
  ) {
    throw new Error(
      'inbox-sync: needs an even number of users, users*smallPer a multiple of smallSize, users/2 > fanoutMax >= smallSize >= 2, and waiting - smallPer*perSmall a positive even number',
    );
  }
  const config = {
    users,
    smallPer,
    smallSize,
    largePer: 2,
    largeSize: users / 2,
    waiting,
    perSmall,
    perLarge,
    fanoutMax: threshold,
    concurrency,
    gateways,
    ampSizes,
    ampMessages,
  };
  ctx.log(`inbox-sync: ${JSON.stringify(config)}`);
  wsRetries.count = 0;

  let sys: RunningSystem | undefined;
  try {
    sys = await startSystemFor(ctx, gateways, {
      sequencerRoles: 'sequencer,inbox',
      extraEnv: {
        FANOUT_WRITE_MAX_MEMBERS: String(threshold),
        // Setup creates thousands of conversations and sends from one address; the scenario measures reads, not limits.
        RATE_REST_PER_ADDRESS: '100000/10s',
        RATE_REST_PER_USER: '100000/10s',
        RATE_UPGRADES_PER_ADDRESS: '100000/10s',
        RATE_SENDS_PER_USER: '100000/10s',
        RATE_CONVERSATIONS_PER_USER: '100000/3600s',
        RATE_MEMBER_WRITES_PER_USER: '100000/3600s',
      },
    });
    const running = sys;
    const rest = new Rest(sys.chatUrl, sys.env);
    const plan = layout(ctx.runId, users, smallPer, smallSize);

    const t0 = Date.now();
    const small = await mapLimit(plan.small, 32, async (members) => ({
      id: await rest.createGroup(members[0]!, 'small', members.slice(1)),
      owner: members[0]!,
    }));
    const large = await mapLimit(plan.large, 2, async (members) => ({
      id: await rest.createGroup(members[0]!, 'large', members.slice(1)),
      owner: members[0]!,
    }));
    ctx.log(
      `inbox-sync: ${small.length} small and ${large.length} large conversations in ${round((Date.now() - t0) / 1000, 1)} s (REST retries: ${JSON.stringify(rest.retriedBy)})`,
    );
    const conversationsOf = new Map<string, string[]>(plan.users.map((u) => [u, []]));
    plan.small.forEach((members, j) => members.forEach((u) => conversationsOf.get(u)!.push(small[j]!.id)));
    plan.large.forEach((members, j) => members.forEach((u) => conversationsOf.get(u)!.push(large[j]!.id)));

    // The previous session of every user: its last "everything new" cursor is where the app starts next time.
    const cursors = new Map<string, string | undefined>();
    await mapLimit(plan.users, concurrency, async (u, i) => {
      const ws = await WsSession.connect(running.gatewayUrls[i % running.gatewayUrls.length]!, rest.token(u));
      try {
        cursors.set(u, (await everythingNewStart(ws, undefined)).cursor);
      } finally {
        ws.close();
      }
    });

    const t1 = Date.now();
    const sent = (await sendMessages(running, rest, small, perSmall, 's')) + (await sendMessages(running, rest, large, perLarge, 'l'));
    const expectedInboxRows = small.length * perSmall * smallSize;
    const writerMetrics = `http://127.0.0.1:${Number(sys.env.CHAT_HTTP_PORT) + 2}/metrics`;
    await until('the inbox writer', 30 * 60_000, async () => (await scrapeSum(writerMetrics, 'chat_inbox_rows_written_total')) >= expectedInboxRows);
    // The count also counts rows rewritten when a chunk is retried, so it can reach the expected
    // number while the last rows are still being written: wait until nothing is left to consume
    // and the count stood still for a while.
    let last = -1;
    await until('the inbox writer to settle', 10 * 60_000, async () => {
      const [rows, lag] = await Promise.all([scrapeSum(writerMetrics, 'chat_inbox_rows_written_total'), scrapeSum(writerMetrics, 'chat_kafka_consumer_lag')]);
      const settled = rows === last && lag === 0;
      last = rows;
      if (!settled) await sleep(3000);
      return settled;
    });
    // Large conversations have no inbox rows: wait for their last message to be stored.
    await until('the large conversations', 10 * 60_000, async () => {
      for (const c of large) if ((await rest.lastSeqs(c.owner)).get(c.id) !== perLarge) return false;
      return true;
    });
    ctx.log(`inbox-sync: ${sent} messages sent and fanned out in ${round((Date.now() - t1) / 1000, 1)} s`);

    // Each way twice, alternating (A B A B); the second of each is reported: the first meets caches
    // and storage still cold or busy from the fanout.
    const runInbox = () => phase(running, rest, plan.users, concurrency, waiting, (ws, u) => everythingNewStart(ws, cursors.get(u)));
    const runSync = () => phase(running, rest, plan.users, concurrency, waiting, (ws, u) => perConversationStart(ws, conversationsOf.get(u)!));
    const warmInbox = await runInbox();
    const warmSync = await runSync();
    const inbox = await runInbox();
    ctx.log(`inbox-sync: everything new ${JSON.stringify(inbox)}`);
    const perConversation = await runSync();
    ctx.log(`inbox-sync: per-conversation sync ${JSON.stringify(perConversation)}`);

    const amp: Amplification[] = [];
    for (const size of ampSizes) {
      amp.push(await amplification(ctx, running, rest, size, ampMessages));
      ctx.log(`inbox-sync: amplification ${JSON.stringify(amp.at(-1))}`);
    }

    const readRatio = inbox.readsPerStart > 0 ? perConversation.readsPerStart / inbox.readsPerStart : 0;
    const p50Ratio = inbox.latency.p50 > 0 ? perConversation.latency.p50 / inbox.latency.p50 : 0;
    const p99Ratio = inbox.latency.p99 > 0 ? perConversation.latency.p99 / inbox.latency.p99 : 0;
    const metrics: Record<string, number | string> = {
      'app starts (each way)': users,
      'messages waiting per user': waiting,
      'everything new: p50/p99/max ms': `${inbox.latency.p50}/${inbox.latency.p99}/${inbox.latency.max}`,
      'per-conversation sync: p50/p99/max ms': `${perConversation.latency.p50}/${perConversation.latency.p99}/${perConversation.latency.max}`,
      'everything new: Cassandra reads per app start': inbox.readsPerStart,
      'per-conversation sync: Cassandra reads per app start': perConversation.readsPerStart,
      'everything new: requests per app start': inbox.requestsPerStart,
      'per-conversation sync: requests per app start': perConversation.requestsPerStart,
      'ratio sync / everything new: Cassandra reads': round(readRatio, 2),
      'ratio sync / everything new: p50 latency': round(p50Ratio, 2),
      'ratio sync / everything new: p99 latency': round(p99Ratio, 2),
      'requests retried (REST / WebSocket)': `${rest.retries} / ${wsRetries.count}`,
    };
    for (const a of amp) {
      metrics[`${a.members} members: inbox rows / list rows / Cassandra writes per message`] =
        `${a.inboxRowsPerMessage} / ${a.listRowsPerMessage} / ${a.cassandraWritesPerMessage}`;
    }
    const targets = [
      target(
        'everything new: every user got every waiting message',
        `${users} × ${waiting}`,
        `${inbox.complete}/${users} complete ${inbox.wrong.join(', ')}`,
        inbox.complete === users,
      ),
      target(
        'per-conversation sync: every user got every waiting message',
        `${users} × ${waiting}`,
        `${perConversation.complete}/${users} complete ${perConversation.wrong.join(', ')}`,
        perConversation.complete === users,
      ),
      ...amp.map((a) => {
        const expected = a.members <= threshold || a.members === 2 ? a.members : 0;
        return target(`${a.members} members: inbox rows per message`, `${expected}`, `${a.inboxRowsPerMessage}`, a.inboxRowsPerMessage === expected);
      }),
    ];
    const notes = [
      `Each user is in ${smallPer} conversations of ${smallSize} members (fanned out on write) and 2 of ${users / 2} (fanned out on read; FANOUT_WRITE_MAX_MEMBERS=${threshold}); ${perSmall} messages were sent to each small and ${perLarge} to each large conversation, so ${waiting} wait for every user.`,
      'Everything new: the app sends `inbox` with the cursor its previous session (before the messages were sent) ended with, until has_more is false, asking for the first page of each large conversation (`large_first_page`), then `sync` only of those whose page says more remain. Per-conversation sync: the client knows its conversations and sends one `sync` with every position from 0, then has_more rounds. Latency: from the first request to the last reply, after the connection is open.',
      `App starts run ${concurrency} at a time over the same users and data: everything new, per-conversation sync, everything new, per-conversation sync; the figures are from the second round of each (the first rounds are in details.firstRounds). Cassandra reads: chat_cassandra_request_seconds_count{op="read"} of the API process over the phase, divided by the app starts (a page of a paged query counts once; the membership cache, 30 s TTL, is shared by both phases, and a gateway digest may add a few).`,
      'Answers the server marks retriable (503 / `retry: true`, e.g. a Cassandra circuit open under load, or a rate limit) are retried with exponential backoff and full jitter, never sooner than the hint (`retry_after_ms`, `retry-after`), up to 8 attempts (sends 20); the counts are in the metrics. A retried app start keeps its time, retries included.',
      'Write amplification: one conversation per size, messages sent one after another; rows and Cassandra write requests counted on the sequencer + inbox writer process (the sequencer coalesces rows into batches: a batch is one request).',
    ];
    return {
      config,
      metrics,
      targets,
      charts: [],
      notes,
      details: { restRetriedBy: rest.retriedBy, inbox, perConversation, firstRounds: { inbox: warmInbox, perConversation: warmSync }, amplification: amp },
    };
  } finally {
    await sys?.procs.stop();
  }
};
