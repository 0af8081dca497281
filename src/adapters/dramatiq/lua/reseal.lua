-- reseal: replace one stored event with the same event sealed by the newest key, only if it
-- is still what was read (hexbus keys rotate, ADR 0016).
--
-- KEYS[1] the hash holding it ({ns}:{queue}.msgs, {ns}:schedule:items or {ns}:dead:items)
-- ARGV[1] its field, ARGV[2] the value that was read, ARGV[3] the value to write
--
-- Why a script: a worker may take, settle or requeue the message between the read and the
-- write; comparing and writing in one step never resurrects a settled message or overwrites a
-- newer body. Returns 1 when written, 0 when the value had changed or gone (a later pass
-- reads it afresh).
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
  return 1
end
return 0
