-- requeue_dead: take a dead letter off the list and enqueue a fresh message for its handler.
--
-- KEYS[1] {ns}:dead, KEYS[2] {ns}:dead:items, KEYS[3] {ns}:{queue}, KEYS[4] {ns}:{queue}.msgs
-- KEYS[5] {ns}:wake:{queue}, KEYS[6] {ns}:status:{event} (may be absent)
-- KEYS[7] {ns}:stats:{queue} of the queue the dead letter was counted in
-- ARGV[1] dead letter id, ARGV[2] new redis message id, ARGV[3] new message body
-- ARGV[4] handler ('' when none), ARGV[5] now ms
--
-- Returns 1 when requeued, 0 when the dead letter was gone (retried or removed meanwhile).
-- Why a script: two operators retrying the same dead letter must not both enqueue it, and the
-- dead letter must not vanish without its message being enqueued.
local item = redis.call('HGET', KEYS[2], ARGV[1])
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then
  return 0
end
redis.call('HDEL', KEYS[2], ARGV[1])
if item then
  redis.call('HINCRBY', KEYS[7], 'dead', -1)
end
redis.call('HSET', KEYS[4], ARGV[2], ARGV[3])
redis.call('RPUSH', KEYS[3], ARGV[2])
redis.call('RPUSH', KEYS[5], '1')
redis.call('LTRIM', KEYS[5], -16, -1)
if ARGV[4] ~= '' and redis.call('EXISTS', KEYS[6]) == 1 then
  local h = ARGV[4]
  redis.call('HSET', KEYS[6], h .. '|s', 'queued', h .. '|a', '0', h .. '|u', ARGV[5])
end
return 1
