import type { Admin } from 'kafkajs';
import type { CassandraClient, Kafka, Redis } from '../clients/index.js';
import type { DependencyCheck } from './readiness.js';

/** Redis answers PING. */
export function redisCheck(redis: Redis): DependencyCheck {
  return { name: 'redis', probe: async () => void (await redis.ping()) };
}

/** Cassandra answers a read of the local node's system table. */
export function cassandraCheck(client: CassandraClient): DependencyCheck {
  return { name: 'cassandra', probe: async () => void (await client.execute('SELECT release_version FROM system.local', [], { prepare: false })) };
}

/**
 * A Kafka broker answers a cluster description. One admin client, connected on the first probe and
 * kept (kafkajs reconnects it after the brokers come back), with no retries of its own: a probe
 * is one attempt, and the next /readyz tries again.
 */
export function kafkaCheck(kafka: Kafka): DependencyCheck & { close(): Promise<void> } {
  let admin: Admin | undefined;
  return {
    name: 'kafka',
    probe: async () => {
      admin ??= kafka.admin({ retry: { retries: 0 } });
      await admin.connect();
      await admin.describeCluster();
    },
    close: async () => {
      await admin?.disconnect();
    },
  };
}
