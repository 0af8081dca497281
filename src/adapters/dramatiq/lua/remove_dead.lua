-- remove_dead: delete one dead letter and un-count it from its queue.
--
-- KEYS[1] {ns}:dead, KEYS[2] {ns}:dead:items; ARGV[1] the id, ARGV[2] the namespace
-- Returns 1 when it was there, 0 otherwise. Atomic so the answer and the count stay true.
local item = redis.call('HGET', KEYS[2], ARGV[1])
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then
  return 0
end
redis.call('HDEL', KEYS[2], ARGV[1])
if item then
  redis.call('HINCRBY', ARGV[2] .. ':stats:' .. cjson.decode(item)['queue'], 'dead', -1)
end
return 1
