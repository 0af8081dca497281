-- publish_later: accept an event once and hold it until a due time.
--
-- KEYS[1] {ns}:published:{event_id}
-- KEYS[2] {ns}:schedule          (ZSET entry id -> due ms)
-- KEYS[3] {ns}:schedule:items    (HASH entry id -> header line + envelope, see messages.py)
-- KEYS[4..] {ns}:stats:{queue} of each handler's queue, in the entry's handler order
-- ARGV[1] publish token, ARGV[2] idempotency TTL ms
-- ARGV[3] entry id (the event_id, so cancel and reschedule can find it)
-- ARGV[4] due time ms, ARGV[5] the entry
--
-- Returns 1 when accepted, 0 for a duplicate. Atomic for the same reason as publish.lua; the
-- published key is again written last. Each handler's queue counts it as scheduled. No status
-- record is written while it waits: the entry says all there is, and the mover writes the
-- status when it moves the entry (that keeps a pending event small).
local current = redis.call('GET', KEYS[1])
if current then
  if current == ARGV[1] then
    return 1
  end
  return 0
end
redis.call('HSET', KEYS[3], ARGV[3], ARGV[5])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[3])
for k = 4, #KEYS do
  redis.call('HINCRBY', KEYS[k], 'scheduled', 1)
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
