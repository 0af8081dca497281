-- complete: record a handler's success for an event and ack its message, in one step.
--
-- KEYS[1] {ns}:done:{event_id}, KEYS[2] {ns}:__acks__.{broker}.{queue}, KEYS[3] {ns}:{queue}.msgs
-- KEYS[4] {ns}:status:{event_id}, KEYS[5] {ns}:stats:{queue}:{minute}, KEYS[6] {ns}:recent
-- KEYS[7] {ns}:runs:{queue}
-- ARGV[1] handler name, ARGV[2] now ms, ARGV[3] idempotency TTL ms, ARGV[4] redis message id
-- ARGV[5] duration ms, ARGV[6] track '1'/'0', ARGV[7] stats bucket TTL ms
-- ARGV[8] succeeded-status TTL ms, ARGV[9] keep at most this many succeeded statuses
-- ARGV[10] the event_id, ARGV[11] the key template (keys.py) of an event's status, <event>
--
-- Why a script: one round trip instead of three, and the success is never recorded without
-- the ack or the other way round (the consumer's ack that follows only frees its prefetch
-- slot: settlement.py).
-- When every handler of the event has succeeded, its status gets the shorter succeeded
-- retention and joins {ns}:recent, which keeps the newest N: older ones are deleted (their
-- ids are known only here, hence the template: the script names no key of its own).
-- Key types are checked before the first write: a wrong-typed ledger, acks set, message hash
-- or start count is an error reply 'HEXBUS_WRONGTYPE ...' with nothing written (the success
-- cannot be recorded: the settlement dead-letters the message with that reason); a
-- wrong-typed status, stats bucket or {ns}:recent is left as it is, and the rest is written.
local function fill(template, values)
  return (string.gsub(template, '<([%a_]+)>', values))
end
local function usable(key, want)
  local found = redis.call('TYPE', key)['ok']
  return found == 'none' or found == want, found
end
for _, pair in ipairs({{1, 'hash'}, {2, 'set'}, {3, 'hash'}, {7, 'hash'}}) do
  local i, want = pair[1], pair[2]
  local ok, found = usable(KEYS[i], want)
  if not ok then
    return redis.error_reply('HEXBUS_WRONGTYPE ' .. KEYS[i] .. ' is a ' .. found .. ', not a ' .. want)
  end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('SREM', KEYS[2], ARGV[4])
redis.call('HDEL', KEYS[3], ARGV[4])
redis.call('HDEL', KEYS[7], ARGV[4])
if usable(KEYS[5], 'hash') then
  redis.call('HINCRBY', KEYS[5], 'succeeded', 1)
  redis.call('HINCRBY', KEYS[5], 'duration_ms', ARGV[5])
  redis.call('PEXPIRE', KEYS[5], ARGV[7])
end
if ARGV[6] == '1' and redis.call('TYPE', KEYS[4])['ok'] == 'hash' then
  local h = ARGV[1]
  redis.call('HSET', KEYS[4], h .. '|s', 'succeeded', h .. '|u', ARGV[2], h .. '|d', ARGV[5])
  redis.call('HDEL', KEYS[4], h .. '|e', h .. '|n')
  local names = redis.call('HGET', KEYS[4], '_handlers') or ''
  local all = true
  for name in string.gmatch(names, '[^,]+') do
    if redis.call('HGET', KEYS[4], name .. '|s') ~= 'succeeded' then
      all = false
      break
    end
  end
  if all and usable(KEYS[6], 'zset') then
    redis.call('PEXPIRE', KEYS[4], ARGV[8])
    redis.call('ZADD', KEYS[6], ARGV[2], ARGV[10])
    local extra = redis.call('ZCARD', KEYS[6]) - tonumber(ARGV[9])
    if extra > 0 then
      for _, old in ipairs(redis.call('ZRANGE', KEYS[6], 0, extra - 1)) do
        redis.call('DEL', fill(ARGV[11], {event = old}))
      end
      redis.call('ZREMRANGEBYRANK', KEYS[6], 0, extra - 1)
    end
  end
end
return 1
