import { RedisScript } from '@chat/server/redis';

// Names (RedisKeys): presenceOnline ZSET user → deadline ms (max over the user's live claims; while
// the user is in its offline grace: the grace end); presenceDevices(user) HASH gateway id → deadline
// ms (one claim per gateway); presenceSeen(user) last-seen ms, kept PRESENCE_LAST_SEEN_TTL;
// presenceState(user) what a query reads, written at each transition only ('1' online, without
// TTL: the sweep that ends it always rewrites it; '0:<last seen>' offline, kept like last-seen),
// so a query for many users is one MGET. Channel
// presenceEvents(user) carries the transitions (PUBLISH inside the script, so a state change and its
// event are one atomic step and no two sweepers can publish the same transition). The scripts build
// per-user names as head .. user .. tail from ARGV (RedisKeys.aroundUser): N = names, in order
// devices head, devices tail, seen head, seen tail, events head, events tail, state head, state tail.

/** ARGV[1..8] → the per-user name builders. */
const NAMES = `
local dh, dt, sh, st, eh, et, th, tt = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local function devices(u) return dh .. u .. dt end
local function seenKey(u) return sh .. u .. st end
local function events(u) return eh .. u .. et end
local function stateKey(u) return th .. u .. tt end
`;

/** KEYS[1]=online zset. ARGV: N, gateway, deadline, hashTtlMs, users... */
export const HEARTBEAT = new RedisScript<number>(
  'presenceHeartbeat',
  1,
  `${NAMES}
local z, gw, dl, httl = KEYS[1], ARGV[9], tonumber(ARGV[10]), ARGV[11]
local n = 0
for i = 12, #ARGV do
  local u = ARGV[i]
  local h = devices(u)
  redis.call('HSET', h, gw, dl)
  redis.call('PEXPIRE', h, httl)
  if redis.call('ZADD', z, 'GT', dl, u) == 1 then
    n = n + 1
    redis.call('SET', stateKey(u), '1')
    redis.call('PUBLISH', events(u), cjson.encode({v = 1, user_id = u, online = true}))
  end
end
return n`,
);

/** KEYS[1]=online zset. ARGV: N, gateway, now, graceEnd, seenTtlMs, users... */
export const DISCONNECT = new RedisScript<number>(
  'presenceDisconnect',
  1,
  `${NAMES}
local z, gw, now, graceEnd, sttl = KEYS[1], ARGV[9], tonumber(ARGV[10]), ARGV[11], ARGV[12]
for i = 13, #ARGV do
  local u = ARGV[i]
  local h = devices(u)
  redis.call('HDEL', h, gw)
  local live = false
  for _, d in ipairs(redis.call('HVALS', h)) do
    if tonumber(d) > now then live = true break end
  end
  if not live then
    redis.call('ZADD', z, 'XX', graceEnd, u)
    redis.call('SET', seenKey(u), now, 'PX', sttl)
  end
end
return 0`,
);

/** KEYS[1]=online zset. ARGV: N, now, limit, ttlMs, seenTtlMs. Returns {due users examined, users gone offline}. */
export const SWEEP = new RedisScript<[number, number]>(
  'presenceSweep',
  1,
  `${NAMES}
local z, now, limit, ttl, sttl = KEYS[1], tonumber(ARGV[9]), tonumber(ARGV[10]), tonumber(ARGV[11]), ARGV[12]
local due = redis.call('ZRANGEBYSCORE', z, '-inf', now, 'WITHSCORES', 'LIMIT', 0, limit)
local n = 0
for i = 1, #due, 2 do
  local u, score = due[i], tonumber(due[i + 1])
  local h = devices(u)
  local claims = redis.call('HGETALL', h)
  local maxd = 0
  for j = 1, #claims, 2 do
    local d = tonumber(claims[j + 1])
    if d > now then
      if d > maxd then maxd = d end
    else
      redis.call('HDEL', h, claims[j])
    end
  end
  if maxd > 0 then
    redis.call('ZADD', z, maxd, u)
  else
    redis.call('ZREM', z, u)
    redis.call('DEL', h)
    local sk = seenKey(u)
    local seen = score - ttl
    local stored = tonumber(redis.call('GET', sk))
    if stored and stored > seen then seen = stored end
    if seen > now then seen = now end
    redis.call('SET', sk, string.format('%d', seen), 'PX', sttl)
    redis.call('SET', stateKey(u), '0:' .. string.format('%d', seen), 'PX', sttl)
    redis.call('PUBLISH', events(u), '{"v":1,"user_id":' .. cjson.encode(u) .. ',"online":false,"last_seen":' .. string.format('%d', seen) .. '}')
    n = n + 1
  end
end
return {#due / 2, n}`,
);
