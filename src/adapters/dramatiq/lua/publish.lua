-- publish: accept an event once and enqueue one Dramatiq message per handler.
--
-- KEYS[1]           {ns}:published:{event_id}
-- KEYS[3i-1], [3i], [3i+1]  for message i: the queue list {ns}:{queue}, its hash
--                   {ns}:{queue}.msgs, its wake-up list {ns}:wake:{queue}
-- ARGV[1]           publish token (random per publish call)
-- ARGV[2]           idempotency TTL in ms
-- ARGV[2i+1], [2i+2] for message i: its redis message id, its Dramatiq JSON body
--
-- Returns 1 when accepted, 0 when the event_id was already accepted.
--
-- Why a script: the duplicate check and the writes must be one step, or two publishers of the
-- same event_id could both pass the check. Redis does not roll a script back when a command in
-- it fails, so every key's type is checked before the first write: a key of the wrong type
-- fails the whole publish with nothing written. The published key is still written last, so
-- even a failure nobody foresaw leaves the event unaccepted (the caller publishes again; any
-- message already written is absorbed by the per-handler success ledger). The token tells a
-- retry whose first reply was lost that it was in fact accepted.
local current = redis.call('GET', KEYS[1])
if current then
  if current == ARGV[1] then
    return 1
  end
  return 0
end
local expected = {'list', 'hash', 'list'}
for k = 2, #KEYS do
  local kind = redis.call('TYPE', KEYS[k])['ok']
  local want = expected[(k - 2) % 3 + 1]
  if kind ~= 'none' and kind ~= want then
    return redis.error_reply('WRONGTYPE ' .. KEYS[k] .. ' holds a ' .. kind .. ', not a ' .. want)
  end
end
for i = 1, (#KEYS - 1) / 3 do
  redis.call('HSET', KEYS[3 * i], ARGV[2 * i + 1], ARGV[2 * i + 2])
  redis.call('RPUSH', KEYS[3 * i - 1], ARGV[2 * i + 1])
  -- Wake one idle consumer; the list is only a doorbell, so it is kept short.
  redis.call('RPUSH', KEYS[3 * i + 1], '1')
  redis.call('LTRIM', KEYS[3 * i + 1], -16, -1)
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
