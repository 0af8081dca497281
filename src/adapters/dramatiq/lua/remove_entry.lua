-- remove_entry: delete one member of a ZSET and its body in the companion HASH.
-- Used to cancel a scheduled event and to remove a dead letter.
--
-- KEYS[1] the ZSET, KEYS[2] the HASH; ARGV[1] the id
-- Returns 1 when it was there, 0 otherwise. Atomic so the answer is true when given.
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then
  return 0
end
redis.call('HDEL', KEYS[2], ARGV[1])
return 1
