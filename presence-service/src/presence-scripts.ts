import { LuaScript } from './lua-script.js';

// Keys (P = prefix):
//   P presence:online            ZSET user → deadline ms (max over the user's live claims; while
//                                 the user is in its offline grace: the grace end)
//   P presence:dev:{user}        HASH gateway id → deadline ms (one claim per gateway)
//   P presence:seen:{user}       last-seen ms, kept PRESENCE_LAST_SEEN_TTL
// Channel P presence:u:<user> carries the transitions (PUBLISH inside the script, so a state
// change and its event are one atomic step and no two sweepers can publish the same transition).

/** KEYS[1]=online zset. ARGV: prefix, gateway, deadline, hashTtlMs, users... */
export const HEARTBEAT = new LuaScript(`
local z, p, gw, dl, httl = KEYS[1], ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local n = 0
for i = 5, #ARGV do
  local u = ARGV[i]
  local h = p .. 'presence:dev:{' .. u .. '}'
  redis.call('HSET', h, gw, dl)
  redis.call('PEXPIRE', h, httl)
  if redis.call('ZADD', z, 'GT', dl, u) == 1 then
    n = n + 1
    redis.call('PUBLISH', p .. 'presence:u:' .. u, cjson.encode({v = 1, user_id = u, online = true}))
  end
end
return n`);

/** KEYS[1]=online zset. ARGV: prefix, gateway, now, graceEnd, seenTtlMs, users... */
export const DISCONNECT = new LuaScript(`
local z, p, gw, now, graceEnd, sttl = KEYS[1], ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5]
for i = 6, #ARGV do
  local u = ARGV[i]
  local h = p .. 'presence:dev:{' .. u .. '}'
  redis.call('HDEL', h, gw)
  local live = false
  for _, d in ipairs(redis.call('HVALS', h)) do
    if tonumber(d) > now then live = true break end
  end
  if not live then
    redis.call('ZADD', z, 'XX', graceEnd, u)
    redis.call('SET', p .. 'presence:seen:{' .. u .. '}', now, 'PX', sttl)
  end
end
return 0`);

/** KEYS[1]=online zset. ARGV: prefix, now, limit, ttlMs, seenTtlMs. Returns {due users examined, users gone offline}. */
export const SWEEP = new LuaScript(`
local z, p, now, limit, ttl, sttl = KEYS[1], ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
local due = redis.call('ZRANGEBYSCORE', z, '-inf', now, 'WITHSCORES', 'LIMIT', 0, limit)
local n = 0
for i = 1, #due, 2 do
  local u, score = due[i], tonumber(due[i + 1])
  local h = p .. 'presence:dev:{' .. u .. '}'
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
    local sk = p .. 'presence:seen:{' .. u .. '}'
    local seen = score - ttl
    local stored = tonumber(redis.call('GET', sk))
    if stored and stored > seen then seen = stored end
    if seen > now then seen = now end
    redis.call('SET', sk, string.format('%d', seen), 'PX', sttl)
    redis.call('PUBLISH', p .. 'presence:u:' .. u, '{"v":1,"user_id":' .. cjson.encode(u) .. ',"online":false,"last_seen":' .. string.format('%d', seen) .. '}')
    n = n + 1
  end
end
return {#due / 2, n}`);
