/**
 * Bare pipeline (the `direct` benchmark's floor): the consumer between Kafka and the delivering
 * servers, with the product sequencer's durable steps and none of its logic. A consumer group (the
 * sequencer's settings, on the client BARE_KAFKA_CLIENT names: bare-kafka.ts) on the run's bare
 * topic; for each fetch batch of a partition it
 * numbers each conversation's messages in memory (no leases, no dedup rows, no recovery from
 * storage), writes the rows to Cassandra (the product's client: LOCAL_QUORUM, prepared; one
 * unlogged single-partition batch per conversation), publishes one event per delivering server
 * on its Redis channel (the conversation's members and their servers come from the scenario's
 * routes file: no membership or session lookups), then commits the batch's offsets.
 * It listens on BARE_READY_PORT once it holds partitions, so the scenario can wait for it.
 *
 * Env: BARE_TOPIC, BARE_GROUP_ID, BARE_TABLE, BARE_ROUTES_FILE, BARE_READY_PORT, BARE_KAFKA_CLIENT, REDIS_KEY_PREFIX,
 * plus KAFKA_BROKERS, REDIS_URL and CASSANDRA_*.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { ChatMessage, MessageFrame } from '@chat/protocol';
import { createCassandra, createRedis } from '@chat/server/clients';
import { loadConfigVars } from '@chat/server/config';
import { createLogger } from '@chat/server/logger';
import { type BareFetchedBatch, bareKafkaClientFromEnv, runBareConsumer } from './bare-kafka.js';
import { bareChannel, decodeBareRecord, decodeBareRoutes, type BareDelivery } from './bare-pipeline-wire.js';

function requiredEnv(name: string): string {
  const v = process.env[name];
  if (v === undefined || v === '') throw new Error(`bare-pipeline-consumer: ${name} is required`);
  return v;
}

const topic = requiredEnv('BARE_TOPIC');
const groupId = requiredEnv('BARE_GROUP_ID');
const table = requiredEnv('BARE_TABLE');
if (!/^[a-z][a-z0-9_]*$/.test(table)) throw new Error('bare-pipeline-consumer: BARE_TABLE must be a plain CQL table name');
const readyPort = Number(requiredEnv('BARE_READY_PORT'));
if (!Number.isInteger(readyPort) || readyPort <= 0) throw new Error('bare-pipeline-consumer: BARE_READY_PORT must be a port');
const routes = new Map(Object.entries(decodeBareRoutes(readFileSync(requiredEnv('BARE_ROUTES_FILE'), 'utf8'))));
const prefix = process.env.REDIS_KEY_PREFIX ?? '';
const config = loadConfigVars(['KAFKA_BROKERS', 'REDIS_URL', 'CASSANDRA_CONTACT_POINTS', 'CASSANDRA_LOCAL_DC', 'CASSANDRA_KEYSPACE']);
const log = createLogger('bare-pipeline-consumer', process.env.LOG_LEVEL || 'warn');

const INSERT = `INSERT INTO ${table} (conversation_id, seq, message_id, sender_id, client_msg_id, body, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`;
const EPOCH = 'bare';

const cassandra = createCassandra(
  { contactPoints: config.CASSANDRA_CONTACT_POINTS, localDataCenter: config.CASSANDRA_LOCAL_DC, keyspace: config.CASSANDRA_KEYSPACE },
  log,
);
const redis = createRedis(config.REDIS_URL, log, 'bare-pipeline-consumer');
await cassandra.connect();

/** Last seq per conversation (this process owns every partition of the run's topic). */
const lastSeq = new Map<string, number>();

function rowOf(m: ChatMessage): unknown[] {
  return [m.conversation_id, m.seq, m.message_id, m.sender_id, m.client_msg_id, m.body, m.created_at];
}

async function store(byConversation: Map<string, ChatMessage[]>): Promise<void> {
  await Promise.all(
    [...byConversation.values()].map((ms) =>
      ms.length === 1
        ? cassandra.execute(INSERT, rowOf(ms[0]!), { prepare: true, isIdempotent: true })
        : cassandra.batch(
            ms.map((m) => ({ query: INSERT, params: rowOf(m) })),
            { prepare: true, logged: false, isIdempotent: true },
          ),
    ),
  );
}

async function publish(messages: ChatMessage[]): Promise<void> {
  const byServer = new Map<number, BareDelivery[]>();
  for (const m of messages) {
    const frame = JSON.stringify({ type: 'message', ...m } satisfies MessageFrame);
    const users = new Map<number, string[]>();
    for (const [userId, server] of routes.get(m.conversation_id) ?? []) {
      const list = users.get(server);
      if (list) list.push(userId);
      else users.set(server, [userId]);
    }
    for (const [server, user_ids] of users) {
      const list = byServer.get(server);
      if (list) list.push({ user_ids, frame });
      else byServer.set(server, [{ user_ids, frame }]);
    }
  }
  if (byServer.size === 0) return;
  const pipeline = redis.pipeline();
  for (const [server, deliveries] of byServer) pipeline.publish(bareChannel(prefix, server), JSON.stringify({ deliveries }));
  for (const [err] of (await pipeline.exec()) ?? []) if (err) throw err;
}

async function handleBatch(batch: BareFetchedBatch): Promise<void> {
  const byConversation = new Map<string, ChatMessage[]>();
  const seqBefore = new Map<string, number>();
  const messages: ChatMessage[] = [];
  for (const km of batch.messages) {
    let r;
    try {
      r = decodeBareRecord(km.value);
    } catch (err) {
      log.warn({ offset: km.offset, err: (err as Error).message }, 'skipping a record that is not a bare record');
      continue;
    }
    const before = lastSeq.get(r.conversation_id) ?? 0;
    if (!seqBefore.has(r.conversation_id)) seqBefore.set(r.conversation_id, before);
    lastSeq.set(r.conversation_id, before + 1);
    const m: ChatMessage = { ...r, seq: before + 1, epoch: EPOCH };
    messages.push(m);
    const list = byConversation.get(m.conversation_id);
    if (list) list.push(m);
    else byConversation.set(m.conversation_id, [m]);
  }
  try {
    await store(byConversation);
  } catch (err) {
    // Not stored: the batch comes again (the consumer redelivers it) and must get the same seqs.
    for (const [cid, seq] of seqBefore) lastSeq.set(cid, seq);
    throw err;
  }
  await publish(messages);
}

const ready = createServer((socket) => socket.end());
const consumer = await runBareConsumer(
  bareKafkaClientFromEnv(),
  config.KAFKA_BROKERS,
  {
    topic,
    groupId,
    onAssigned: () => {
      if (!ready.listening) ready.listen(readyPort, '127.0.0.1');
    },
    handle: handleBatch,
  },
  log,
);

process.on('SIGTERM', () => {
  ready.close();
  void Promise.allSettled([consumer.disconnect(), cassandra.shutdown(), redis.quit()]).then(() => process.exit(0));
});
