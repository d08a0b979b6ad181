import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import cassandra from 'cassandra-driver';
import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { sharedNativePort } from '@chat/server/clients';

/** host:port → [host, port]; IPv6 in brackets allowed. */
export function parseHostPort(s: string, defaultPort: number): [string, number] {
  const m = /^\[?([^\]]+?)\]?(?::(\d+))?$/.exec(s.trim());
  if (!m || !m[1]) throw new Error(`bad host:port ${JSON.stringify(s)}`);
  return [m[1], m[2] ? Number(m[2]) : defaultPort];
}

/** Whether something accepts TCP connections on host:port. */
export function portOpen(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host, port });
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

export async function redisReady(url: string): Promise<void> {
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 2000, enableOfflineQueue: false });
  r.on('error', () => undefined);
  try {
    await r.connect();
    const pong = await r.ping();
    if (pong !== 'PONG') throw new Error(`unexpected PING reply ${pong}`);
  } finally {
    r.disconnect();
  }
}

export function kafkaClient(brokers: string[], clientId = 'chat-infra'): Kafka {
  return new Kafka({ clientId, brokers, logLevel: logLevel.NOTHING, connectionTimeout: 3000, retry: { retries: 0 } });
}

/** Broker registered and answering metadata (topic leaders are awaited when topics are created). */
export async function kafkaReady(brokers: string[]): Promise<void> {
  const admin = kafkaClient(brokers).admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    if (cluster.brokers.length === 0 || cluster.controller === null) throw new Error('no broker / controller yet');
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

export function cassandraClient(contactPoints: string[], localDataCenter: string, keyspace?: string): cassandra.Client {
  const port = sharedNativePort(contactPoints);
  return new cassandra.Client({
    contactPoints,
    ...(port !== undefined ? { protocolOptions: { port } } : {}),
    localDataCenter,
    ...(keyspace ? { keyspace } : {}),
    socketOptions: { connectTimeout: 3000, readTimeout: 30_000 },
    policies: { reconnection: new cassandra.policies.reconnection.ConstantReconnectionPolicy(500) },
  });
}

export async function cassandraReady(contactPoints: string[], localDc: string): Promise<string> {
  const client = cassandraClient(contactPoints, localDc);
  try {
    await client.connect();
    const rs = await client.execute('SELECT release_version FROM system.local');
    return String(rs.first()?.get('release_version') ?? '?');
  } finally {
    await client.shutdown().catch(() => undefined);
  }
}

export class NotReadyError extends Error {}

/** A probe failure that waiting cannot cure (e.g. a misconfigured topic): waitUntil rethrows it at once. */
export class NotRetriableError extends Error {}

/**
 * Poll `probe` until it resolves, the deadline passes, or `stillAlive` says the process died.
 * The last probe error is kept for the message.
 */
export async function waitUntil<T>(
  what: string,
  probe: () => Promise<T>,
  opts: { timeoutMs: number; intervalMs?: number; stillAlive?: () => boolean; hint?: string },
): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  let last: unknown;
  for (;;) {
    if (opts.stillAlive && !opts.stillAlive()) {
      throw new NotReadyError(`${what}: process exited before becoming ready${opts.hint ? ` — ${opts.hint}` : ''}`);
    }
    try {
      return await probe();
    } catch (err) {
      if (err instanceof NotRetriableError) throw err;
      last = err;
    }
    if (Date.now() >= deadline) {
      const reason = (last instanceof Error ? last.message : String(last)).split('\n')[0];
      throw new NotReadyError(`${what}: not ready after ${Math.round(opts.timeoutMs / 1000)} s (last error: ${reason})${opts.hint ? ` — ${opts.hint}` : ''}`);
    }
    await sleep(opts.intervalMs ?? 500);
  }
}
