import type { Redis } from '@chat/server/clients';
import type { Logger } from '@chat/server/logger';
import type { ResolvedGatewayOptions } from '../gateway-options.js';
import type { LocalSessions } from '../delivery/local-sessions.js';
import type { PresenceAndTyping } from './presence-and-typing.js';
import type { PresenceClient } from '../backend/presence-client.js';
import { PresenceHub } from './presence-hub.js';
import { PresenceReporter } from './presence-reporter.js';
import { RemotePresenceAndTyping } from './remote-presence-and-typing.js';
import { sendFrame, type SendPolicy } from '../transport/socket-sender.js';

/** Largest user list of one presence-service query (its MAX_USERS_PER_REQUEST). */
const MAX_QUERY_USERS = 5000;

export interface PresenceWiring {
  readonly presence: PresenceAndTyping;
  readonly hub: PresenceHub;
  readonly reporter: PresenceReporter;
  /** Sends pending reports (the drain's disconnects) and drops every subscription. */
  close(): Promise<void>;
}

/** Builds the gateway's presence/typing parts on top of a presence-service client. */
export function startPresenceWiring(
  client: PresenceClient,
  subscriber: Redis,
  sessions: LocalSessions,
  opts: Pick<ResolvedGatewayOptions, 'gatewayId' | 'redisPrefix' | 'presenceFlushMs' | 'typingThrottleMs' | 'sessionRefreshSeconds'>,
  policy: SendPolicy,
  log: Logger,
): PresenceWiring {
  const hub = new PresenceHub(
    subscriber,
    opts.redisPrefix,
    (connectionId, frame) => {
      const ws = sessions.connection(connectionId);
      if (ws) sendFrame(ws, frame, policy);
    },
    opts.presenceFlushMs,
    log.child({ component: 'presence-hub' }),
    (connectionId) => sessions.connection(connectionId) !== undefined,
    // presence-service answers only with users the watcher shares a conversation with.
    async (watcherId, userIds) => {
      const allowed = new Set<string>();
      for (let i = 0; i < userIds.length; i += MAX_QUERY_USERS) {
        for (const s of await client.query(watcherId, userIds.slice(i, i + MAX_QUERY_USERS))) allowed.add(s.user_id);
      }
      return allowed;
    },
  );
  const reporter = new PresenceReporter(
    client,
    () => sessions.userIds(),
    (userId) => sessions.socketsOf(userId) !== undefined,
    log.child({ component: 'presence-reporter' }),
    { gatewayId: opts.gatewayId, heartbeatMs: opts.sessionRefreshSeconds * 1000 },
  );
  reporter.start();
  let closed: Promise<void> | undefined;
  return {
    presence: new RemotePresenceAndTyping(client, hub, opts.typingThrottleMs),
    hub,
    reporter,
    close: () =>
      (closed ??= (async () => {
        hub.close();
        await reporter.stop();
      })()),
  };
}
