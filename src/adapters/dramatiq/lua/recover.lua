-- recover: give the in-flight messages of dead brokers back to their queues.
--
-- KEYS[1] {ns}:__heartbeats__, KEYS[2] {ns}:queues
-- ARGV[1] now ms, ARGV[2] heartbeat timeout ms, ARGV[3] the namespace
--
-- Returns how many messages were given back.
--
-- A broker whose heartbeat is older than the timeout is dead (its process was killed or hung).
-- Its acks sets, one per queue in {ns}:queues, hold what it had fetched; each id whose body
-- still exists goes back to the head of its queue, so it runs next. Replaces Dramatiq's
-- probabilistic maintenance (0.1% of calls, KEYS over the keyspace), which recovers in minutes.
-- Atomic so that two recoverers never requeue the same id twice.
local ns = ARGV[3]
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1] - ARGV[2])
local queues = redis.call('SMEMBERS', KEYS[2])
local recovered = 0
for _, broker in ipairs(dead) do
  for _, queue in ipairs(queues) do
    local acks = ns .. ':__acks__.' .. broker .. '.' .. queue
    local ids = redis.call('SMEMBERS', acks)
    for _, id in ipairs(ids) do
      if redis.call('HEXISTS', ns .. ':' .. queue .. '.msgs', id) == 1 then
        redis.call('LPUSH', ns .. ':' .. queue, id)
        redis.call('RPUSH', ns .. ':wake:' .. queue, '1')
        redis.call('LTRIM', ns .. ':wake:' .. queue, -16, -1)
        recovered = recovered + 1
      end
    end
    redis.call('DEL', acks)
  end
  redis.call('ZREM', KEYS[1], broker)
end
return recovered
