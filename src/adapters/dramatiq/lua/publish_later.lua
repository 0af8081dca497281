-- publish_later: accept an event once and hold its handler messages until a due time.
--
-- KEYS[1] {ns}:published:{event_id}
-- KEYS[2] {ns}:schedule          (ZSET entry id -> due ms)
-- KEYS[3] {ns}:schedule:items    (HASH entry id -> JSON list of [queue, id, body])
-- ARGV[1] publish token, ARGV[2] idempotency TTL ms
-- ARGV[3] entry id (the event_id, so cancel and reschedule can find it)
-- ARGV[4] due time ms, ARGV[5] the entry's JSON
--
-- Returns 1 when accepted, 0 for a duplicate. Atomic for the same reason as publish.lua; the
-- published key is again written last.
local current = redis.call('GET', KEYS[1])
if current then
  if current == ARGV[1] then
    return 1
  end
  return 0
end
redis.call('HSET', KEYS[3], ARGV[3], ARGV[5])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[3])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
