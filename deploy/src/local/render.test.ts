import { describe, expect, it } from 'vitest';
import { cassandraArtifacts, cassandraJvmArgs, renderCassandraYaml } from './cassandra.js';
import { endpointEnv, PORTS, resolveEndpoints } from './config.js';
import { kafkaArtifacts, newClusterId, renderServerProperties } from './kafka.js';
import { renderPom } from './maven.js';
import { renderRedisConf } from './redis.js';
import { renderS3ProxyLogback, renderS3ProxyProperties, s3proxyArtifacts } from './s3proxy.js';

function props(text: string): Map<string, string> {
  return new Map(
    text
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as [string, string]),
  );
}

describe('kafka server.properties', () => {
  const p = props(renderServerProperties({ host: '127.0.0.1', port: 19092, controllerPort: 19093, logDir: '/d/kafka/data' }));
  it('is a single-node KRaft broker+controller on loopback', () => {
    expect(p.get('process.roles')).toBe('broker,controller');
    expect(p.get('controller.quorum.voters')).toBe('1@127.0.0.1:19093');
    expect(p.get('listeners')).toBe('PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093');
    expect(p.get('advertised.listeners')).toBe('PLAINTEXT://127.0.0.1:19092');
    expect(p.get('log.dirs')).toBe('/d/kafka/data');
  });
  it('never auto-creates topics and does not delay rebalances', () => {
    expect(p.get('auto.create.topics.enable')).toBe('false');
    expect(p.get('group.initial.rebalance.delay.ms')).toBe('0');
    expect(p.get('offsets.topic.replication.factor')).toBe('1');
    expect(p.get('transaction.state.log.min.isr')).toBe('1');
  });
  it('generates Kafka-format cluster ids', () => {
    expect(newClusterId()).toMatch(/^[A-Za-z0-9_-]{22}$/);
    // One in 64 random ids would start with '-', which the storage tool takes for an option.
    expect(Array.from({ length: 2000 }, newClusterId).filter((id) => id.startsWith('-'))).toEqual([]);
  });
});

describe('cassandra.yaml', () => {
  const y = renderCassandraYaml({ host: '127.0.0.1', nativePort: 19042, storagePort: 17000, dir: '/d/cassandra' });
  it('moves every port off the defaults and binds loopback', () => {
    expect(y).toMatch(/^native_transport_port: 19042$/m);
    expect(y).toMatch(/^storage_port: 17000$/m);
    expect(y).toMatch(/^listen_address: 127\.0\.0\.1$/m);
    expect(y).toMatch(/^rpc_address: 127\.0\.0\.1$/m);
    expect(y).toContain('seeds: "127.0.0.1:17000"');
    expect(y).not.toMatch(/\b(9042|7000|7199)\b/);
  });
  it('has the keys Cassandra requires', () => {
    for (const k of ['commitlog_sync: batch', 'partitioner: org.apache.cassandra.dht.Murmur3Partitioner', 'endpoint_snitch: SimpleSnitch']) {
      expect(y).toContain(k);
    }
  });
  it('JVM args carry heap, Java 17 module flags, jamm and a loopback JMX port', () => {
    const a = cassandraJvmArgs({ lib: '/c/lib', dir: '/d/cassandra', logDir: '/d/cassandra/logs', jamm: '/c/lib/jamm-0.4.0.jar', jmxPort: 17199 });
    expect(a).toEqual(
      expect.arrayContaining([
        '-Xms1g',
        '-Xmx1g',
        '--add-opens=java.base/java.lang=ALL-UNNAMED',
        '-javaagent:/c/lib/jamm-0.4.0.jar',
        '-Dcassandra.jmx.local.port=17199',
      ]),
    );
    expect(a.at(-1)).toBe('org.apache.cassandra.service.CassandraDaemon');
    expect(a).toContain('-Dcassandra.config=file:///d/cassandra/cassandra.yaml');
  });
});

describe('redis.conf', () => {
  it('binds loopback on our port without persistence', () => {
    const c = renderRedisConf({ host: '127.0.0.1', port: 16379, dir: '/d/redis/data' });
    expect(c).toContain('bind 127.0.0.1\n');
    expect(c).toContain('port 16379\n');
    expect(c).toContain('save ""\n');
    expect(c).toContain('appendonly no\n');
  });
});

