import { bool, hostPorts, int, list, oneOf, optHostPorts, optStr, optUrls, port, rate, str, subsetOf, url, urls, type Parser } from './parsers.js';

const roles = () => subsetOf(['api', 'sequencer', 'inbox']);

interface EnvVar<T> {
  parse: Parser<T>;
  /** Used when the variable is unset; `undefined` makes the variable required. */
  default: string | undefined;
  description: string;
  /**
   * Used instead of `default` when NODE_ENV is not `production`: the local single-node
   * infrastructure (development, tests) cannot meet production's value.
   */
  localDefault?: string;
}

function v<T>(parse: Parser<T>, def: string | undefined, description: string, localDefault?: string): EnvVar<T> {
  return { parse, default: def, description, ...(localDefault !== undefined ? { localDefault } : {}) };
}

/**
 * Every environment variable the system reads, in one table. Defaults match what
 * `npm run infra -- up` starts locally. docs/OPERATIONS.md lists the same table.
 */
export const ENV_TABLE = {
  NODE_ENV: v(oneOf(['development', 'test', 'production']), 'development', 'Runtime mode; production refuses dev-only defaults.'),
  LOG_LEVEL: v(oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']), 'info', 'pino log level.'),

  REDIS_URL: v(url(['redis:', 'rediss:']), 'redis://127.0.0.1:16379', 'Redis for sessions, routing, idempotency, presence and pub/sub.'),
  REDIS_SENTINELS: v(
    optHostPorts(),
    '',
    'Comma-separated Redis Sentinel host:port list. When set, every service finds the master REDIS_SENTINEL_NAME through them and follows failovers; REDIS_URL then only supplies password, db and TLS.',
  ),
  REDIS_SENTINEL_NAME: v(str(), 'chat-redis', 'Master name the sentinels monitor (read only when REDIS_SENTINELS is set).'),
  REDIS_KEY_PREFIX: v(str(), 'chat:', 'Prefix of every Redis key and channel, so several deployments can share one Redis.'),
  KAFKA_BROKERS: v(hostPorts(), '127.0.0.1:19092', 'Comma-separated Kafka bootstrap brokers.'),
  KAFKA_CLIENT_ID: v(str(), 'chat', 'Kafka client id prefix.'),
  KAFKA_TOPIC_MESSAGES: v(str(), 'chat.messages', 'Topic of sent messages; its dead-letter topic is the same name + ".dlq".'),
  KAFKA_MESSAGES_PARTITIONS: v(
    int(1, 10_000),
    '12',
    "Partitions of KAFKA_TOPIC_MESSAGES. Fixed once the topic exists: the topic tooling refuses a topic with another count (a conversation's partition must never move).",
  ),
  KAFKA_REPLICATION_FACTOR: v(
    int(1, 16),
    '3',
    'Replication factor of the topics the tooling creates (1 when NODE_ENV is not production: the local single-node broker).',
    '1',
  ),
  KAFKA_MIN_INSYNC_REPLICAS: v(
    int(1, 16),
    '2',
    'min.insync.replicas of the topics the tooling creates: an acks=all write is acked only when this many replicas have it (1 when NODE_ENV is not production). At most KAFKA_REPLICATION_FACTOR.',
    '1',
  ),
  KAFKA_TOPIC_SEQUENCED: v(
    optStr(),
    '',
    'Sequenced stream: every stored message, in seq order per conversation, keyed by conversation (consumed by the inbox writer and the notifier); its dead-letter topic is the same name + ".dlq". Empty: KAFKA_TOPIC_MESSAGES + ".sequenced".',
  ),
  SEQUENCER_GROUP_ID: v(str(), 'chat-sequencer', 'Kafka consumer group of the sequencers.'),
  CASSANDRA_CONTACT_POINTS: v(hostPorts(), '127.0.0.1:19042', 'Comma-separated Cassandra host:port contact points.'),
  CASSANDRA_LOCAL_DC: v(str(), 'datacenter1', 'Cassandra local datacenter name.'),
  CASSANDRA_KEYSPACE: v(str(), 'chat', 'Keyspace holding the chat schema.'),
  CASSANDRA_REPLICATION: v(int(1, 9), '1', 'Replication factor used when the migration runner creates the keyspace.'),
  S3_ENDPOINT: v(
    optStr(),
    '',
    "S3-compatible store holding attachments; empty uses AWS S3's endpoint for S3_REGION (the local S3Proxy when NODE_ENV is not production).",
    'http://127.0.0.1:19000',
  ),
  S3_PUBLIC_ENDPOINT: v(
    optStr(),
    '',
    'Endpoint written into the pre-signed URLs handed to clients, when they reach the store by another address than S3_ENDPOINT; empty: the same.',
  ),
  S3_REGION: v(str(), 'us-east-1', "Region the store's requests are signed for."),
  S3_BUCKET: v(str(), 'chat-attachments', 'Bucket holding attachments (the local tooling creates it).'),
  S3_ACCESS_KEY_ID: v(
    optStr(),
    '',
    "Access key of the store; empty (with S3_SECRET_ACCESS_KEY) uses the AWS SDK's default credential chain (environment, profile, instance role). Development default: the local S3Proxy's.",
  ),
  S3_SECRET_ACCESS_KEY: v(optStr(), '', 'Secret key of the store, set together with S3_ACCESS_KEY_ID; production refuses the development value.'),
  S3_FORCE_PATH_STYLE: v(
    bool(),
    'false',
    'Address buckets as <endpoint>/<bucket> instead of <bucket>.<endpoint> (most S3-compatible stores need it; true when NODE_ENV is not production).',
    'true',
  ),
  ATTACHMENT_MAX_BYTES: v(
    int(1, 5 * 1024 * 1024 * 1024),
    '26214400',
    'Largest attachment (bytes) a client may declare; the pre-signed upload is signed for exactly the declared size.',
  ),
  ATTACHMENT_CONTENT_TYPES: v(
    list(),
    'image/jpeg,image/png,image/gif,image/webp,video/mp4,audio/mpeg,audio/ogg,application/pdf,text/plain',
    'Comma-separated allowlist of attachment content types (exact, lower case, no parameters).',
  ),
  ATTACHMENT_UPLOAD_URL_TTL_SECONDS: v(int(1, 3600), '300', 'How long a pre-signed upload URL is valid.'),
  ATTACHMENT_DOWNLOAD_URL_TTL_SECONDS: v(int(1, 604_800), '300', 'How long a pre-signed download URL is valid.'),
  ATTACHMENT_ABANDON_AFTER_SECONDS: v(
    int(1, 604_800),
    '3600',
    'An attachment not completed this long after its upload was requested is deleted, object included. At least ATTACHMENT_UPLOAD_URL_TTL_SECONDS.',
  ),
  ATTACHMENT_SWEEP_INTERVAL_MS: v(
    int(0, 3_600_000),
    '60000',
    'How often a chat-service API process deletes abandoned attachments; 0 disables (another process must sweep).',
  ),
  RATE_ATTACHMENTS_PER_USER: v(rate(), '500/3600s', 'Attachment uploads one user may request per window.'),

  CHAT_SERVICE_ROLES: v(
    roles(),
    'api,sequencer,inbox',
    'What a chat-service process runs: the HTTP API (api), the sequencer consumer (sequencer), the inbox writer on the sequenced stream (inbox); any combination.',
  ),
  FANOUT_WRITE_MAX_MEMBERS: v(
    int(1, 1_000_000),
    '50',
    'Conversations with at most this many members (direct ones always) are fanned out on write: one inbox row per member and message, list rows kept per member. Larger ones are read from the conversation (fanout on read).',
  ),
  INBOX_WRITER_GROUP_ID: v(str(), 'chat-inbox-writer', 'Kafka consumer group of the inbox writers on the sequenced stream.'),
  LATEST_SEQ_CACHE_SECONDS: v(
    int(1, 86_400),
    '300',
    "How long Redis keeps a conversation's latest seq for the digest after its last message or lookup; a latest seq whose update failed with its delivery lags storage at most this long.",
  ),
  READ_COUNT_CACHE_MS: v(
    int(0, 600_000),
    '2000',
    "How long chat-service serves a conversation's read counts from one read of its members' positions (counts may lag by this much; 0: read every time).",
  ),
  CHAT_HTTP_HOST: v(str(), '127.0.0.1', 'chat-service public listen address (REST API; api role only).'),
  CHAT_HTTP_PORT: v(port(), '8080', 'chat-service public REST port (api role only); it serves nothing else.'),
  CHAT_INTERNAL_HOST: v(str(), '127.0.0.1', 'chat-service internal listen address: internal API for gateways, /healthz, /metrics. Never expose it publicly.'),
  CHAT_INTERNAL_PORT: v(
    port(),
    '8085',
    'chat-service internal listener port; 0 picks a free port. Every chat-service process runs it (a sequencer-only one for /healthz and /metrics).',
  ),
  CHAT_SERVICE_URL: v(
    url(['http:', 'https:']),
    'http://127.0.0.1:8085',
    "Where gateways reach chat-service's internal listener (CHAT_INTERNAL_HOST:CHAT_INTERNAL_PORT).",
  ),
  INTERNAL_API_TOKEN: v(
    str(),
    undefined,
    'Shared secret gateways present to the internal endpoints of chat-service and presence-service; in production at least 32 bytes and not the development value.',
  ),

  GATEWAY_HOST: v(str(), '127.0.0.1', 'Gateway listen address.'),
  GATEWAY_PORT: v(port(), '8081', 'Gateway public WebSocket port (/ws only).'),
  GATEWAY_INTERNAL_HOST: v(str(), '127.0.0.1', 'Gateway internal listen address: /healthz and /metrics. Never expose it publicly.'),
  GATEWAY_INTERNAL_PORT: v(port(), '8091', 'Gateway internal port; 0 picks a free port (logged). Gateways sharing a host each need their own.'),
  GATEWAY_ID: v(optStr(), '', 'Unique gateway id; empty derives one from host and pid.'),
  ALLOWED_ORIGINS: v(
    list(),
    '*',
    "Comma-separated Origin allowlist for browsers, on gateways (WebSocket upgrade) and chat-service's REST API (CORS: other origins get 403 4011); * allows any. Requests without Origin (native clients) are allowed.",
  ),
  CORS_MAX_AGE_SECONDS: v(int(0, 86_400), '600', "How long a browser may cache chat-service's answer to a CORS preflight (Access-Control-Max-Age)."),
  WEB_CLIENT_HOST: v(str(), '127.0.0.1', 'Listen address of the browser chat client (a static server: the page, its modules and /config.json).'),
  WEB_CLIENT_PORT: v(port(), '8088', 'Port of the browser chat client.'),
  WEB_CLIENT_GATEWAY_URLS: v(
    urls(['ws:', 'wss:']),
    'ws://127.0.0.1:8081/ws',
    'Gateway WebSocket URLs the browser client offers, comma-separated; the first is preselected and a reconnect moves on to the next.',
  ),
  WEB_CLIENT_API_URL: v(
    url(['http:', 'https:']),
    'http://127.0.0.1:8080',
    "chat-service's public REST base URL the browser client calls (its origin must pass ALLOWED_ORIGINS).",
  ),
  WEB_CLIENT_DEV_TOKENS: v(
    bool(),
    'false',
    'Serve POST /dev/token (a development token for any user id, signed with JWT_HS256_SECRET) so the client can sign in as anyone; refused when NODE_ENV=production.',
    'true',
  ),
  MAX_CONNECTIONS_PER_USER: v(int(1, 1000), '10', 'Concurrent connections one user may hold across all gateways.'),
  MAX_FRAME_BYTES: v(int(256, 16 * 1024 * 1024), '65536', 'Largest WebSocket frame accepted from a client.'),
  MAX_BODY_BYTES: v(
    int(1, 128 * 1024),
    '16384',
    'Largest message body (UTF-8 bytes); at most 131072, so that a message record (its body JSON-escaped) always fits one Kafka produce request.',
  ),
  WS_MAX_BACKPRESSURE_BYTES: v(int(1024, 256 * 1024 * 1024), '1048576', 'Per-socket send buffer before the slow client is closed.'),
  WS_IDLE_TIMEOUT_SECONDS: v(int(8, 960), '60', 'Idle timeout; the gateway pings automatically before it.'),
  SESSION_TTL_SECONDS: v(int(5, 3600), '60', 'TTL of a connection entry in the Redis routing table.'),
  ROUTE_CACHE_MS: v(
    int(0, 3_600_000),
    '60000',
    "How long chat-service (deliveries, receipts) and presence-service (typing) keep a user's gateways without an invalidation (gateways announce every connect and disconnect; a lost announcement is outlived by this); at most 500,000 users are kept per process. 0 reads every recipient's route every time.",
  ),
  SESSION_REFRESH_SECONDS: v(
    int(1, 3600),
    '20',
    "How often a gateway refreshes each connection's TTL and reports each local user present (the heartbeat); a slice of them goes each second.",
  ),
  DRAIN_TIMEOUT_MS: v(int(0, 600_000), '5000', 'Time a draining gateway gives clients before closing them.'),
  DELIVERY_DIGEST_INTERVAL_MS: v(
    int(0, 3_600_000),
    '30000',
    'How often a gateway sends each connection the latest seqs of the conversations it used recently, so a lost real-time message is noticed (a slice of the connections each second); 0 disables.',
  ),

  PRESENCE_HTTP_HOST: v(str(), '127.0.0.1', 'presence-service listen address (internal API for gateways).'),
  PRESENCE_HTTP_PORT: v(port(), '8083', 'presence-service internal API port.'),
  PRESENCE_SERVICE_URL: v(
    optUrls(['http:', 'https:']),
    'http://127.0.0.1:8083',
    'Where gateways reach presence-service: one URL per instance, comma-separated (the same list, in any order, on every gateway); empty disables presence and typing on the gateway.',
  ),
  PRESENCE_TTL_SECONDS: v(int(2, 3600), '60', "TTL of a gateway's presence report for a user; must exceed SESSION_REFRESH_SECONDS (the heartbeat interval)."),
  PRESENCE_SWEEP_INTERVAL_MS: v(
    int(100, 600_000),
    '1000',
    'How often each presence-service instance sweeps users whose TTL lapsed or whose offline grace ended (instances interleave). Offline bound after a crash: PRESENCE_TTL_SECONDS + this.',
  ),
  PRESENCE_OFFLINE_GRACE_MS: v(
    int(0, 600_000),
    '3000',
    'A user whose last device disconnected is reported offline after this grace (a reconnect within it emits nothing).',
  ),
  PRESENCE_FLUSH_MS: v(int(10, 60_000), '1000', 'Gateway coalescing window: at most one presence frame per subscriber per window.'),
  PRESENCE_MEMBERSHIP_CACHE_MS: v(int(0, 600_000), '10000', 'How long presence-service caches conversation membership read from Cassandra.'),
  TYPING_TTL_MS: v(int(500, 60_000), '3000', 'A typing indicator expires this long after its last refresh (G6).'),
  TYPING_THROTTLE_MS: v(int(0, 60_000), '1000', 'At most one relayed typing start per user and conversation per this interval.'),
  TYPING_MAX_TYPISTS: v(int(1, 1000), '5', 'At most this many concurrent typists are relayed per conversation (large groups).'),

  // Abuse protection. A limit is "<points>/<seconds>s" (fixed windows); exceeding one gets 4100
  // rate_limited with retry_after_ms (HTTP 429 + Retry-After). Defaults sit far above what a person
  // or device does and above the benchmarks' per-user and per-address rates (docs/OPERATIONS.md).
  RATE_UPGRADES_PER_ADDRESS: v(
    rate(),
    '5000/10s',
    'WebSocket upgrades per source address (IPv6: per /64), all gateways together; over it the upgrade gets HTTP 429.',
  ),
  RATE_FRAMES_PER_CONNECTION: v(
    rate(),
    '600/10s',
    "Client frames per connection, counted in the gateway's memory (refused ones too); at twice the limit in one window the connection is closed with 4502.",
  ),
  RATE_SENDS_PER_USER: v(rate(), '500/10s', 'send frames per user, all gateways together (decided in memory, reported to Redis every second).'),
  RATE_PRESENCE_IDS_PER_USER: v(rate(), '5000/60s', 'User ids named in presence.sub frames per user, all gateways together.'),
  RATE_REST_PER_ADDRESS: v(rate(), '2000/10s', 'Public REST requests per source address (IPv6: per /64), all chat-service processes together.'),
  RATE_REST_PER_USER: v(rate(), '300/10s', 'Public REST requests per user (token subject), all chat-service processes together.'),
  RATE_CONVERSATIONS_PER_USER: v(rate(), '100/3600s', 'Conversations (direct or group) one user may create per window.'),
  RATE_MEMBER_WRITES_PER_USER: v(
    rate(),
    '20000/3600s',
    'Member entries one user may write per window: a new group costs its member count, adding members the number added, a direct conversation 2.',
  ),
  SYNC_CONCURRENCY: v(int(1, 256), '16', 'Conversations of one sync request checked or read from Cassandra at once.'),
  CONVERSATION_MISS_CACHE_MS: v(
    int(0, 600_000),
    '10000',
    'How long chat-service remembers that a conversation id does not exist (creating it clears the entry everywhere).',
  ),

  JWT_ISSUER: v(str(), 'chat-dev', 'Required `iss` claim.'),
  JWT_AUDIENCE: v(str(), 'chat', 'Required `aud` claim.'),
  JWT_HS256_SECRET: v(
    optStr(),
    '',
    'HS256 secret (development). Empty disables HS256. In production, when set, at least 32 bytes and not the development value.',
  ),
  JWT_PUBLIC_KEYS_FILE: v(optStr(), '', 'JSON file {"keys":[{"kid","alg":"RS256"|"ES256","pem"}]} for production tokens.'),
  JWT_JWKS_URL: v(
    optStr(),
    '',
    "The identity provider's JWKS URL (http or https): RS256/ES256 keys fetched at start, every JWT_JWKS_REFRESH_SECONDS and when a token names an unknown kid (at most once per JWT_JWKS_UNKNOWN_KID_COOLDOWN_MS), cached by issuer and kid; rotation needs no restart. Empty: none.",
  ),
  JWT_JWKS_REFRESH_SECONDS: v(int(10, 86_400), '600', 'How often the JWKS document is fetched again.'),
  JWT_JWKS_UNKNOWN_KID_COOLDOWN_MS: v(
    int(0, 3_600_000),
    '30000',
    'A token naming a kid the JWKS cache lacks refetches the document at most once per this interval (forged kids cannot make the process hammer the provider).',
  ),

  WORKER_ID: v(int(-1, 1023), '-1', 'Snowflake worker id 0-1023; -1 allocates one from Redis at start.'),
  MAX_GROUP_MEMBERS: v(int(2, 1_000_000), '10000', 'Largest allowed conversation.'),
  HISTORY_MAX_LIMIT: v(int(1, 1000), '100', 'Largest page a history request may ask for.'),
  RESUME_MAX_MESSAGES: v(int(1, 100_000), '1000', 'Missed messages served on resume before answering "resync".'),
  SEND_DEADLINE_MS: v(
    int(100, 120_000),
    '5000',
    'Every send is answered within this long after the gateway received it (ack, or 4101 "retry with the same client_msg_id"); a send not handed to Kafka by then is never produced.',
  ),
  SEND_QUEUE_MAX_MESSAGES: v(int(1, 1_000_000), '10000', 'chat-service: sends waiting to be handed to Kafka before new ones are refused with 4101.'),
  SEND_QUEUE_MAX_BYTES: v(
    int(1024, 1024 * 1024 * 1024),
    '16777216',
    'chat-service: bytes (key + record) waiting to be handed to Kafka before new sends are refused with 4101.',
  ),
  GATEWAY_SEND_QUEUE_MAX_BYTES: v(
    int(1024, 1024 * 1024 * 1024),
    '8388608',
    'Gateway: bytes of sends waiting for or travelling to chat-service before new sends are refused with 4101.',
  ),
  GATEWAY_SYNC_BATCHES_IN_FLIGHT: v(
    int(1, 64),
    '4',
    'Gateway: sync batches (up to 64 syncs each) out to chat-service at once; later syncs wait in arrival order, their HTTP timeout not yet running.',
  ),
  GATEWAY_SYNC_QUEUE_TIMEOUT_MS: v(
    int(100, 600_000),
    '30000',
    'Gateway: longest a sync waits to be sent before it is refused with 4101 (retry); at most 20,000 wait at once.',
  ),
  BREAKER_FAILURE_THRESHOLD: v(
    int(1, 1000),
    '5',
    'Consecutive infrastructure failures of one dependency (Kafka, Redis, Cassandra) that open its circuit: requests needing it get 4101 at once.',
  ),
  BREAKER_SLOW_CALL_MS: v(
    int(10, 600_000),
    '2000',
    'A call to Redis or Cassandra still running after this long, with no call to that dependency completed since it started, counts as a failure for its circuit breaker (a hung dependency fails slowly; a busy one is not hung).',
  ),
  BREAKER_COOLDOWN_MS: v(int(10, 600_000), '2000', 'How long an open circuit refuses before one probe request may try the dependency again.'),
  SEQUENCER_STATE_MAX_BYTES: v(
    int(1024 * 1024, 16 * 1024 * 1024 * 1024),
    '67108864',
    "Approximate heap budget of the sequencer's per-conversation state, half for last seqs (least recently used conversations are dropped and re-read from Cassandra), half for recently stored message ids (a fast path, dropped first).",
  ),
  MEMBERSHIP_CACHE_MAX_BYTES: v(
    int(1024 * 1024, 16 * 1024 * 1024 * 1024),
    '67108864',
    "Approximate heap budget of chat-service's conversation/member cache (least recently used evicted; a conversation larger than a quarter of it is not cached).",
  ),
  CONSUMER_MAX_RETRIES: v(int(0, 100), '5', 'Attempts per chunk of records before the consumer hands the partition back to Kafka (records are never skipped).'),
  NOTIFIER_GROUP_ID: v(str(), 'chat-notifier', 'Kafka consumer group of the notifiers on KAFKA_TOPIC_SEQUENCED.'),
  NOTIFIER_DLQ_TOPIC: v(str(), 'chat.notifications.dlq', 'Where the notifier puts a push that still fails after FCM_MAX_ATTEMPTS (the notifier creates it).'),
  NOTIFIER_INTERNAL_HOST: v(str(), '127.0.0.1', 'Notifier internal listen address: /healthz and /metrics. Never expose it publicly.'),
  NOTIFIER_INTERNAL_PORT: v(port(), '8086', 'Notifier internal port; 0 picks a free port.'),
  NOTIFIER_CLAIM_LEASE_MS: v(
    int(1000, 3_600_000),
    '120000',
    'A due window or retry a notifier claimed is claimed again by another after this long when it was not settled (the notifier died). Keep it above the longest push: firebase-admin waits 15 s per request and repeats timeouts, resets and 503s up to 4 times (about 85 s).',
  ),
  NOTIFY_COLLAPSE_WINDOW_MS: v(
    int(0, 3_600_000),
    '3000',
    'Messages of one conversation to one offline user within this long after the first become one push ("3 new messages").',
  ),
  NOTIFY_ONLINE_GRACE_MS: v(
    int(0, 3_600_000),
    '5000',
    'Grace period of online devices: a recipient with a device online (a live WebSocket connection in the routing registry) gets this long from the first message of a collapse window to read it on any device; unread after that, it is pushed. Offline recipients are pushed after NOTIFY_COLLAPSE_WINDOW_MS.',
  ),
  NOTIFY_LARGE_GROUP_MEMBERS: v(
    int(2, 1_000_000),
    '50',
    'Conversations with more members than this are large groups: their pushes to a user are collapsed over NOTIFY_LARGE_GROUP_WINDOW_MS.',
  ),
  NOTIFY_LARGE_GROUP_WINDOW_MS: v(int(0, 86_400_000), '300000', 'Collapse window of large groups: at most one push per user and large group per window.'),
  NOTIFY_PREVIEWS: v(bool(), 'false', 'Put the sender and the message text into pushes; off: pushes carry ids and counts only.'),
  FCM_PROJECT_ID: v(optStr(), '', 'Firebase project id; empty (with FCM_CREDENTIALS_FILE) sends to the local fake FCM endpoint instead of FCM.'),
  FCM_CREDENTIALS_FILE: v(optStr(), '', 'Service account JSON file for FCM; set with FCM_PROJECT_ID to push through real FCM.'),
  FCM_LOCAL_ENDPOINT: v(
    optStr(),
    '',
    'host:port of a fake FCM endpoint (127.0.0.0/8 only) used when FCM is not configured; empty: the notifier runs its own, which logs what it would push.',
  ),
  FCM_MAX_ATTEMPTS: v(int(1, 100), '6', 'Attempts of one push to one device (429 and 5xx answers are retried) before it goes to NOTIFIER_DLQ_TOPIC.'),
  FCM_RETRY_BASE_MS: v(
    int(1, 600_000),
    '1000',
    'First retry delay cap; doubles per attempt (full jitter: a random delay up to the cap), at least any Retry-After.',
  ),
  FCM_RETRY_MAX_MS: v(int(1, 3_600_000), '300000', 'Largest retry delay cap.'),
  METRICS_ENABLED: v(bool(), 'true', 'Expose /metrics on each service.'),
  SHUTDOWN_DEADLINE_MS: v(
    int(1000, 600_000),
    '30000',
    'Longest a process may take to stop after SIGTERM (a gateway: after its drain, DRAIN_TIMEOUT_MS); past it, or at a second signal, it exits 1.',
  ),
} as const;

export type EnvName = keyof typeof ENV_TABLE;
export type Config = { [K in EnvName]: ReturnType<(typeof ENV_TABLE)[K]['parse']> };
