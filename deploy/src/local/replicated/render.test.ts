import { describe, expect, it } from 'vitest';
import { sharedNativePort } from '@chat/server/clients';
import { renderCassandraYaml } from '../cassandra.js';
import { renderServerProperties } from '../kafka.js';
import { renderRedisConf } from '../redis.js';
import { renderSentinelConf } from './nodes.js';
import { CASSANDRA_NODES, KAFKA_NODES, REDIS_NODES, replicatedEnv, SENTINELS } from './topology.js';

const props = (s: string) =>
  new Map(
    s
      .split('\n')
      .filter((l) => l.includes('=') && !l.startsWith('#'))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );

describe('replicated profile rendering', () => {
  it('Kafka nodes: one quorum of three combined nodes, internal topics RF 3 / min ISR 2, no unclean election', () => {
    const p = props(
      renderServerProperties({
        host: '127.0.0.1',
        port: 29092,
        controllerPort: 29192,
        logDir: '/d',
        nodeId: 2,
        voters: '1@a:1,2@b:2,3@c:3',
        replicationFactor: 3,
        minInsyncReplicas: 2,
      }),
    );
    expect(p.get('node.id')).toBe('2');
    expect(p.get('controller.quorum.voters')).toBe('1@a:1,2@b:2,3@c:3');
    expect(p.get('offsets.topic.replication.factor')).toBe('3');
    expect(p.get('transaction.state.log.min.isr')).toBe('2');
    expect(p.get('min.insync.replicas')).toBe('2');
    expect(p.get('unclean.leader.election.enable')).toBe('false');
  });

  it('Cassandra nodes: own loopback address, shared seeds, one explicit token, no bootstrap streaming', () => {
    const y = renderCassandraYaml({
      host: '127.0.0.3',
      nativePort: 29042,
      storagePort: 27000,
      dir: '/d',
      clusterName: 'c',
      seeds: ['127.0.0.2:27000', '127.0.0.3:27000'],
      initialToken: '-42',
      autoBootstrap: false,
    });
    expect(y).toMatch(/^listen_address: 127\.0\.0\.3$/m);
    expect(y).toMatch(/^initial_token: -42$/m);
    expect(y).toMatch(/^auto_bootstrap: false$/m);
    expect(y).toContain('seeds: "127.0.0.2:27000,127.0.0.3:27000"');
    expect(new Set(CASSANDRA_NODES.map((n) => n.token)).size).toBe(3);
  });

  it('Redis: the replica follows the master; sentinels monitor it with quorum 2', () => {
    expect(renderRedisConf({ host: '127.0.0.1', port: 26382, dir: '/d', replicated: { replicaOf: { host: '127.0.0.1', port: 26381 } } })).toContain(
      'replicaof 127.0.0.1 26381\n',
    );
    expect(renderRedisConf({ host: '127.0.0.1', port: 26381, dir: '/d' })).not.toContain('replicaof');
    expect(renderSentinelConf({ port: 26391, dir: '/d', masterPort: 26381 })).toContain('sentinel monitor chat-redis 127.0.0.1 26381 2\n');
  });

  it('ports are apart from the single-node profile and the services are pointed at every node', () => {
    const ports = [
      ...KAFKA_NODES.flatMap((n) => [n.port, n.controllerPort]),
      ...REDIS_NODES.map((n) => n.port),
      ...SENTINELS.map((s) => s.port),
      ...CASSANDRA_NODES.map((n) => n.jmxPort),
    ];
    expect(ports.filter((p) => [16379, 19092, 19093, 19042, 17000, 17199].includes(p))).toEqual([]);
    expect(new Set(ports).size).toBe(ports.length);
    const env = replicatedEnv();
    expect(env.KAFKA_BROKERS!.split(',')).toHaveLength(3);
    expect(env.CASSANDRA_CONTACT_POINTS!.split(',')).toHaveLength(3);
    expect(env.REDIS_SENTINELS!.split(',')).toHaveLength(3);
  });

  it("the Cassandra driver reaches discovered nodes on the contact points' port", () => {
    expect(sharedNativePort(['127.0.0.2:29042', '127.0.0.3:29042'])).toBe(29042);
    expect(sharedNativePort(['a:1', 'b:2'])).toBeUndefined();
    expect(sharedNativePort(['a'])).toBeUndefined();
  });
});
