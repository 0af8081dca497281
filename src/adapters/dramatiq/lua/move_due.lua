-- move_due: move schedule entries that are due into their handler queues.
--
-- KEYS[1] {ns}:schedule, KEYS[2] {ns}:schedule:items
-- ARGV[1] now ms, ARGV[2] at most this many entries, ARGV[3] the namespace
-- ARGV[4] status TTL ms
--
-- Returns how many entries were moved.
--
-- Why a script: taking an entry and enqueueing its messages must be one step, so that several
-- movers (one per worker process) never enqueue an entry twice, and a mover that dies midway
-- never loses one. An entry is a JSON header line (event id 'e', type 't', published 'p',
-- handlers 'h' as [queue, handler, attempt], new event 'n', track 'k') and the envelope; the
-- Dramatiq message of each handler is built here (queue and handler names are restricted to
-- characters that need no JSON escaping). Queue, stats and status keys are built here, as
-- Dramatiq's own script builds its keys. A new event gets its status record now.
local ns = ARGV[3]
local now = ARGV[1]
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, ARGV[2])
for _, entry in ipairs(due) do
  local item = redis.call('HGET', KEYS[2], entry)
  if item then
    local newline = string.find(item, '\n', 1, true)
    local header = cjson.decode(string.sub(item, 1, newline - 1))
    local envelope = string.sub(item, newline + 1)
    local event = header['e']
    local status = ns .. ':status:' .. event
    local track = header['k'] == 1
    local names = {}
    for i, h in ipairs(header['h']) do
      local queue, handler, attempt = h[1], h[2], h[3]
      local id = entry .. '.' .. i
      local body = '{"queue_name":"' .. queue .. '","actor_name":"hexbus_deliver","args":["'
        .. handler .. '",' .. envelope .. '],"kwargs":{},"options":{"redis_message_id":"'
        .. id .. '","hexbus_attempt":' .. attempt .. '},"message_id":"' .. event .. '/'
        .. handler .. '","message_timestamp":' .. now .. '}'
      redis.call('HSET', ns .. ':' .. queue .. '.msgs', id, body)
      redis.call('RPUSH', ns .. ':' .. queue, id)
      redis.call('RPUSH', ns .. ':wake:' .. queue, '1')
      redis.call('LTRIM', ns .. ':wake:' .. queue, -16, -1)
      redis.call('HINCRBY', ns .. ':stats:' .. queue, 'scheduled', -1)
      names[i] = handler
      if track and (header['n'] == 1 or redis.call('EXISTS', status) == 1) then
        redis.call('HSET', status, handler .. '|s', 'queued', handler .. '|u', now)
        if header['n'] == 1 then
          redis.call('HSET', status, handler .. '|a', '0')
        end
      end
    end
    if track and header['n'] == 1 then
      redis.call('HSET', status, '_type', header['t'], '_published', header['p'], '_due', now,
        '_handlers', table.concat(names, ','))
      redis.call('PEXPIRE', status, ARGV[4])
    end
  end
  redis.call('ZREM', KEYS[1], entry)
  redis.call('HDEL', KEYS[2], entry)
end
return #due
