-- rate_limit: take a slot in a sliding-window rate limit, or say how long until one frees.
--
-- KEYS[1] {ns}:rate:{bucket}
-- ARGV[1] now ms, ARGV[2] period ms, ARGV[3] limit, ARGV[4] a unique id for this run
--
-- Returns 0 when a slot was taken, else the ms to wait before one frees.
-- Why a script: counting and taking must be one step across all workers, or two workers
-- both see 9 of 10 used and both run.
local function usable(key, want)
  local found = redis.call('TYPE', key)['ok']
  return found == 'none' or found == want, found
end
for _, pair in ipairs({{1, 'zset'}}) do
  local ok, found = usable(KEYS[pair[1]], pair[2])
  if not ok then
    return redis.error_reply('HEXBUS_WRONGTYPE ' .. KEYS[pair[1]] .. ' is a ' .. found ..
      ', not a ' .. pair[2])
  end
end
local now = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - period)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[3]) then
  redis.call('ZADD', KEYS[1], now, ARGV[4])
  redis.call('PEXPIRE', KEYS[1], period)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local wait = tonumber(oldest[2]) + period - now
if wait < 1 then
  wait = 1
end
return wait
