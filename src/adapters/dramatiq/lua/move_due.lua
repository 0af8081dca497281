-- move_due: move schedule entries that are due into their handler queues.
--
-- KEYS[1] {ns}:schedule, KEYS[2] {ns}:schedule:items
-- ARGV[1] now ms, ARGV[2] at most this many entries, ARGV[3] status TTL ms
-- ARGV[4] the message template (messages.MESSAGE_TEMPLATE): Dramatiq's JSON with <holes>
-- ARGV[5] .. ARGV[8] key templates (keys.py) of a queue's list, message hash, doorbell and
--         stats, with <queue>; ARGV[9] of an event's status, with <event>
--
-- Returns how many entries were moved.
--
-- Why a script: taking an entry and enqueueing its messages must be one step, so that several
-- movers (one per worker process) never enqueue an entry twice, and a mover that dies midway
-- never loses one. An entry is a JSON header line (event id 'e', type 't', published 'p',
-- handlers 'h' as [queue, handler, attempt], new event 'n', track 'k') and the envelope.
-- Which queues it goes to is known only once it is read, so the caller passes templates, not
-- keys: each handler's message is the message template filled with its queue, handler,
-- attempt, event and the envelope, and each key a key template filled with the queue or the
-- event. The script writes no format and no key name of its own. A new event gets its status
-- record now.
local function fill(template, values)
  return (string.gsub(template, '<([%a_]+)>', values))
end
local now = ARGV[1]
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, ARGV[2])
for _, entry in ipairs(due) do
  local item = redis.call('HGET', KEYS[2], entry)
  if item then
    local newline = string.find(item, '\n', 1, true)
    local header = cjson.decode(string.sub(item, 1, newline - 1))
    local envelope = string.sub(item, newline + 1)
    local event = header['e']
    local status = fill(ARGV[9], {event = event})
    local track = header['k'] == 1
    local names = {}
    for i, h in ipairs(header['h']) do
      local queue, handler, attempt = h[1], h[2], h[3]
      local id = entry .. '.' .. i
      local body = fill(ARGV[4], {queue = queue, handler = handler, envelope = envelope,
        id = id, attempt = attempt, event = event, now = now})
      local named = {queue = queue}
      local wake = fill(ARGV[7], named)
      redis.call('HSET', fill(ARGV[6], named), id, body)
      redis.call('RPUSH', fill(ARGV[5], named), id)
      redis.call('RPUSH', wake, '1')
      redis.call('LTRIM', wake, -16, -1)
      redis.call('HINCRBY', fill(ARGV[8], named), 'scheduled', -1)
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
      redis.call('PEXPIRE', status, ARGV[3])
    end
  end
  redis.call('ZREM', KEYS[1], entry)
  redis.call('HDEL', KEYS[2], entry)
end
return #due
