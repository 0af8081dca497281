-- move_due: move schedule entries that are due into their handler queues.
--
-- KEYS[1] {ns}:schedule, KEYS[2] {ns}:schedule:items
-- ARGV[1] now ms, ARGV[2] at most this many entries, ARGV[3] the namespace
--
-- Returns how many entries were moved.
--
-- Why a script: taking an entry and enqueueing its messages must be one step, so that several
-- movers (one per worker process) never enqueue an entry twice, and a mover that dies midway
-- never loses one. Queue, stats and status keys are built here from the entry, as Dramatiq's
-- own script builds its keys. An entry is a JSON list of [queue, id, body, handler, event_id];
-- the status of a known event moves to queued (an expired status is not brought back).
local ns = ARGV[3]
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
for _, entry in ipairs(due) do
  local body = redis.call('HGET', KEYS[2], entry)
  if body then
    for _, message in ipairs(cjson.decode(body)) do
      local queue, id, payload, handler, event = message[1], message[2], message[3], message[4], message[5]
      redis.call('HSET', ns .. ':' .. queue .. '.msgs', id, payload)
      redis.call('RPUSH', ns .. ':' .. queue, id)
      redis.call('RPUSH', ns .. ':wake:' .. queue, '1')
      redis.call('LTRIM', ns .. ':wake:' .. queue, -16, -1)
      redis.call('HINCRBY', ns .. ':stats:' .. queue, 'scheduled', -1)
      if handler and event then
        local status = ns .. ':status:' .. event
        if redis.call('EXISTS', status) == 1 then
          redis.call('HSET', status, handler .. '|s', 'queued', handler .. '|u', ARGV[1])
        end
      end
    end
  end
  redis.call('ZREM', KEYS[1], entry)
  redis.call('HDEL', KEYS[2], entry)
end
return #due