describe('s3proxy', () => {
  const p = props(renderS3ProxyProperties({ host: '127.0.0.1', port: 19000, dataDir: '/d/s3/data', accessKeyId: 'id', secretAccessKey: 'secret' }));
  it('checks V4 signatures against the configured identity and keeps objects on disk', () => {
    expect(p.get('s3proxy.endpoint')).toBe('http://127.0.0.1:19000');
    expect(p.get('s3proxy.authorization')).toBe('aws-v2-or-v4');
    expect(p.get('s3proxy.identity')).toBe('id');
    expect(p.get('s3proxy.credential')).toBe('secret');
    expect(p.get('jclouds.provider')).toBe('filesystem-nio2');
    expect(p.get('jclouds.filesystem.basedir')).toBe('/d/s3/data');
  });
  it('logs at INFO at most, and resolves from Maven Central', () => {
    expect(renderS3ProxyLogback()).not.toMatch(/DEBUG|TRACE/);
    expect(renderPom(s3proxyArtifacts('2.6.0'))).toContain('<groupId>org.gaul</groupId><artifactId>s3proxy</artifactId><version>2.6.0</version>');
  });
});

describe('maven pom', () => {
  it('lists the pinned artifacts including the Kafka logging backend', () => {
    const pom = renderPom(kafkaArtifacts('3.9.1'));
    expect(pom).toContain('<artifactId>kafka_2.13</artifactId><version>3.9.1</version>');
    expect(pom).toContain('<artifactId>reload4j</artifactId><version>1.2.25</version>');
    expect(pom).toContain('<artifactId>slf4j-reload4j</artifactId><version>1.7.36</version>');
    expect(renderPom(cassandraArtifacts('5.0.5'))).toContain('<artifactId>cassandra-all</artifactId><version>5.0.5</version>');
  });
});

describe('endpoints', () => {
  it('defaults to our own loopback ports', () => {
    const e = resolveEndpoints({});
    expect(e.external).toEqual({ redis: false, kafka: false, cassandra: false, s3: false });
    expect(endpointEnv(e)).toEqual({
      REDIS_URL: `redis://127.0.0.1:${PORTS.redis}`,
      KAFKA_BROKERS: '127.0.0.1:19092',
      CASSANDRA_CONTACT_POINTS: '127.0.0.1:19042',
      CASSANDRA_LOCAL_DC: 'datacenter1',
      CASSANDRA_KEYSPACE: 'chat',
      S3_ENDPOINT: 'http://127.0.0.1:19000',
      S3_REGION: 'us-east-1',
      S3_BUCKET: 'chat-attachments',
      S3_FORCE_PATH_STYLE: 'true',
    });
  });
  it('treats a set variable as an external component', () => {
    const e = resolveEndpoints({ KAFKA_BROKERS: 'k1:9092, k2:9092', CASSANDRA_KEYSPACE: 'chat_ci', CASSANDRA_REPLICATION: '3' });
    expect(e.external).toEqual({ redis: false, kafka: true, cassandra: false, s3: false });
    expect(e.kafkaBrokers).toEqual(['k1:9092', 'k2:9092']);
    expect(e.cassandraReplication).toBe(3);
    expect(() => resolveEndpoints({ CASSANDRA_REPLICATION: '0' })).toThrow();
    expect(() => resolveEndpoints({ CASSANDRA_KEYSPACE: 'Bad-Name' })).toThrow();
  });
  it('takes an external S3-compatible store and its settings from S3_*; CHAT_S3_PORT moves the local one', () => {
    const e = resolveEndpoints({ S3_ENDPOINT: 'https://s3.example.test', S3_BUCKET: 'media', S3_REGION: 'eu-west-1', S3_FORCE_PATH_STYLE: 'false' });
    expect(e.external.s3).toBe(true);
    expect(e.s3).toMatchObject({ endpoint: 'https://s3.example.test', bucket: 'media', region: 'eu-west-1', forcePathStyle: false });
    expect(resolveEndpoints({ CHAT_S3_PORT: '19010' }).s3.endpoint).toBe('http://127.0.0.1:19010');
    expect(() => resolveEndpoints({ CHAT_S3_PORT: '70000' })).toThrow(/CHAT_S3_PORT/);
    expect(() => resolveEndpoints({ S3_BUCKET: 'No_Such' })).toThrow(/S3_BUCKET/);
  });
});
