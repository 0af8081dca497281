-- defer: put the message being processed back on the schedule, and ack it, in one step.
-- Used for a retry after backoff ('retry'), and for a run waiting for a rate-limit slot ('wait').
--
-- KEYS[1] {ns}:__acks__.{broker}.{queue}, KEYS[2] {ns}:{queue}.msgs
-- KEYS[3] {ns}:schedule, KEYS[4] {ns}:schedule:items
-- KEYS[5] {ns}:stats:{queue}, KEYS[6] {ns}:status:{event}, KEYS[7] {ns}:runs:{queue}
-- ARGV[1] the current redis message id, ARGV[2] the schedule entry id
-- ARGV[3] due time ms, ARGV[4] the entry (header line + envelope, one handler; messages.py)
-- ARGV[5] 'retry' or 'wait', ARGV[6] handler, ARGV[7] attempts so far, ARGV[8] last error
-- ARGV[9] now ms, ARGV[10] track '1'/'0', ARGV[11] the minute of now (epoch seconds // 60),
-- whose failures in the queue's stats a retry counts
-- ARGV[12] the movers' wake channel, told the due time when this entry becomes the earliest
--
-- Why a script: Dramatiq's Retries middleware enqueues the retry and then acks, and a failed
-- enqueue still acks, losing the message. Here the retry is written and the original acked
-- together, or neither happens and the message stays in flight for recovery.
-- Key types are checked before the first write (an error reply 'HEXBUS_WRONGTYPE ...' and no
-- write: the settlement dead-letters the message); wrong-typed counters or status are skipped.
local function usable(key, want)
  local found = redis.call('TYPE', key)['ok']
  return found == 'none' or found == want, found
end
for _, pair in ipairs({{1, 'set'}, {2, 'hash'}, {3, 'zset'}, {4, 'hash'}, {7, 'hash'}}) do
  local ok, found = usable(KEYS[pair[1]], pair[2])
  if not ok then
    return redis.error_reply('HEXBUS_WRONGTYPE ' .. KEYS[pair[1]] .. ' is a ' .. found ..
      ', not a ' .. pair[2])
  end
end
local head = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[2])
redis.call('HSET', KEYS[4], ARGV[2], ARGV[4])
if not head[2] or tonumber(ARGV[3]) < tonumber(head[2]) then
  redis.call('PUBLISH', ARGV[12], ARGV[3])
end
redis.call('SREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[7], ARGV[1])
if usable(KEYS[5], 'hash') then
  redis.call('HINCRBY', KEYS[5], 'scheduled', 1)
  if ARGV[5] == 'retry' then
    redis.call('HINCRBY', KEYS[5], ARGV[11] .. ':failed', 1)
  end
end
if ARGV[10] == '1' and redis.call('TYPE', KEYS[6])['ok'] == 'hash' then
  local h = ARGV[6]
  if ARGV[5] == 'retry' then
    redis.call('HSET', KEYS[6], h .. '|s', 'failed', h .. '|a', ARGV[7], h .. '|e', ARGV[8],
      h .. '|u', ARGV[9], h .. '|n', ARGV[3])
  else
    redis.call('HSET', KEYS[6], h .. '|s', 'scheduled', h .. '|u', ARGV[9], h .. '|n', ARGV[3])
  end
end
return 1
