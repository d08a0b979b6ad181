import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { Kafka, Producer } from '@chat/server/clients';
import { sequencedTopicFromConfig } from '@chat/server/kafka-topics';
import { loadConfig, type Config } from '@chat/server/config';
import { createLogger } from '@chat/server/logger';
import { startSystem, type SystemOptions, type TestSystem } from '@chat/chat-service/testing/system';
import { freePort, waitFor } from '@chat/testing/wait';
import { startNotifier, type RunningNotifier } from '../../src/app.js';
import { FakeFcm } from '../../src/dev/fake-fcm.js';
import { createFcmClient, type FcmClient } from '../../src/fcm/fcm-app.js';
import { ChatServiceRecipientState } from '../../src/recipients/chat-service-recipient-state.js';

export { waitFor };

const NOTIFIER_MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

/** The system (chat-service in-process, gateway processes) plus what a notifier needs: a fake FCM endpoint and its environment. */
export interface NotifierSystem {
  sys: TestSystem;
  /** The local fake FCM endpoint every notifier of this system sends to. */
  fake: FakeFcm;
  /** The notifier's environment (the system's, plus its group, dead-letter topic and FCM endpoint). */
  env: NodeJS.ProcessEnv;
  config: Config;
  /** Registers a push device for `user` through the REST API; returns its FCM token. */
  device(user: string): Promise<string>;
  /** A group conversation created by `members[0]` through the REST API. */
  group(title: string, members: string[]): Promise<string>;
  close(): Promise<void>;
}

export interface NotifierSystemOptions extends SystemOptions {
  gateways?: number;
  /** Notifier settings (NOTIFY_*, FCM_*, NOTIFIER_*). */
  notifierEnv?: NodeJS.ProcessEnv;
}

export async function startNotifierSystem(options: NotifierSystemOptions = {}): Promise<NotifierSystem> {
  const run = randomBytes(4).toString('hex');
  const sys = await startSystem(options.gateways ?? 0, options);
  const fake = new FakeFcm();
  const endpoint = await fake.listen();
  const env: NodeJS.ProcessEnv = {
    ...sys.env,
    NOTIFIER_GROUP_ID: `notifier-test-${run}`,
    NOTIFIER_DLQ_TOPIC: `chat.notifications.dlq.test-${run}`,
    NOTIFIER_INTERNAL_PORT: String(await freePort()),
    FCM_LOCAL_ENDPOINT: `${endpoint.host}:${endpoint.port}`,
    ...options.notifierEnv,
  };
  const token = () => `tok_${randomBytes(48).toString('base64url')}`;
  return {
    sys,
    fake,
    env,
    config: loadConfig(env),
    device: async (user) => {
      const t = token();
      const res = await sys.rest(user, 'POST', '/v1/devices', { token: t, platform: 'android' });
      if (res.status !== 200 && res.status !== 201) throw new Error(`device registration answered ${res.status}`);
      return t;
    },
    group: async (title, members) => {
      const res = await sys.rest<{ conversation: { conversation_id: string } }>(members[0]!, 'POST', '/v1/conversations', {
        kind: 'group',
        title,
        member_ids: members.slice(1),
      });
      if (res.status !== 201) throw new Error(`conversation creation answered ${res.status}`);
      return res.body.conversation.conversation_id;
    },
    close: async () => {
      await fake.close();
      await sys.close();
    },
  };
}

/** Waits until the notifier group owns the partitions (a new group starts at the end of the stream). */
export async function waitForNotifierGroup(kafka: Kafka, groupId: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await waitFor(
      async () => {
        const { groups } = await admin.describeGroups([groupId]);
        return groups[0]?.state === 'Stable' && groups[0].members.length > 0;
      },
      90_000,
      'notifier consumer group to be assigned',
    );
  } finally {
    await admin.disconnect();
  }
}

/** A notifier in this process (its metrics and shutdown reachable), on the system's clients. */
export async function startInProcessNotifier(ns: NotifierSystem): Promise<{ notifier: RunningNotifier; close(): Promise<void> }> {
  const [host, port] = ns.env.FCM_LOCAL_ENDPOINT!.split(':') as [string, string];
  const fcm: FcmClient = createFcmClient({ kind: 'local', host, port: Number(port) }, `test-${randomBytes(3).toString('hex')}`);
  const state = new ChatServiceRecipientState({ url: ns.config.CHAT_SERVICE_URL, internalToken: ns.config.INTERNAL_API_TOKEN });
  const log = createLogger('notifier-test', ns.config.LOG_LEVEL);
  const notifier = await startNotifier(ns.config, log, { redis: ns.sys.redis, kafka: ns.sys.kafka, cassandra: ns.sys.cassandra, fcm, state });
  await waitForNotifierGroup(ns.sys.kafka, ns.config.NOTIFIER_GROUP_ID);
  return {
    notifier,
    close: async () => {
      await notifier.close();
      await fcm.close();
    },
  };
}

export interface NotifierProcess {
  /** Base URL of its internal listener (/healthz, /metrics). */
  internalUrl: string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Runs the notifier's real main (dist/main.js) as a child process with the system's notifier environment. */
export async function startNotifierProcess(ns: NotifierSystem): Promise<NotifierProcess> {
  const child = spawn(process.execPath, [NOTIFIER_MAIN], { env: ns.env, stdio: ['ignore', 'inherit', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const internalUrl = `http://127.0.0.1:${ns.config.NOTIFIER_INTERNAL_PORT}`;
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`notifier exited with ${child.exitCode}`);
      return fetch(`${internalUrl}/healthz`).then(
        (r) => r.ok,
        () => false,
      );
    },
    60_000,
    'notifier process to listen',
  );
  await waitForNotifierGroup(ns.sys.kafka, ns.config.NOTIFIER_GROUP_ID);
  return {
    internalUrl,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

/** A counter's value from a Prometheus text exposition (sum over its label sets); 0 when absent. */
export function metricValue(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name} `) || line.startsWith(`${name}{`)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/**
 * Produces sequenced records (the stream's contract) for `seqs` of a conversation, as the sequencer
 * does, without storing messages: for tests of the notifier's own behaviour. Bodies say "secret".
 */
export async function publishSequenced(ns: NotifierSystem, producer: Producer, conversationId: string, sender: string, seqs: number[]): Promise<void> {
  await producer.send({
    topic: sequencedTopicFromConfig(ns.config),
    acks: -1,
    messages: seqs.map((seq) => ({
      key: conversationId,
      value: JSON.stringify({
        v: 1,
        type: 'sequenced',
        message: {
          conversation_id: conversationId,
          message_id: `${seq}${Date.now()}`,
          seq,
          epoch: 'e1',
          sender_id: sender,
          client_msg_id: `c-${seq}`,
          body: `secret text ${seq}`,
          created_at: Date.now(),
        },
      }),
    })),
  });
}
