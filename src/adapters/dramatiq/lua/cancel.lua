-- cancel: remove a scheduled event before it is due, and say so in its status.
--
-- KEYS[1] {ns}:schedule, KEYS[2] {ns}:schedule:items, KEYS[3] {ns}:status:{event_id}
-- ARGV[1] the entry id (the event_id), ARGV[2] now ms
-- ARGV[3] the key template (keys.py) of a queue's stats, with <queue>
-- ARGV[4] status TTL ms
-- Returns 1 when it was pending, 0 otherwise (delivered, unknown or already cancelled).
-- Why a script: the answer must be true when given: a mover cannot take the entry between
-- the check and the removal, and its queues' scheduled counts move with it. A tracked event
-- gets a status record saying cancelled (it had none while pending). The entry's queues are
-- known only once it is read, hence the template: the script names no key of its own.
local function fill(template, values)
  return (string.gsub(template, '<([%a_]+)>', values))
end
local item = redis.call('HGET', KEYS[2], ARGV[1])
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then
  return 0
end
redis.call('HDEL', KEYS[2], ARGV[1])
if item then
  local newline = string.find(item, '\n', 1, true)
  local header = cjson.decode(string.sub(item, 1, newline - 1))
  local names = {}
  for i, h in ipairs(header['h']) do
    redis.call('HINCRBY', fill(ARGV[3], {queue = h[1]}), 'scheduled', -1)
    names[i] = h[2]
    if header['k'] == 1 then
      redis.call('HSET', KEYS[3], h[2] .. '|s', 'cancelled', h[2] .. '|u', ARGV[2],
        h[2] .. '|a', '0')
    end
  end
  if header['k'] == 1 then
    redis.call('HSET', KEYS[3], '_type', header['t'], '_published', header['p'],
      '_handlers', table.concat(names, ','))
    redis.call('PEXPIRE', KEYS[3], ARGV[4])
  end
end
return 1
