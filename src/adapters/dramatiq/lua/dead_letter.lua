-- dead_letter: record a dead letter for the message being processed and ack it, in one step;
-- then drop dead letters older than the retention.
--
-- KEYS[1] {ns}:__acks__.{broker}.{queue}, KEYS[2] {ns}:{queue}.msgs
-- KEYS[3] {ns}:dead, KEYS[4] {ns}:dead:items
-- ARGV[1] the current redis message id, ARGV[2] dead letter id, ARGV[3] failed time ms
-- ARGV[4] dead letter JSON, ARGV[5] drop dead letters failed before this time (ms)
--
-- Why a script: the dead letter must exist before the message is acked, or a crash between
-- the two loses it; in one script there is no between.
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[2])
redis.call('HSET', KEYS[4], ARGV[2], ARGV[4])
redis.call('SREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
local stale = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', '(' .. ARGV[5], 'LIMIT', 0, 100)
for _, id in ipairs(stale) do
  redis.call('ZREM', KEYS[3], id)
  redis.call('HDEL', KEYS[4], id)
end
return #stale
