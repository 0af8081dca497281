-- reseal: replace one stored event with the same event sealed by the newest key, only if it
-- is still what was read (hexbus keys rotate, ADR 0016).
--
-- KEYS[1] where it is stored: a HASH ({ns}:{queue}.msgs, {ns}:schedule:items or
--         {ns}:dead:items) or the ZSET of kept unrouted events ({ns}:unrouted:kept:{type})
-- ARGV[1] its field in the hash ('' for the ZSET, whose members are the values themselves)
-- ARGV[2] the value that was read, ARGV[3] the value to write
--
-- Why a script: a worker may take, settle or requeue the message between the read and the
-- write, and a declaration may hand a kept event out or trim it; comparing and writing in one
-- step never resurrects a settled message, never brings back a trimmed kept event and never
-- overwrites a newer body. A kept event keeps its score (its sequence number), so a handler's
-- cursor still sees it exactly once. Returns 1 when written, 0 when the value had changed or
-- gone (a later pass reads it afresh).
local kind = redis.call('TYPE', KEYS[1])['ok']
if kind == 'hash' then
  if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
    redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
    return 1
  end
  return 0
end
if kind == 'zset' then
  local score = redis.call('ZSCORE', KEYS[1], ARGV[2])
  if score then
    -- Add before removing: the set is never empty in between, so it keeps its expiry.
    redis.call('ZADD', KEYS[1], score, ARGV[3])
    redis.call('ZREM', KEYS[1], ARGV[2])
    return 1
  end
  return 0
end
return 0
