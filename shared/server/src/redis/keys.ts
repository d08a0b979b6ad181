/**
 * Every Redis key and channel of the system, built in one place from REDIS_KEY_PREFIX (so several
 * deployments can share one Redis). Components receive a RedisKeys made from the config and never
 * spell a name themselves. A `{…}` part is a Redis Cluster hash tag: one user's keys share a slot,
 * so one script may touch them together.
 */
export class RedisKeys {
  constructor(readonly prefix: string) {}

  // Routing (gateways, the session registry)

  /** HASH connection id → "gateway|deadline ms" of one user's connections, with a TTL refreshed by heartbeats. */
  userConnections(userId: string): string {
    return `${this.prefix}user:{${userId}}:conns`;
  }
  /** A gateway's liveness key (TTL refreshed by its heartbeats). */
  gatewayAlive(gatewayId: string): string {
    return `${this.prefix}gw:${gatewayId}:alive`;
  }
  /** Channel announcing "this user's connections changed" (the user id) at every register and unregister, to every route cache. */
  routesChanged(): string {
    return `${this.prefix}routes-changed`;
  }
  /** Channel of events for one gateway (GatewayEvent JSON). */
  gatewayEvents(gatewayId: string): string {
    return `${this.prefix}gw:${gatewayId}:events`;
  }

  // Presence (presence-service; gateways subscribe to the channels)

  /** ZSET user → deadline ms of the users present (or in their offline grace). */
  presenceOnline(): string {
    return `${this.prefix}presence:online`;
  }
  /** HASH gateway id → deadline ms: one claim per gateway that holds the user. */
  presenceDevices(userId: string): string {
    return `${this.prefix}presence:dev:{${userId}}`;
  }
  /** The user's last-seen time (ms). */
  presenceSeen(userId: string): string {
    return `${this.prefix}presence:seen:{${userId}}`;
  }
  /** The user's state as watchers read it, written at each transition: `1` online (no TTL), `0:<last seen ms>` offline. */
  presenceState(userId: string): string {
    return `${this.prefix}presence:state:{${userId}}`;
  }
  /** Channel of one user's presence transitions (PresenceEvent JSON). */
  presenceEvents(userId: string): string {
    return `${this.prefix}presence:u:${userId}`;
  }

  // Send path (chat-service)

  /** One send's idempotency record (24 h). */
  idempotencyRecord(userId: string, clientMsgId: string): string {
    return `${this.prefix}idem:{${userId}}:${clientMsgId}`;
  }
  /** The user's completeness marker, in the slot of the user's records (no client_msg_id is empty, so it never names a record). */
  idempotencyMarker(userId: string): string {
    return `${this.prefix}idem:{${userId}}`;
  }
  /** A conversation's highest stored seq in one epoch, as the sequencer last delivered it (a cache of storage, with a TTL). */
  latestSeq(conversationId: string, epoch: string): string {
    return `${this.prefix}conv:{${conversationId}}:latest:${epoch}`;
  }
  /** A random token replaced at every membership change of the conversation: cached member lists are confirmed against it. */
  membersVersion(conversationId: string): string {
    return `${this.prefix}conv:{${conversationId}}:members-v`;
  }
  /** Channel announcing "the members of this conversation changed" to every chat-service cache. */
  membersChanged(): string {
    return `${this.prefix}members-changed`;
  }

  // Server kit

  /** Key prefix of one rate limit's windows (rate-limiter-flexible appends the limited key). */
  rateLimit(limit: string): string {
    return `${this.prefix}rl:${limit}`;
  }
  /** Counter handing out Snowflake worker ids. */
  workerIdCounter(): string {
    return `${this.prefix}worker-id:next`;
  }
  /** A process's claim on one worker id. */
  workerIdClaim(workerId: number): string {
    return `${this.prefix}worker-id:${workerId}`;
  }

  // Notifier

  /** HASH of one collapse window (user, conversation). */
  notifyWindow(userId: string, conversationId: string): string {
    return `${this.prefix}notify:w:{${userId}}:${conversationId}`;
  }
  /** ZSET of collapse windows by due time. */
  notifyDue(): string {
    return `${this.prefix}notify:due`;
  }
  /** ZSET of pushes waiting for a retry. */
  notifyRetry(): string {
    return `${this.prefix}notify:retry`;
  }

  /**
   * A per-user name as the two strings around the user id, for Lua scripts that build the name of
   * each user they visit: `head .. user .. tail`.
   */
  aroundUser(name: (userId: string) => string): [head: string, tail: string] {
    const marker = '\u0000';
    const [head = '', tail = ''] = name.call(this, marker).split(marker);
    return [head, tail];
  }
}
