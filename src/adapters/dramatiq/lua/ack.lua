-- ack: take a message out of flight after its handler was found to have succeeded already.
--
-- KEYS[1] {ns}:__acks__.{broker}.{queue}, KEYS[2] {ns}:{queue}.msgs, KEYS[3] {ns}:runs:{queue}
-- ARGV[1] the redis message id
--
-- Returns 1 when it was in flight here, 0 when it was not (recovered elsewhere meanwhile).
-- Why a script: the body is deleted only if the id was still ours; if recovery gave it back
-- to the queue meanwhile, another worker owns it now and its body must stay. (Dramatiq's own
-- ack does the same; this one is the settlement's, settlement.py.)
local function usable(key, want)
  local found = redis.call('TYPE', key)['ok']
  return found == 'none' or found == want, found
end
for _, pair in ipairs({{1, 'set'}, {2, 'hash'}, {3, 'hash'}}) do
  local ok, found = usable(KEYS[pair[1]], pair[2])
  if not ok then
    return redis.error_reply('HEXBUS_WRONGTYPE ' .. KEYS[pair[1]] .. ' is a ' .. found ..
      ', not a ' .. pair[2])
  end
end
redis.call('HDEL', KEYS[3], ARGV[1])
if redis.call('SREM', KEYS[1], ARGV[1]) == 1 then
  redis.call('HDEL', KEYS[2], ARGV[1])
  return 1
end
return 0
