-- publish: accept an event once and enqueue one Dramatiq message per route of its type.
--
-- KEYS[1]  {ns}:published:{event_id}
-- KEYS[2]  {ns}:routes:version, the route table's version (ADR 0015)
-- KEYS[3i], [3i+1], [3i+2]  for message i: the queue list {ns}:{queue}, its hash
--          {ns}:{queue}.msgs, its doorbell {ns}:wake:{queue}
-- ARGV[1]  publish token (random per publish call)
-- ARGV[2]  idempotency TTL ms
-- ARGV[3]  the published key's value: token|event type|published ms|handler names
-- ARGV[4]  the version of the route table the messages were built from ('' for none)
-- ARGV[2i+3], [2i+4]  for message i: redis message id, Dramatiq JSON body
-- ARGV[2n+5..2n+9]  only when the event names a cause: its caused index (see below)
--
-- Returns 1 when accepted, 0 when the event_id was already accepted, -1 when the route table
-- changed since the caller read it ("stale": nothing written; it reads the table again).
--
-- Why a script: the duplicate check, the route table check and the writes must be one step,
-- or two publishers of the same event_id could both pass the check, or an event could be
-- fanned out from routes a worker has just changed. The duplicate check comes first: a
-- duplicate needs no routes, and the retry of an accepted call whose reply was lost must
-- still answer 1 after the table moved on. Redis does not roll a script back when a command
-- in it fails, so every key's type is checked before the first write: a key of the wrong type
-- fails the whole publish with nothing written. The published key is still written last, so
-- even a failure nobody foresaw leaves the event unaccepted (the caller publishes again; any
-- message already written is absorbed by the per-handler success ledger). Its value starts
-- with the token, which tells a retry whose first reply was lost that it was in fact accepted,
-- and carries the event type, time and handlers, which is all a queued event's status needs:
-- the status record itself is written when a handler starts (start.lua), not on this hot path.
-- One MGET reads the dedup key and the version (one command, not two, on the hot path).
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
if (read[2] or '') ~= ARGV[4] then
  return -1
end
local c = 2 * (#KEYS - 2) / 3 + 5
-- The index of the events a cause caused (ADR 0024), only when the event names one: the
-- ARGV from c are {ns}:caused:{causation id} (an ARGV, like the wake channel, so that
-- the KEYS keep their shape), the member 'event id|type', its score (published ms), the
-- index's TTL ms (the status retention) and how many of the newest it keeps. The index is
-- an aid to the operator, not part of the event: a key of another type skips its write and
-- never fails the publish.
local caused = ARGV[c]
if caused then
  local kind = redis.call('TYPE', caused)['ok']
  if kind ~= 'none' and kind ~= 'zset' then
    caused = nil
  end
end
local expected = {'list', 'hash', 'list'}
for k = 3, #KEYS do
  local kind = redis.call('TYPE', KEYS[k])['ok']
  local want = expected[(k - 3) % 3 + 1]
  if kind ~= 'none' and kind ~= want then
    return redis.error_reply('WRONGTYPE ' .. KEYS[k] .. ' holds a ' .. kind .. ', not a ' .. want)
  end
end
for i = 1, (#KEYS - 2) / 3 do
  local list, hash, wake = KEYS[3 * i], KEYS[3 * i + 1], KEYS[3 * i + 2]
  local id = ARGV[2 * i + 3]
  redis.call('HSET', hash, id, ARGV[2 * i + 4])
  redis.call('RPUSH', list, id)
  -- Wake one idle consumer; the list is only a doorbell, so it is kept short. A full one
  -- (16 tokens: more than the consumers that wait on it) is left as it is: one LLEN, not the
  -- RPUSH and LTRIM of every message once a burst has filled it.
  if redis.call('LLEN', wake) < 16 then
    redis.call('RPUSH', wake, '1')
  end
end
if caused then
  redis.call('ZADD', caused, ARGV[c + 2], ARGV[c + 1])
  redis.call('ZREMRANGEBYRANK', caused, 0, -(tonumber(ARGV[c + 4]) + 1))
  redis.call('PEXPIRE', caused, ARGV[c + 3])
end
redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[2])
return 1
