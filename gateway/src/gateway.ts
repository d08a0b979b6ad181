import { Readiness, compactHeap, redisCheck } from '@chat/server/health';
import { CloseCodes, PROTOCOL_VERSION } from '@chat/protocol';
import type { Redis } from '@chat/server/clients';
import type { Logger } from '@chat/server/logger';
import { RedisKeys } from '@chat/server/redis';
import type { SessionRegistry } from '@chat/server/routing';
import { randomBytes } from 'node:crypto';
import type { ChatServiceClient } from './backend/chat-service-client.js';
import { ClientMessages } from './inbound/client-messages.js';
import { subscribeDelivery, type DeliverySubscription } from './delivery/delivery-subscription.js';
import { startDigest } from './delivery/digest.js';
import { FloodPenalties } from './inbound/flood-penalties.js';
import { FrameHandler } from './inbound/frame-handler.js';
import { NoopGatewayMetrics, type GatewayMetrics, type MetricsRegistry } from './gateway-metrics.js';
import { resolveGatewayOptions, type GatewayOptions } from './gateway-options.js';
import { localGatewayRateLimits, redisGatewayRateLimits } from './inbound/gateway-rate-limits.js';
import { startHeapSettler } from './transport/heap-settler.js';
import { guardHttp } from './transport/http-guard.js';
import { registerInternalRoutes, registerNotFound } from './transport/http-routes.js';
import { LocalDelivery } from './delivery/local-delivery.js';
import { LocalSessions } from './delivery/local-sessions.js';
import { UnsupportedPresenceAndTyping, type PresenceAndTyping } from './presence/presence-and-typing.js';
import type { PresenceClient } from './backend/presence-client.js';
import { startPresenceWiring, type PresenceWiring } from './presence/presence-wiring.js';
import { startSessionRefresher } from './delivery/session-refresher.js';
import type { SocketData } from './transport/socket-data.js';
import { flushReplies } from './transport/reply-writer.js';
import { closeSocket, drainSlow, sendFrame, type SendPolicy } from './transport/socket-sender.js';
import { TokenExpiry } from './transport/token-expiry.js';
import { createUpgradeHandler, type AccessTokenVerifier } from './transport/upgrade-handler.js';
import { assertNativeUws, uWS, type us_listen_socket } from './transport/uws.js';

/** Clients the gateway receives, created by main.ts (or a test). The gateway never closes them. */
export interface GatewayDeps {
  log: Logger;
  /** A dedicated Redis connection for SUBSCRIBE (`createRedisSubscriber(redis)`). */
  subscriber: Redis;
  /** Redis for the rate limits shared by all gateways; without it each gateway limits on its own. */
  redis?: Redis;
  registry: SessionRegistry;
  verifier: AccessTokenVerifier;
  chat: ChatServiceClient;
  /** presence-service; without it presence and typing frames are refused (UNKNOWN_TYPE). */
  presenceClient?: PresenceClient;
  /** Overrides what presenceClient would provide. @default UnsupportedPresenceAndTyping */
  presence?: PresenceAndTyping;
  /** @default NoopGatewayMetrics */
  metrics?: GatewayMetrics;
  /** Served at GET /metrics on the internal listener when options.metricsEnabled. */
  metricsRegistry?: MetricsRegistry;
}

export interface RunningGateway {
  readonly gatewayId: string;
  readonly host: string;
  /** The bound public (WebSocket) port (useful with port 0). */
  readonly port: number;
  /** The bound internal port serving /healthz and /metrics (useful with internalPort 0). */
  readonly internalPort: number;
  /** Open WebSocket connections. */
  connections(): number;
  /**
   * Graceful drain: stops accepting, sends every client a `reconnect` frame, closes whoever is
   * left after drainTimeoutMs with CloseCodes.SERVER_RESTART, unregisters every connection,
   * unsubscribes and retires the gateway in the registry. Idempotent.
   */
  drain(): Promise<void>;
}

