-- prune_routes: remove routes no live worker declares any more (ADR 0015).
--
-- KEYS[1] {ns}:routes:table (HASH), KEYS[2] {ns}:routes:version (STRING),
-- KEYS[3] {ns}:routes:seen (ZSET handler -> last declared ms)
-- ARGV[1] a horizon ms: the routes last declared before it go (maintenance passes
--         now - HEXBUS_ROUTE_GRACE); ignored when pairs follow
-- ARGV[2] a fresh version token, set when anything goes
-- ARGV[3..] optional pairs: handler, when it was last declared as the caller saw it (ms).
--         `hexbus routes prune` passes the routes it found no live worker declaring; each
--         goes only if no worker declared it since.
--
-- Returns the names of the handlers whose routes were removed.
--
-- Every live worker declares its routes with each heartbeat, so a route not declared since
-- the horizon has had no live declarer for that long. Messages already queued for a removed
-- route stay in their queue. Why a script: choosing the routes and removing them is one step,
-- so a route a worker declares meanwhile is never removed, and the version changes with the
-- table. Key types are checked before the first write.
local stale = {}
if #ARGV > 2 then
  for i = 3, #ARGV, 2 do
    local seen = redis.call('ZSCORE', KEYS[3], ARGV[i])
    if not seen or tonumber(seen) <= tonumber(ARGV[i + 1]) then
      stale[#stale + 1] = ARGV[i]
    end
  end
else
  stale = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', '(' .. ARGV[1])
end
if #stale == 0 then
  return {}
end
for k, want in ipairs({'hash', 'string', 'zset'}) do
  local kind = redis.call('TYPE', KEYS[k])['ok']
  if kind ~= 'none' and kind ~= want then
    return redis.error_reply('WRONGTYPE ' .. KEYS[k] .. ' holds a ' .. kind .. ', not a ' .. want)
  end
end
local removed = {}
for _, handler in ipairs(stale) do
  if redis.call('HDEL', KEYS[1], handler) == 1 then
    removed[#removed + 1] = handler
  end
  redis.call('ZREM', KEYS[3], handler)
end
if #removed > 0 then
  redis.call('SET', KEYS[2], ARGV[2])
end
return removed
