import cassandra from 'cassandra-driver';
import type { Logger } from '../logger.js';

export type CassandraClient = cassandra.Client;

export interface CassandraOptions {
  contactPoints: string[];
  localDataCenter: string;
  keyspace?: string;
}

/**
 * Reconnection to a node that went down: 250 ms doubling to at most 5 s. The driver's default
 * (1 s doubling to 10 min) left services unable to reach a Cassandra node for over a minute after it
 * came back from a few minutes' outage (measured in chat-service/test/faults/cassandra-faults.test.ts).
 */
const CASSANDRA_RECONNECT_BASE_MS = 250;
const CASSANDRA_RECONNECT_MAX_MS = 5_000;

/**
 * The native port of the contact points when they all share one. The driver reaches the nodes it
 * discovers (system.peers) on `protocolOptions.port`, 9042 unless set: a cluster on another port
 * would otherwise be used through its contact points only.
 */
export function sharedNativePort(contactPoints: readonly string[]): number | undefined {
  const ports = new Set(contactPoints.map((cp) => /:(\d+)$/.exec(cp)?.[1]).filter((p): p is string => p !== undefined));
  return ports.size === 1 ? Number([...ports][0]) : undefined;
}

export function createCassandra(opts: CassandraOptions, log: Logger): cassandra.Client {
  const port = sharedNativePort(opts.contactPoints);
  const client = new cassandra.Client({
    contactPoints: opts.contactPoints,
    ...(port !== undefined ? { protocolOptions: { port } } : {}),
    localDataCenter: opts.localDataCenter,
    ...(opts.keyspace ? { keyspace: opts.keyspace } : {}),
    queryOptions: { prepare: true, consistency: cassandra.types.consistencies.localQuorum },
    pooling: { coreConnectionsPerHost: { [cassandra.types.distance.local]: 2 } },
    policies: {
      reconnection: new cassandra.policies.reconnection.ExponentialReconnectionPolicy(CASSANDRA_RECONNECT_BASE_MS, CASSANDRA_RECONNECT_MAX_MS, false),
    },
  });
  client.on('log', (level: string, className: string, message: string) => {
    if (level === 'error' || level === 'warning') log.warn({ cassandra: className }, message);
  });
  return client;
}
