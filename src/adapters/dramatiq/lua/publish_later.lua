-- publish_later: accept an event once and hold its handler messages until a due time.
--
-- KEYS[1] {ns}:published:{event_id}
-- KEYS[2] {ns}:schedule          (ZSET entry id -> due ms)
-- KEYS[3] {ns}:schedule:items    (HASH entry id -> JSON list of [queue, id, body, handler, event])
-- KEYS[4] {ns}:status:{event_id}
-- ARGV[1] publish token, ARGV[2] idempotency TTL ms
-- ARGV[3] entry id (the event_id, so cancel and reschedule can find it)
-- ARGV[4] due time ms, ARGV[5] the entry's JSON
-- ARGV[6] track '1'/'0', ARGV[7] now ms, ARGV[8] status TTL ms, ARGV[9] event type
-- ARGV[10] handler names joined by ',', ARGV[11] the namespace
--
-- Returns 1 when accepted, 0 for a duplicate. Atomic for the same reason as publish.lua; the
-- published key is again written last. Each message's queue counts it as scheduled.
local current = redis.call('GET', KEYS[1])
if current then
  if current == ARGV[1] then
    return 1
  end
  return 0
end
local ns = ARGV[11]
local entry = cjson.decode(ARGV[5])
redis.call('HSET', KEYS[3], ARGV[3], ARGV[5])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[3])
for _, message in ipairs(entry) do
  redis.call('HINCRBY', ns .. ':stats:' .. message[1], 'scheduled', 1)
end
if ARGV[6] == '1' then
  redis.call('HSET', KEYS[4], '_type', ARGV[9], '_published', ARGV[7], '_due', ARGV[4],
    '_handlers', ARGV[10])
  for _, message in ipairs(entry) do
    redis.call('HSET', KEYS[4], message[4] .. '|s', 'scheduled', message[4] .. '|u', ARGV[7],
      message[4] .. '|a', '0', message[4] .. '|n', ARGV[4])
  end
  redis.call('PEXPIRE', KEYS[4], ARGV[8])
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
