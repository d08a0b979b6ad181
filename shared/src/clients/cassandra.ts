import cassandra from 'cassandra-driver';
import type { Logger } from '../logger.js';

export type CassandraClient = cassandra.Client;

export interface CassandraOptions {
  contactPoints: string[];
  localDataCenter: string;
  keyspace?: string;
}

export function createCassandra(opts: CassandraOptions, log: Logger): cassandra.Client {
  const client = new cassandra.Client({
    contactPoints: opts.contactPoints,
    localDataCenter: opts.localDataCenter,
    ...(opts.keyspace ? { keyspace: opts.keyspace } : {}),
    queryOptions: { prepare: true, consistency: cassandra.types.consistencies.localQuorum },
    pooling: { coreConnectionsPerHost: { [cassandra.types.distance.local]: 2 } },
  });
  client.on('log', (level: string, className: string, message: string) => {
    if (level === 'error' || level === 'warning') log.warn({ cassandra: className }, message);
  });
  return client;
}
