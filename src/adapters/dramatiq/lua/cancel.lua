-- cancel: remove a scheduled event before it is due, and say so in its status.
--
-- KEYS[1] {ns}:schedule, KEYS[2] {ns}:schedule:items, KEYS[3] {ns}:status:{event_id}
-- ARGV[1] the entry id (the event_id), ARGV[2] now ms, ARGV[3] the namespace
-- Returns 1 when it was pending, 0 otherwise (delivered, unknown or already cancelled).
-- Why a script: the answer must be true when given: a mover cannot take the entry between
-- the check and the removal, and its queues' scheduled counts move with it.
local body = redis.call('HGET', KEYS[2], ARGV[1])
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then
  return 0
end
redis.call('HDEL', KEYS[2], ARGV[1])
if body then
  local exists = redis.call('EXISTS', KEYS[3]) == 1
  for _, message in ipairs(cjson.decode(body)) do
    redis.call('HINCRBY', ARGV[3] .. ':stats:' .. message[1], 'scheduled', -1)
    if exists and message[4] then
      redis.call('HSET', KEYS[3], message[4] .. '|s', 'cancelled', message[4] .. '|u', ARGV[2])
    end
  end
end
return 1
