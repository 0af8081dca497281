-- publish_later: accept an event once and hold it until a due time, for the routes of its
-- type at publish time (ADR 0015: delayed events are routed when published, like the rest;
-- one whose type has no route then is routed when it comes due, by move_due.lua).
--
-- KEYS[1] {ns}:published:{event_id}
-- KEYS[2] {ns}:routes:version, the route table's version
-- KEYS[3] {ns}:schedule          (ZSET entry id -> due ms)
-- KEYS[4] {ns}:schedule:items    (HASH entry id -> header line + envelope, see messages.py)
-- KEYS[5..] {ns}:stats:{queue} of each handler's queue, in the entry's handler order; or,
--         when ARGV[7] names a type (no route has it), KEYS[5] is {ns}:unrouted:counts
-- ARGV[1] publish token, ARGV[2] idempotency TTL ms
-- ARGV[3] entry id (the event_id, so cancel and reschedule can find it)
-- ARGV[4] due time ms, ARGV[5] the entry
-- ARGV[6] the version of the route table the entry's handlers come from ('' for none)
-- ARGV[7] the event type when no route has it (counted as unrouted now), else ''
-- ARGV[8] the movers' wake channel (keys.py): told the due time when this entry becomes the
--         earliest, so that a mover asleep until a later due time wakes for it (ADR 0019)
-- ARGV[9..13] only when the event names a cause: its caused index (see below)
--
-- Returns 1 when accepted, 0 for a duplicate, -1 when the route table changed since the
-- caller read it (nothing written). Atomic for the same reasons as publish.lua; the published
-- key is again written last, and holds the token alone. Each handler's queue counts it as
-- scheduled. No status record is written while it waits: the entry says all there is, and the
-- mover writes the status when it moves the entry (that keeps a pending event small).
local read = redis.call('MGET', KEYS[1], KEYS[2])
local current = read[1]
if current then
  if string.sub(current, 1, string.len(ARGV[1])) == ARGV[1] then
    return 1
  end
  return 0
end
-- MGET answers nil for a key of another type too: a dedup key that exists is the wrong type,
-- and is never overwritten (the event is neither accepted nor half-written).
if redis.call('EXISTS', KEYS[1]) == 1 then
  return redis.error_reply('WRONGTYPE ' .. KEYS[1] .. ' holds a '
    .. redis.call('TYPE', KEYS[1])['ok'] .. ', not a string')
end
if (read[2] or '') ~= ARGV[6] then
  return -1
end
-- The index of the events a cause caused (ADR 0024), only when the event names one: the
-- ARGV from 9 are {ns}:caused:{causation id} (an ARGV, like the wake channel, so that
-- the KEYS keep their shape), the member 'event id|type', its score (published ms), the
-- index's TTL ms (the status retention) and how many of the newest it keeps. The index is
-- an aid to the operator, not part of the event: a key of another type skips its write and
-- never fails the publish.
local caused = ARGV[9]
if caused then
  local kind = redis.call('TYPE', caused)['ok']
  if kind ~= 'none' and kind ~= 'zset' then
    caused = nil
  end
end
-- Every key's type is checked before the first write (Redis does not roll a script back).
for k = 3, #KEYS do
  local want = k == 3 and 'zset' or 'hash'
  local kind = redis.call('TYPE', KEYS[k])['ok']
  if kind ~= 'none' and kind ~= want then
    return redis.error_reply('WRONGTYPE ' .. KEYS[k] .. ' holds a ' .. kind .. ', not a ' .. want)
  end
end
local head = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')
redis.call('HSET', KEYS[4], ARGV[3], ARGV[5])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[3])
if not head[2] or tonumber(ARGV[4]) < tonumber(head[2]) then
  redis.call('PUBLISH', ARGV[8], ARGV[4])
end
if ARGV[7] ~= '' then
  redis.call('HINCRBY', KEYS[5], ARGV[7], 1)
else
  for k = 5, #KEYS do
    redis.call('HINCRBY', KEYS[k], 'scheduled', 1)
  end
end
if caused then
  redis.call('ZADD', caused, ARGV[11], ARGV[10])
  redis.call('ZREMRANGEBYRANK', caused, 0, -(tonumber(ARGV[13]) + 1))
  redis.call('PEXPIRE', caused, ARGV[12])
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
