import { createCassandra, createKafka, createRedis, redisTargetFromConfig } from '@chat/server/clients';
import { loadConfigOrExit } from '@chat/server/config';
import { createLogger } from '@chat/server/logger';
import { onShutdown } from '@chat/server/shutdown';
import { startNotifier } from './app.js';
import { FakeFcm } from './dev/fake-fcm.js';
import { createFcmClient, type FcmTarget } from './fcm/fcm-app.js';
import { ChatServiceRecipientState } from './recipients/chat-service-recipient-state.js';

const config = loadConfigOrExit();
const log = createLogger('notifier', config.LOG_LEVEL);

/** Real FCM when credentials are configured; else a fake endpoint, ours (logging what it would push) unless one is named. */
async function fcmTarget(): Promise<{ target: FcmTarget; fake: FakeFcm | null }> {
  if (config.FCM_PROJECT_ID !== '' && config.FCM_CREDENTIALS_FILE !== '') {
    return { target: { kind: 'fcm', projectId: config.FCM_PROJECT_ID, credentialsFile: config.FCM_CREDENTIALS_FILE }, fake: null };
  }
  if (config.FCM_LOCAL_ENDPOINT !== '') {
    const m = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|localhost):(\d{1,5})$/.exec(config.FCM_LOCAL_ENDPOINT);
    if (!m) {
      log.fatal('FCM_LOCAL_ENDPOINT must be 127.x.x.x:port or localhost:port');
      process.exit(78);
    }
    return { target: { kind: 'local', host: m[1] === 'localhost' ? '127.0.0.1' : m[1]!, port: Number(m[2]) }, fake: null };
  }
  const fakeLog = log.child({ component: 'fake-fcm' });
  const fake = new FakeFcm((p) => fakeLog.info({ data: p.message.data, notification: p.message.notification }, 'would push (FCM not configured)'));
  const { host, port } = await fake.listen();
  log.warn({ port }, 'FCM_PROJECT_ID / FCM_CREDENTIALS_FILE not set: pushes go to a local fake endpoint that only logs them');
  return { target: { kind: 'local', host, port }, fake };
}

const redis = createRedis(redisTargetFromConfig(config), log, 'notifier');
const kafka = createKafka(config.KAFKA_BROKERS, `${config.KAFKA_CLIENT_ID}-notifier`, log);
const cassandra = createCassandra(
  { contactPoints: config.CASSANDRA_CONTACT_POINTS, localDataCenter: config.CASSANDRA_LOCAL_DC, keyspace: config.CASSANDRA_KEYSPACE },
  log,
);
const { target, fake } = await fcmTarget();
const fcm = createFcmClient(target, 'notifier');
const state = new ChatServiceRecipientState({ url: config.CHAT_SERVICE_URL, internalToken: config.INTERNAL_API_TOKEN });
const notifier = await startNotifier(config, log, { redis, kafka, cassandra, fcm, state }).catch((err: Error) => {
  log.fatal({ err }, 'notifier failed to start');
  process.exit(1);
});

onShutdown(log, [() => notifier.close(), () => fcm.close(), () => fake?.close(), () => cassandra.shutdown(), () => redis.quit()], {
  deadlineMs: config.SHUTDOWN_DEADLINE_MS,
});
