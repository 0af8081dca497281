-- dead_letter: record a dead letter for the message being processed and ack it, in one step;
-- then drop dead letters older than the retention.
--
-- KEYS[1] {ns}:__acks__.{broker}.{queue}, KEYS[2] {ns}:{queue}.msgs
-- KEYS[3] {ns}:dead, KEYS[4] {ns}:dead:items
-- KEYS[5] {ns}:stats:{queue}, KEYS[6] {ns}:status:{event}, KEYS[7] {ns}:runs:{queue} (optional)
-- ARGV[1] the current redis message id, ARGV[2] dead letter id, ARGV[3] failed time ms
-- ARGV[4] dead letter JSON, ARGV[5] drop dead letters failed before this time (ms)
-- ARGV[6] handler ('' when none), ARGV[7] attempts, ARGV[8] error, ARGV[9] track '1'/'0'
-- ARGV[10] the minute of now (epoch seconds // 60), whose dead (and failures) in the queue's
-- stats it counts, ARGV[11] the key template (keys.py) of a queue's stats, with <queue>,
-- ARGV[12] '1' if it counts as a failure
--
-- Why a script: the dead letter must exist before the message is acked, or a crash between
-- the two loses it; in one script there is no between. Per-queue dead counts move with it;
-- an expired dead letter's queue is known only once it is read, hence the template.
-- Key types are checked before the first write: if the dead letters, the acks set or the
-- message hash hold the wrong type, nothing can be recorded: an error reply
-- 'HEXBUS_WRONGTYPE ...' and no write. A wrong-typed stats counter, status or start count
-- (the very reason a message may be dead) is left as it is, and the dead letter is written.
local function fill(template, values)
  return (string.gsub(template, '<([%a_]+)>', values))
end
local function usable(key, want)
  local found = redis.call('TYPE', key)['ok']
  return found == 'none' or found == want, found
end
for _, pair in ipairs({{1, 'set'}, {2, 'hash'}, {3, 'zset'}, {4, 'hash'}}) do
  local ok, found = usable(KEYS[pair[1]], pair[2])
  if not ok then
    return redis.error_reply('HEXBUS_WRONGTYPE ' .. KEYS[pair[1]] .. ' is a ' .. found ..
      ', not a ' .. pair[2])
  end
end
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[2])
redis.call('HSET', KEYS[4], ARGV[2], ARGV[4])
redis.call('SREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
if KEYS[7] and usable(KEYS[7], 'hash') then
  redis.call('HDEL', KEYS[7], ARGV[1])
end
if usable(KEYS[5], 'hash') then
  redis.call('HINCRBY', KEYS[5], 'dead', 1)
  redis.call('HINCRBY', KEYS[5], ARGV[10] .. ':dead', 1)
  if ARGV[12] == '1' then
    redis.call('HINCRBY', KEYS[5], ARGV[10] .. ':failed', 1)
  end
end
if ARGV[9] == '1' and ARGV[6] ~= '' and redis.call('TYPE', KEYS[6])['ok'] == 'hash' then
  local h = ARGV[6]
  redis.call('HSET', KEYS[6], h .. '|s', 'dead', h .. '|a', ARGV[7], h .. '|e', ARGV[8],
    h .. '|u', ARGV[3])
  redis.call('HDEL', KEYS[6], h .. '|n')
end
local stale = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', '(' .. ARGV[5], 'LIMIT', 0, 100)
for _, id in ipairs(stale) do
  local item = redis.call('HGET', KEYS[4], id)
  if item then
    local queue = cjson.decode(item)['queue']
    local counter = fill(ARGV[11], {queue = queue})
    if usable(counter, 'hash') then
      redis.call('HINCRBY', counter, 'dead', -1)
    end
  end
  redis.call('ZREM', KEYS[3], id)
  redis.call('HDEL', KEYS[4], id)
end
return #stale
