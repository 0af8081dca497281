-- remove_dead: delete one dead letter and un-count it from its queue.
--
-- KEYS[1] {ns}:dead, KEYS[2] {ns}:dead:items; ARGV[1] the id
-- ARGV[2] the key template (keys.py) of a queue's stats, with <queue> (the queue is read here)
-- Returns 1 when it was there, 0 otherwise. Atomic so the answer and the count stay true.
local function fill(template, values)
  return (string.gsub(template, '<([%a_]+)>', values))
end
local item = redis.call('HGET', KEYS[2], ARGV[1])
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then
  return 0
end
redis.call('HDEL', KEYS[2], ARGV[1])
if item then
  redis.call('HINCRBY', fill(ARGV[2], {queue = cjson.decode(item)['queue']}), 'dead', -1)
end
return 1
