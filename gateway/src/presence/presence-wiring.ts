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
import { MAX_AUTHORIZE_USERS, type PresenceAuthorizeRequest } from '@chat/protocol/internal';

/** Authorize requests of one flush in flight at once. */
const AUTHORIZE_CONCURRENCY = 4;

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
    (byWatcher) => authorizeInBatches(client, byWatcher),
  );
  const reporter = new PresenceReporter(
    client,
    () => sessions.userIds(),
    (userId) => sessions.socketCount(userId) > 0,
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

/** One flush's re-authorization: the checks packed into requests of at most MAX_AUTHORIZE_USERS ids. */
async function authorizeInBatches(client: PresenceClient, byWatcher: ReadonlyMap<string, ReadonlySet<string>>): Promise<Map<string, ReadonlySet<string>>> {
  const batches: PresenceAuthorizeRequest['checks'][] = [[]];
  let size = 0;
  for (const [watcherId, users] of byWatcher) {
    const ids = [...users];
    for (let i = 0; i < ids.length; i += MAX_AUTHORIZE_USERS) {
      const part = ids.slice(i, i + MAX_AUTHORIZE_USERS);
      if (size + part.length > MAX_AUTHORIZE_USERS) {
        batches.push([]);
        size = 0;
      }
      batches.at(-1)!.push({ user_id: watcherId, user_ids: part });
      size += part.length;
    }
  }
  const out = new Map<string, Set<string>>();
  const queue = batches.filter((b) => b.length > 0);
  const worker = async (): Promise<void> => {
    for (let checks = queue.shift(); checks; checks = queue.shift()) {
      const allowed = await client.authorize(checks);
      checks.forEach((c, i) => {
        let set = out.get(c.user_id);
        if (!set) out.set(c.user_id, (set = new Set()));
        for (const u of allowed[i] ?? []) set.add(u);
      });
    }
  };
  await Promise.all(Array.from({ length: Math.min(AUTHORIZE_CONCURRENCY, queue.length) }, worker));
  return out;
}
