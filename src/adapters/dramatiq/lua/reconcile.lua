-- reconcile: give back what a consumer's acks set holds that the consumer does not hold.
--
-- KEYS[1] {ns}:__acks__.{broker}.{queue}, KEYS[2] {ns}:{queue}.msgs, KEYS[3] {ns}:{queue}
-- KEYS[4] {ns}:wake:{queue}, KEYS[5] {ns}:runs:{queue}
-- ARGV[1..n] the ids the consumer really has in flight (prefetched or handed to a thread)
--
-- Returns how many ids went back to the head of the queue (the rest, whose bodies are gone,
-- were settled elsewhere and just leave the set). An error reply 'HEXBUS_WRONGTYPE ...' and no
-- write when a key holds the wrong type (the start counts excepted: when that key is of the
-- wrong type, the ids go back with their counts as they are).
-- An id given back has one taken off its start count: fetch.lua started it as it took it (ADR
-- 0019), and no handler of this consumer began, so that start is no worker death. When the
-- fetch had not started it (a message it could not read, one already at its death limit, one
-- whose published key predates ADR 0015), that takes off a death that did happen.
-- Why: a fetch whose move into the acks set was applied but whose reply was lost (a dropped
-- connection, Redis restarted from its AOF) leaves ids that no thread will ever settle, under
-- a broker that is alive and heartbeating, so recovery would never look. The consumer runs
-- this at start and after every reconnect (ADR 0017). Atomic so that an id is never both
-- requeued and kept.
local expected = {'set', 'hash', 'list', 'list'}
for i, want in ipairs(expected) do
  local found = redis.call('TYPE', KEYS[i])['ok']
  if found ~= 'none' and found ~= want then
    return redis.error_reply('HEXBUS_WRONGTYPE ' .. KEYS[i] .. ' is a ' .. found .. ', not a ' .. want)
  end
end
local counts = redis.call('TYPE', KEYS[5])['ok']
counts = counts == 'none' or counts == 'hash'
local held = {}
for _, id in ipairs(ARGV) do
  held[id] = true
end
local returned = 0
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if not held[id] then
    redis.call('SREM', KEYS[1], id)
    if redis.call('HEXISTS', KEYS[2], id) == 1 then
      redis.call('LPUSH', KEYS[3], id)
      returned = returned + 1
      local count = counts and tonumber(redis.call('HGET', KEYS[5], id))
      if count == 1 then
        redis.call('HDEL', KEYS[5], id)
      elseif count and count > 1 then
        redis.call('HINCRBY', KEYS[5], id, -1)
      end
    end
  end
end
if returned > 0 then
  redis.call('RPUSH', KEYS[4], '1')
  redis.call('LTRIM', KEYS[4], -16, -1)
end
return returned
