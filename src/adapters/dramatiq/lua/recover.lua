-- recover: give the in-flight messages of dead brokers back to their queues.
--
-- KEYS[1] {ns}:__heartbeats__, KEYS[2] {ns}:queues
-- KEYS[3] {ns}:routes:workers (HASH broker -> its route declaration, ADR 0015)
-- KEYS[4] {ns}:acks:registry (SET of '<broker>|<queue>', one per acks set in use)
-- ARGV[1] now ms, ARGV[2] heartbeat timeout ms
-- ARGV[3] the key template (keys.py) of an acks set, with <broker> and <queue>
-- ARGV[4] .. ARGV[6] key templates of a queue's list, message hash and doorbell, with <queue>
--
-- Returns {recovered, problem, problem, ...}: how many messages were given back, then one line
-- per acks set that could not be (a key of its queue holds the wrong type): it stays, and
-- is tried again next time, while every other broker and queue is recovered (ADR 0017).
--
-- A broker is dead when its heartbeat is older than the timeout, or gone (a worker that
-- stopped cleanly removes it, and one whose messages a lost reply stranded may have). Every
-- acks set in use is in the registry (fetch.lua adds it), so a dead broker's sets are found
-- whatever became of its heartbeat; the sets of brokers in the heartbeats but not in the
-- registry (written before it existed) are entered first. Each id whose body still exists
-- goes back to the head of its queue, so it runs next; the dead broker's heartbeat and route
-- declaration go (its routes stay until no live worker has declared them for the grace
-- period). Replaces Dramatiq's probabilistic maintenance (0.1% of calls, KEYS over the
-- keyspace), which recovers in minutes.
-- Atomic so that two recoverers never requeue the same id twice. Which brokers are dead is
-- known only inside the script, so the caller passes key templates, not keys; the script
-- names no key of its own. Every key's type is checked before it is written.
local function fill(template, values)
  return (string.gsub(template, '<([%a_]+)>', values))
end
local function type_of(key)
  return redis.call('TYPE', key)['ok']
end
local function holds(key, want)
  local found = type_of(key)
  return found == 'none' or found == want, found
end
local globals = {{KEYS[1], 'zset'}, {KEYS[2], 'set'}, {KEYS[3], 'hash'}, {KEYS[4], 'set'}}
for _, pair in ipairs(globals) do
  local ok, found = holds(pair[1], pair[2])
  if not ok then
    return {0, pair[1] .. ' is a ' .. found .. ', not a ' .. pair[2] .. ': recovery is off'}
  end
end
local horizon = tonumber(ARGV[1]) - tonumber(ARGV[2])
local dead_brokers = {}
for _, broker in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', horizon)) do
  dead_brokers[broker] = true
  for _, queue in ipairs(redis.call('SMEMBERS', KEYS[2])) do
    if redis.call('EXISTS', fill(ARGV[3], {broker = broker, queue = queue})) == 1 then
      redis.call('SADD', KEYS[4], broker .. '|' .. queue)
    end
  end
end
local recovered = 0
local result = {0}
for _, member in ipairs(redis.call('SMEMBERS', KEYS[4])) do
  local broker, queue = string.match(member, '^(.*)|([^|]*)$')
  local beat = broker and redis.call('ZSCORE', KEYS[1], broker)
  if not broker then
    redis.call('SREM', KEYS[4], member)
  elseif not beat or tonumber(beat) <= horizon then
    dead_brokers[broker] = true
    local named = {queue = queue}
    local acks = fill(ARGV[3], {broker = broker, queue = queue})
    local keys = {{acks, 'set'}, {fill(ARGV[4], named), 'list'}, {fill(ARGV[5], named), 'hash'},
      {fill(ARGV[6], named), 'list'}}
    local problem = nil
    for _, pair in ipairs(keys) do
      local ok, found = holds(pair[1], pair[2])
      if not ok then
        problem = pair[1] .. ' is a ' .. found .. ', not a ' .. pair[2]
        break
      end
    end
    if problem then
      result[#result + 1] = member .. ': ' .. problem
    else
      local list, messages, wake = keys[2][1], keys[3][1], keys[4][1]
      local back = 0
      for _, id in ipairs(redis.call('SMEMBERS', acks)) do
        if redis.call('HEXISTS', messages, id) == 1 then
          redis.call('LPUSH', list, id)
          back = back + 1
        end
      end
      if back > 0 then
        redis.call('RPUSH', wake, '1')
        redis.call('LTRIM', wake, -16, -1)
      end
      recovered = recovered + back
      redis.call('DEL', acks)
      redis.call('SREM', KEYS[4], member)
    end
  end
end
for broker, _ in pairs(dead_brokers) do
  redis.call('ZREM', KEYS[1], broker)
  redis.call('HDEL', KEYS[3], broker)
end
result[1] = recovered
return result
