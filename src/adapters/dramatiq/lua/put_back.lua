-- put_back: return a message that could not be settled to the tail of its queue.
--
-- KEYS[1] {ns}:__acks__.{broker}.{queue}, KEYS[2] {ns}:{queue}.msgs, KEYS[3] {ns}:{queue}
-- KEYS[4] {ns}:wake:{queue}, KEYS[5] {ns}:runs:{queue} (a put back is no worker death)
-- ARGV[1] the redis message id
--
-- Returns 1 when it was put back, 0 when there was nothing to put back (it was settled after
-- all, the reply being what was lost, or recovery returned it meanwhile).
-- Why a script: the id must leave the acks set and enter the queue together, and only if its
-- body still exists, or a crash between the steps could strand or duplicate it. The doorbell
-- wakes an idle consumer.
local function usable(key, want)
  local found = redis.call('TYPE', key)['ok']
  return found == 'none' or found == want, found
end
for _, pair in ipairs({{1, 'set'}, {2, 'hash'}, {3, 'list'}, {4, 'list'}, {5, 'hash'}}) do
  local ok, found = usable(KEYS[pair[1]], pair[2])
  if not ok then
    return redis.error_reply('HEXBUS_WRONGTYPE ' .. KEYS[pair[1]] .. ' is a ' .. found ..
      ', not a ' .. pair[2])
  end
end
redis.call('HDEL', KEYS[5], ARGV[1])
if redis.call('SREM', KEYS[1], ARGV[1]) == 1 and redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then
  redis.call('RPUSH', KEYS[3], ARGV[1])
  redis.call('RPUSH', KEYS[4], '1')
  redis.call('LTRIM', KEYS[4], -16, -1)
  return 1
end
return 0
