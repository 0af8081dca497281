-- publish_unrouted: accept an event once when no route has its type; count it, and keep it
-- for the handlers that subscribe later (ADR 0015).
--
-- KEYS[1] {ns}:published:{event_id}
-- KEYS[2] {ns}:routes:version, the route table's version
-- KEYS[3] {ns}:unrouted:counts (HASH event type -> events accepted with no route)
-- KEYS[4] {ns}:unrouted:kept:{event type} (ZSET kept event -> its sequence number)
-- KEYS[5] {ns}:unrouted:given:{event type} (HASH handler -> last sequence handed to it)
-- ARGV[1] publish token, ARGV[2] idempotency TTL ms
-- ARGV[3] the published key's value: token|event type|published ms| (no handler yet)
-- ARGV[4] the version of the route table in which the type has no route ('' for none)
-- ARGV[5] the event type
-- ARGV[6] '1' to keep the event (HEXBUS_UNROUTED=keep), '0' to only count it
-- ARGV[7] the kept entry: event id|published ms|kept ms, a newline, the envelope
-- ARGV[8] now ms, ARGV[9] how long kept events are kept (HEXBUS_UNROUTED_RETENTION), ms
-- ARGV[10..14] only when the event names a cause: its caused index (see below)
--
-- Returns 1 when accepted, 0 for a duplicate, -1 when the route table changed since the
-- caller read it (nothing written: the type may have a route now).
--
-- Why a script: as publish.lua, the duplicate check, the check that the type still has no
-- route and the writes are one step, so an event is never kept while a route for its type is
-- being declared. A kept event's score is the next sequence number of its type, and every
-- handler remembers the last one it was given (declare_routes.lua), so each handler whose
-- route appears within the retention gets each kept event once; the sequence restarts only
-- once nothing is kept, and the cursors go with it. Key types are checked before the first
-- write. Kept events past the retention are trimmed from the oldest on every write, and the
-- set expires as a whole once nothing was kept for a retention.
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
-- The index of the events a cause caused (ADR 0024), only when the event names one: the
-- ARGV from 10 are {ns}:caused:{causation id} (an ARGV, like the wake channel, so that
-- the KEYS keep their shape), the member 'event id|type', its score (published ms), the
-- index's TTL ms (the status retention) and how many of the newest it keeps. The index is
-- an aid to the operator, not part of the event: a key of another type skips its write and
-- never fails the publish.
local caused = ARGV[10]
if caused then
  local kind = redis.call('TYPE', caused)['ok']
  if kind ~= 'none' and kind ~= 'zset' then
    caused = nil
  end
end
local expected = {[3] = 'hash', [4] = 'zset', [5] = 'hash'}
for k = 3, 5 do
  local kind = redis.call('TYPE', KEYS[k])['ok']
  if kind ~= 'none' and kind ~= expected[k] then
    return redis.error_reply('WRONGTYPE ' .. KEYS[k] .. ' holds a ' .. kind .. ', not a '
      .. expected[k])
  end
end
redis.call('HINCRBY', KEYS[3], ARGV[5], 1)
if ARGV[6] == '1' then
  local kept, given = KEYS[4], KEYS[5]
  local horizon = tonumber(ARGV[8]) - tonumber(ARGV[9])
  -- Trim what is past the retention, oldest first (a few hundred at most per call).
  for _ = 1, 5 do
    local head = redis.call('ZRANGE', kept, 0, 99)
    local old = {}
    for _, member in ipairs(head) do
      local at = tonumber(string.match(member, '^[^|]*|[^|]*|(%d+)'))
      if not at or at >= horizon then
        break
      end
      old[#old + 1] = member
    end
    if #old > 0 then
      redis.call('ZREM', kept, unpack(old))
    end
    if #old < #head or #head == 0 then
      break
    end
  end
  local last = redis.call('ZRANGE', kept, -1, -1, 'WITHSCORES')
  if #last == 0 then
    redis.call('DEL', given)  -- nothing kept: the sequence starts again, and so do cursors
  end
  redis.call('ZADD', kept, (tonumber(last[2]) or 0) + 1, ARGV[7])
  redis.call('PEXPIRE', kept, ARGV[9])
  if redis.call('EXISTS', given) == 1 then
    redis.call('PEXPIRE', given, ARGV[9])
  end
end
if caused then
  redis.call('ZADD', caused, ARGV[12], ARGV[11])
  redis.call('ZREMRANGEBYRANK', caused, 0, -(tonumber(ARGV[14]) + 1))
  redis.call('PEXPIRE', caused, ARGV[13])
end
redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[2])
return 1
