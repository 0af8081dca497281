-- fetch: take up to n message ids from a queue for one broker, returning ids with bodies.
--
-- KEYS[1] {ns}:{queue}, KEYS[2] {ns}:{queue}.msgs, KEYS[3] {ns}:__acks__.{broker}.{queue}
-- KEYS[4] {ns}:__heartbeats__, KEYS[5] {ns}:paused, KEYS[6] {ns}:acks:registry
-- ARGV[1] n, ARGV[2] broker id, ARGV[3] now ms, ARGV[4] the queue's name
--
-- Returns a flat list id1, body1, id2, body2, ... (a missing body comes back as false); an
-- empty list when the queue is paused (its messages stay where they are). When a key holds
-- the wrong type, an error reply 'HEXBUS_WRONGTYPE <key> is a <type>' and no write at all:
-- ids popped before a failing read would be stranded (ADR 0017).
-- Why our own: Dramatiq's fetch returns bodies without ids, so a body that cannot be decoded
-- cannot be acked or moved and sticks in the acks set. With the id we can dead-letter it.
-- Taking the ids and marking them in flight is one step so a crash cannot lose them; the
-- acks set is entered in the registry in the same step, so recovery can always find it.
local expected = {'list', 'hash', 'set', 'zset', 'set', 'set'}
for i, want in ipairs(expected) do
  local found = redis.call('TYPE', KEYS[i])['ok']
  if found ~= 'none' and found ~= want then
    return redis.error_reply('HEXBUS_WRONGTYPE ' .. KEYS[i] .. ' is a ' .. found .. ', not a ' .. want)
  end
end
redis.call('ZADD', KEYS[4], ARGV[3], ARGV[2])
if redis.call('SISMEMBER', KEYS[5], ARGV[4]) == 1 then
  return {}
end
local ids = redis.call('LPOP', KEYS[1], ARGV[1])
if not ids then
  return {}
end
redis.call('SADD', KEYS[3], unpack(ids))
redis.call('SADD', KEYS[6], ARGV[2] .. '|' .. ARGV[4])
local bodies = redis.call('HMGET', KEYS[2], unpack(ids))
local result = {}
for i, id in ipairs(ids) do
  result[2 * i - 1] = id
  result[2 * i] = bodies[i]
end
return result