/** Starts a gateway on options.host:options.port; resolves once it is listening. */
export async function startGateway(deps: GatewayDeps, options: GatewayOptions): Promise<RunningGateway> {
  assertNativeUws();
  const opts = resolveGatewayOptions(options);
  const log = deps.log.child({ component: 'gateway', gatewayId: opts.gatewayId });
  const metrics = deps.metrics ?? new NoopGatewayMetrics();
  const { registry } = deps;
  const sessions = new LocalSessions();
  const app = uWS.App();
  const bootId = randomBytes(4).toString('hex');
  let connectionCounter = 0;
  let draining = false;
  let listenSocket: us_listen_socket | undefined;
  const pendingUnregisters = new Set<Promise<void>>();
  let onSocketGone: (() => void) | undefined;

  const unregister = (data: SocketData): void => {
    const p = registry.unregister(data.userId, data.connectionId).catch((err: Error) => log.warn({ err }, 'unregister failed; the entry expires with its TTL'));
    pendingUnregisters.add(p);
    void p.finally(() => pendingUnregisters.delete(p));
  };
  const policy: SendPolicy = {
    maxBackpressure: opts.maxBackpressureBytes,
    // Replies fill at most half the buffer, so deliveries behind them keep the other half.
    replyLimit: Math.floor(opts.maxBackpressureBytes / 2),
    onSlow: (ws) => {
      // It leaves routing now; its 4400 close follows once its backlog drained.
      metrics.markSlowConsumer();
      sessions.remove(ws);
      unregister(ws.getUserData());
    },
  };

  const presenceWiring: PresenceWiring | undefined = deps.presenceClient
    ? startPresenceWiring(deps.presenceClient, deps.subscriber, sessions, opts, policy, log)
    : undefined;
  const presence = deps.presence ?? presenceWiring?.presence ?? new UnsupportedPresenceAndTyping();
  // A sync/history reply is paged to a quarter of the buffer (chat-service sets has_more).
  const frameHandler = new FrameHandler(deps.chat, presence, Math.floor(opts.maxBackpressureBytes / 4), deps.verifier);
  const rateLimits = deps.redis ? redisGatewayRateLimits(deps.redis, opts, log) : localGatewayRateLimits(opts);
  const penalties = new FloodPenalties();
  const tokenExpiry = new TokenExpiry();
  const messages = new ClientMessages(frameHandler, metrics, log, opts, policy, rateLimits, penalties, tokenExpiry);

  app.ws<SocketData>('/ws', {
    maxPayloadLength: opts.hardMaxFrameBytes,
    // uWS's own limit sits above ours: socket-sender marks a slow consumer (and closes it with
    // 4400 once drained) before uWS would drop anything or cut the connection without a close frame.
    maxBackpressure: opts.maxBackpressureBytes * 2,
    // Typed as number in the v20.30 typings, documented as a boolean; a backstop only.
    closeOnBackpressureLimit: 1,
    idleTimeout: opts.idleTimeoutSeconds,
    sendPingsAutomatically: true,
    compression: uWS.DISABLED,
    upgrade: guardHttp(
      log,
      createUpgradeHandler({
        verifier: deps.verifier,
        registry,
        metrics,
        log,
        upgradeLimiter: rateLimits.upgrades,
        penalties,
        options: opts,
        nextConnectionId: () => `${opts.gatewayId}:${bootId}:${(++connectionCounter).toString(36)}`,
        isDraining: () => draining,
        corkAnchor: () => sessions.anySocket(),
      }),
    ),
    open: (ws) => {
      const data = ws.getUserData();
      sessions.add(ws);
      if (sessions.socketCount(data.userId) === 1) presenceWiring?.reporter.connected(data.userId);
      metrics.markConnection();
      tokenExpiry.watch(ws);
      sendFrame(ws, { type: 'hello', protocol: PROTOCOL_VERSION, user_id: data.userId, connection_id: data.connectionId, gateway_id: opts.gatewayId }, policy);
      if (draining) sendFrame(ws, { type: 'reconnect', reason: 'server_restart', after_ms: 0 }, policy);
    },
    message: (ws, message, isBinary) => messages.onMessage(ws, message, isBinary),
    drain: (ws) => {
      if (drainSlow(ws)) return;
      flushReplies(ws, policy);
      messages.pumpReads(ws);
    },
    close: (ws, code, message) => {
      const data = ws.getUserData();
      data.closed = true;
      data.deferred = undefined;
      data.waitingReads = undefined;
      tokenExpiry.forget(ws);
      sessions.remove(ws);
      if (presenceWiring) {
        presenceWiring.hub.dropConnection(data.connectionId);
        if (sessions.socketCount(data.userId) === 0) presenceWiring.reporter.disconnected(data.userId);
      }
      metrics.markDisconnect(code);
      if (code === CloseCodes.SLOW_CONSUMER.code || code === 1006)
        log.debug({ code, reason: Buffer.from(message).toString('utf8'), connectionId: data.connectionId }, 'connection dropped');
      if (!data.slow) unregister(data); // a slow consumer left routing when it became one
      onSocketGone?.();
    },
  });

  // The public port serves /ws upgrades only; health and metrics live on the internal listener.
  registerNotFound(app, log);
  const internalApp = uWS.App();
  // Routing and delivery need Redis; chat-service answers for itself (its own /readyz).
  const readiness = new Readiness([redisCheck(deps.redis ?? deps.subscriber)]);
  registerInternalRoutes(internalApp, {
    metricsRegistry: opts.metricsEnabled ? deps.metricsRegistry : undefined,
    connections: () => sessions.size,
    isDraining: () => draining,
    readiness,
    log,
  });

  const delivery = new LocalDelivery(sessions, metrics, policy);
  const subscription: DeliverySubscription = await subscribeDelivery(
    deps.subscriber,
    new RedisKeys(opts.redisPrefix).gatewayEvents(opts.gatewayId),
    (e) => delivery.apply(e),
    log,
    () => {
      metrics.markDeliveryResubscribed();
      delivery.hintSync();
    },
  );
  const stopDigest = startDigest(sessions, deps.chat, policy, { intervalMs: opts.digestIntervalMs }, log.child({ component: 'digest' }));
  const stopRefresher = startSessionRefresher(
    registry,
    opts.gatewayId,
    () => sessions.connections(),
    {
      intervalMs: opts.sessionRefreshSeconds * 1000,
      ttlMs: opts.sessionTtlSeconds * 1000,
      // Deliveries to this gateway were skipped while its entries had lapsed (e.g. the process was frozen).
      onLapse: () => delivery.hintSync(),
    },
    log,
  );
  const stopHeapSettler = startHeapSettler(
    () => sessions.size,
    () => {
      const started = performance.now();
      compactHeap();
      log.info({ connections: sessions.size, pauseMs: Math.round(performance.now() - started) }, 'heap compacted after a connect ramp');
    },
  );

  let internalSocket: us_listen_socket | undefined;
  try {
    internalSocket = await listenOn(internalApp, opts.internalHost, opts.internalPort);
    listenSocket = await listenOn(app, opts.host, opts.port);
  } catch (err) {
    if (internalSocket) uWS.us_listen_socket_close(internalSocket);
    stopDigest();
    stopRefresher();
    stopHeapSettler();
    rateLimits.close();
    await presenceWiring?.close();
    await subscription.close();
    throw err;
  }
  const port = uWS.us_socket_local_port(listenSocket);
  const internalPort = uWS.us_socket_local_port(internalSocket);
  log.info({ host: opts.host, port, internalHost: opts.internalHost, internalPort, channel: subscription.channel }, 'gateway listening');

  let drained: Promise<void> | undefined;
  const drain = async (): Promise<void> => {
    draining = true;
    readiness.startDraining();
    if (listenSocket) {
      uWS.us_listen_socket_close(listenSocket);
      listenSocket = undefined;
    }
    stopRefresher();
    stopDigest();
    stopHeapSettler();
    const open = sessions.all();
    log.info({ connections: open.length, timeoutMs: opts.drainTimeoutMs }, 'draining');
    const spread = Math.max(1, Math.floor(opts.drainTimeoutMs / 2));
    for (const ws of open) {
      sendFrame(ws, { type: 'reconnect', reason: 'server_restart', after_ms: Math.floor(Math.random() * spread) }, policy);
    }
    await new Promise<void>((resolve) => {
      if (sessions.size === 0) return resolve();
      const timer = setTimeout(resolve, opts.drainTimeoutMs);
      onSocketGone = () => {
        if (sessions.size === 0) {
          clearTimeout(timer);
          resolve();
        }
      };
    });
    onSocketGone = undefined;
    for (const ws of sessions.all()) closeSocket(ws, CloseCodes.SERVER_RESTART);
    await Promise.allSettled([...pendingUnregisters]);
    await presenceWiring?.close();
    await subscription.close();
    await registry.retireGateway(opts.gatewayId).catch((err: Error) => log.warn({ err }, 'retiring the gateway failed'));
    rateLimits.close();
    tokenExpiry.stop();
    // Health answered 503 "draining" until here; now the internal listener goes too.
    if (internalSocket) {
      uWS.us_listen_socket_close(internalSocket);
      internalSocket = undefined;
    }
    log.info('drained');
  };

  return {
    gatewayId: opts.gatewayId,
    host: opts.host,
    port,
    internalPort,
    connections: () => sessions.size,
    drain: () => (drained ??= drain()),
  };
}

function listenOn(app: ReturnType<typeof uWS.App>, host: string, port: number): Promise<us_listen_socket> {
  return new Promise((resolve, reject) => {
    app.listen(host, port, (socket) => {
      if (socket) resolve(socket);
      else reject(new Error(`gateway could not listen on ${host}:${port}`));
    });
  });
}
