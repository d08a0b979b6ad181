import { tokenVerifierFromConfig } from '@chat/server/auth';
import { createRedis, createRedisSubscriber, redisTargetFromConfig } from '@chat/server/clients';
import { loadConfigOrExit } from '@chat/server/config';
import { createLogger } from '@chat/server/logger';
import { createMetricsRegistry } from '@chat/server/metrics';
import { RedisSessionRegistry } from '@chat/server/routing';
import { onShutdown } from '@chat/server/shutdown';
import { HttpChatServiceClient } from './backend/chat-service-client.js';
import { startGateway } from './gateway.js';
import { PromGatewayMetrics } from './gateway-metrics.js';
import { gatewayOptionsFromConfig } from './gateway-options.js';
import { HttpPresenceClient } from './backend/presence-client.js';
import { PresenceInstances } from './backend/presence-instances.js';
import { uwsFallbackProblem } from './transport/uws.js';

const fallback = uwsFallbackProblem();
if (fallback !== undefined) {
  process.stderr.write(`gateway: ${fallback}\n`);
  process.exit(1);
}

const config = loadConfigOrExit();
const log = createLogger('gateway', config.LOG_LEVEL);
const options = gatewayOptionsFromConfig(config);

const redis = createRedis(redisTargetFromConfig(config), log, 'gateway');
// Named after the gateway, so an operator (or a test) can tell its subscriber apart in CLIENT LIST.
const subscriber = createRedisSubscriber(redis, log, `gateway-sub-${options.gatewayId.replace(/[^A-Za-z0-9._:-]/g, '_')}`);

const { verifier } = await tokenVerifierFromConfig(config, log);
const chat = new HttpChatServiceClient({
  url: config.CHAT_SERVICE_URL,
  internalToken: config.INTERNAL_API_TOKEN,
  sendDeadlineMs: config.SEND_DEADLINE_MS,
  maxQueuedSendBytes: config.GATEWAY_SEND_QUEUE_MAX_BYTES,
  syncBatchesInFlight: config.GATEWAY_SYNC_BATCHES_IN_FLIGHT,
  syncQueueTimeoutMs: config.GATEWAY_SYNC_QUEUE_TIMEOUT_MS,
});
// One client per presence-service instance; calls are spread over them by key (presence-instances.ts).
const presenceUrls = config.PRESENCE_SERVICE_URL;
const presenceClient =
  presenceUrls.length > 0
    ? new PresenceInstances(
        presenceUrls,
        presenceUrls.map((url) => new HttpPresenceClient({ url, internalToken: config.INTERNAL_API_TOKEN })),
      )
    : undefined;
const registry = new RedisSessionRegistry(redis, { prefix: config.REDIS_KEY_PREFIX, ttlSeconds: config.SESSION_TTL_SECONDS });
const metricsRegistry = createMetricsRegistry('gateway');

const gateway = await startGateway(
  { log, subscriber, redis, registry, verifier, chat, presenceClient, metrics: new PromGatewayMetrics(metricsRegistry), metricsRegistry },
  options,
).catch((err: Error) => {
  log.fatal({ err }, 'gateway failed to start');
  process.exit(1);
});
log.info({ address: `ws://${gateway.host}:${gateway.port}/ws`, internalPort: gateway.internalPort, gatewayId: gateway.gatewayId }, 'gateway ready');

onShutdown(log, [() => gateway.drain(), () => Promise.allSettled([chat.close(), presenceClient?.close(), subscriber.quit(), redis.quit()])], {
  deadlineMs: config.DRAIN_TIMEOUT_MS + config.SHUTDOWN_DEADLINE_MS,
});
