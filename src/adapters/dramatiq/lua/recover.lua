-- recover: give the in-flight messages of dead brokers back to their queues.
--
-- KEYS[1] {ns}:__heartbeats__, KEYS[2] {ns}:queues
-- KEYS[3] {ns}:routes:workers (HASH broker -> its route declaration, ADR 0015)
-- ARGV[1] now ms, ARGV[2] heartbeat timeout ms
-- ARGV[3] the key template (keys.py) of an acks set, with <broker> and <queue>
-- ARGV[4] .. ARGV[6] key templates of a queue's list, message hash and doorbell, with <queue>
--
-- Returns how many messages were given back.
--
-- A broker whose heartbeat is older than the timeout is dead (its process was killed or hung).
-- Its acks sets, one per queue in {ns}:queues, hold what it had fetched; each id whose body
-- still exists goes back to the head of its queue, so it runs next; its route declaration goes
-- (its routes stay until no live worker has declared them for the grace period). Replaces
-- Dramatiq's probabilistic maintenance (0.1% of calls, KEYS over the keyspace), which recovers
-- in minutes.
-- Atomic so that two recoverers never requeue the same id twice. Which brokers are dead is
-- known only inside the script, so the caller passes key templates, not keys; the script
-- names no key of its own.
local function fill(template, values)
  return (string.gsub(template, '<([%a_]+)>', values))
end
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1] - ARGV[2])
if #dead == 0 then
  return 0
end
local queues = redis.call('SMEMBERS', KEYS[2])
local recovered = 0
for _, broker in ipairs(dead) do
  for _, queue in ipairs(queues) do
    local acks = fill(ARGV[3], {broker = broker, queue = queue})
    local ids = redis.call('SMEMBERS', acks)
    if #ids > 0 then
      local named = {queue = queue}
      local list, messages, wake = fill(ARGV[4], named), fill(ARGV[5], named), fill(ARGV[6], named)
      for _, id in ipairs(ids) do
        if redis.call('HEXISTS', messages, id) == 1 then
          redis.call('LPUSH', list, id)
          redis.call('RPUSH', wake, '1')
          redis.call('LTRIM', wake, -16, -1)
          recovered = recovered + 1
        end
      end
    end
    redis.call('DEL', acks)
  end
  redis.call('ZREM', KEYS[1], broker)
  if KEYS[3] then
    redis.call('HDEL', KEYS[3], broker)
  end
end
return recovered
