-- complete: record handlers' successes and ack their messages, each in one step; one call
-- records every success the worker's threads reported while the previous call ran (ADR 0019).
--
-- Per success i (0-based), KEYS[7i+1..7i+7]:
--   {ns}:done:{event_id}, {ns}:__acks__.{broker}.{queue}, {ns}:{queue}.msgs,
--   {ns}:status:{event_id}, {ns}:stats:{queue}:{minute}, {ns}:recent, {ns}:runs:{queue}
-- and ARGV[11i+1..11i+11]:
--   handler name, now ms, idempotency TTL ms, redis message id, duration ms, track '1'/'0',
--   stats bucket TTL ms, succeeded-status TTL ms, keep at most this many succeeded statuses,
--   the event_id, the key template (keys.py) of an event's status, <event>
--
-- Returns one answer per success, in order: 1 when recorded, or the text
-- 'HEXBUS_WRONGTYPE <key> is a <type>, not a <type>' with nothing of that success written: a
-- wrong-typed ledger, acks set, message hash or start count means the success cannot be
-- recorded (the settlement dead-letters that message with the reason); the others are
-- recorded all the same. A wrong-typed status, stats bucket or {ns}:recent is left as it is,
-- and the rest of that success is written.
-- Why a script: the success is never recorded without the ack or the other way round (the
-- consumer's ack that follows only frees its prefetch slot: settlement.py); and one call for
-- many successes is one round trip and one trim of {ns}:recent instead of one each.
-- When every handler of an event has succeeded, its status gets the shorter succeeded
-- retention and joins {ns}:recent, which keeps the newest N: older ones are deleted (their
-- ids are known only here, hence the template: the script names no key of its own).
local function fill(template, values)
  return (string.gsub(template, '<([%a_]+)>', values))
end
local types = {}
local function usable(key, want)
  local found = types[key]
  if not found then
    found = redis.call('TYPE', key)['ok']
  end
  if found == 'none' or found == want then
    types[key] = want
    return true, found
  end
  types[key] = found
  return false, found
end
local answers = {}
local trim = nil
for i = 0, #KEYS / 7 - 1 do
  local k, a = 7 * i, 11 * i
  local refused = nil
  for _, pair in ipairs({{1, 'hash'}, {2, 'set'}, {3, 'hash'}, {7, 'hash'}}) do
    local key, want = KEYS[k + pair[1]], pair[2]
    local ok, found = usable(key, want)
    if not ok then
      refused = 'HEXBUS_WRONGTYPE ' .. key .. ' is a ' .. found .. ', not a ' .. want
      break
    end
  end
  if refused then
    answers[i + 1] = refused
  else
    local handler, now, redis_id, duration = ARGV[a + 1], ARGV[a + 2], ARGV[a + 4], ARGV[a + 5]
    redis.call('HSET', KEYS[k + 1], handler, now)
    redis.call('PEXPIRE', KEYS[k + 1], ARGV[a + 3])
    redis.call('SREM', KEYS[k + 2], redis_id)
    redis.call('HDEL', KEYS[k + 3], redis_id)
    redis.call('HDEL', KEYS[k + 7], redis_id)
    if usable(KEYS[k + 5], 'hash') then
      redis.call('HINCRBY', KEYS[k + 5], 'succeeded', 1)
      redis.call('HINCRBY', KEYS[k + 5], 'duration_ms', duration)
      redis.call('PEXPIRE', KEYS[k + 5], ARGV[a + 7])
    end
    local status = KEYS[k + 4]
    if ARGV[a + 6] == '1' and redis.call('TYPE', status)['ok'] == 'hash' then
      local h = handler
      redis.call('HSET', status, h .. '|s', 'succeeded', h .. '|u', now, h .. '|d', duration)
      redis.call('HDEL', status, h .. '|e', h .. '|n')
      local names = redis.call('HGET', status, '_handlers') or ''
      local all = true
      for name in string.gmatch(names, '[^,]+') do
        if redis.call('HGET', status, name .. '|s') ~= 'succeeded' then
          all = false
          break
        end
      end
      if all and usable(KEYS[k + 6], 'zset') then
        redis.call('PEXPIRE', status, ARGV[a + 8])
        redis.call('ZADD', KEYS[k + 6], now, ARGV[a + 10])
        trim = {KEYS[k + 6], tonumber(ARGV[a + 9]), ARGV[a + 11]}
      end
    end
    answers[i + 1] = 1
  end
end
if trim then
  local recent, keep, template = trim[1], trim[2], trim[3]
  local extra = redis.call('ZCARD', recent) - keep
  if extra > 0 then
    for _, old in ipairs(redis.call('ZRANGE', recent, 0, extra - 1)) do
      redis.call('DEL', fill(template, {event = old}))
    end
    redis.call('ZREMRANGEBYRANK', recent, 0, extra - 1)
  end
end
return answers
