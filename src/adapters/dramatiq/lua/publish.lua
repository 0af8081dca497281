-- publish: accept an event once and enqueue one Dramatiq message per handler.
--
-- KEYS[1]  {ns}:published:{event_id}
-- KEYS[2]  {ns}:status:{event_id}            (written only when tracking)
-- KEYS[3i], [3i+1], [3i+2]  for message i: the queue list {ns}:{queue}, its hash
--          {ns}:{queue}.msgs, its doorbell {ns}:wake:{queue}
-- ARGV[1]  publish token (random per publish call)
-- ARGV[2]  idempotency TTL ms
-- ARGV[3]  track status: '1' or '0'
-- ARGV[4]  now ms
-- ARGV[5]  status TTL ms
-- ARGV[6]  event type
-- ARGV[7]  handler names joined by ','
-- ARGV[5+3i], [6+3i], [7+3i]  for message i: redis message id, Dramatiq JSON body, handler
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
local messages = (#KEYS - 2) / 3
local expected = {'list', 'hash', 'list'}
for k = 3, #KEYS do
  local kind = redis.call('TYPE', KEYS[k])['ok']
  local want = expected[(k - 3) % 3 + 1]
  if kind ~= 'none' and kind ~= want then
    return redis.error_reply('WRONGTYPE ' .. KEYS[k] .. ' holds a ' .. kind .. ', not a ' .. want)
  end
end
local track = ARGV[3] == '1'
local status = {}
if track then
  status = {'_type', ARGV[6], '_published', ARGV[4], '_handlers', ARGV[7]}
end
for i = 1, messages do
  local list, hash, wake = KEYS[3 * i], KEYS[3 * i + 1], KEYS[3 * i + 2]
  local id, body, handler = ARGV[5 + 3 * i], ARGV[6 + 3 * i], ARGV[7 + 3 * i]
  redis.call('HSET', hash, id, body)
  redis.call('RPUSH', list, id)
  -- Wake one idle consumer; the list is only a doorbell, so it is kept short.
  if redis.call('RPUSH', wake, '1') > 16 then
    redis.call('LTRIM', wake, -16, -1)
  end
  if track then
    local n = #status
    status[n + 1], status[n + 2] = handler .. '|s', 'queued'
    status[n + 3], status[n + 4] = handler .. '|u', ARGV[4]
    status[n + 5], status[n + 6] = handler .. '|a', '0'
  end
end
if track then
  redis.call('HSET', KEYS[2], unpack(status))
  redis.call('PEXPIRE', KEYS[2], ARGV[5])
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
