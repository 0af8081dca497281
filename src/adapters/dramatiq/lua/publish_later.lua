-- publish_later: accept an event once and hold it until a due time.
--
-- KEYS[1] {ns}:published:{event_id}
-- KEYS[2] {ns}:schedule          (ZSET entry id -> due ms)
-- KEYS[3] {ns}:schedule:items    (HASH entry id -> header line + envelope, see messages.py)
-- ARGV[1] publish token, ARGV[2] idempotency TTL ms
-- ARGV[3] entry id (the event_id, so cancel and reschedule can find it)
-- ARGV[4] due time ms, ARGV[5] the entry, ARGV[6] the namespace
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
local ns = ARGV[6]
local newline = string.find(ARGV[5], '\n', 1, true)
local header = cjson.decode(string.sub(ARGV[5], 1, newline - 1))
redis.call('HSET', KEYS[3], ARGV[3], ARGV[5])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[3])
for _, h in ipairs(header['h']) do
  redis.call('HINCRBY', ns .. ':stats:' .. h[1], 'scheduled', 1)
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
