-- move_due: move schedule entries that are due into their handler queues.
--
-- KEYS[1] {ns}:schedule, KEYS[2] {ns}:schedule:items
-- KEYS[3] {ns}:routes:table (read only for an entry whose type had no route when published)
-- ARGV[1] now ms, ARGV[2] at most this many entries, ARGV[3] status TTL ms
-- ARGV[4] the message template (messages.MESSAGE_TEMPLATE): Dramatiq's JSON with <holes>
-- ARGV[5] .. ARGV[8] key templates (keys.py) of a queue's list, message hash, doorbell and
--         stats, with <queue>; ARGV[9] of an event's status, with <event>
-- ARGV[10] the key template of a type's kept unrouted events, with <type>
-- ARGV[11] how long unrouted events are kept, ms
-- ARGV[12] the key template of a type's kept-event cursors, with <type>
-- ARGV[13] how long an entry that cannot be moved waits before it is tried again, ms
--
-- Returns {taken, next due ms, problem, ...}: how many due entries were taken, the due time of
-- the earliest entry left ('' when none is left), so that the mover can sleep until then (ADR
-- 0019), then one line per entry that could not be moved because a key of its queue holds the wrong type: such an entry is put
-- back on the schedule a minute later (ARGV[13] ms), so it neither blocks the entries after
-- it nor is lost (ADR 0018). Keys are checked before the entry's first write; a wrong-typed
-- stats counter or status record is skipped, not refused.
--
-- Why a script: taking an entry and enqueueing its messages must be one step, so that several
-- movers (one per worker process) never enqueue an entry twice, and a mover that dies midway
-- never loses one. An entry is a JSON header line (event id 'e', type 't', published 'p',
-- handlers 'h' as [queue, handler, attempt], new event 'n', track 'k') and the envelope.
-- Which queues it goes to is known only once it is read, so the caller passes templates, not
-- keys: each handler's message is the message template filled with its queue, handler,
-- attempt, event and the envelope, and each key a key template filled with the queue or the
-- event. The script writes no format and no key name of its own. A new event gets its status
-- record now. A delayed event whose type had no route when it was published (header 'u', ADR
-- 0015) is routed now, to the routes its type has in KEYS[3] by then; if still none, it is
-- kept for a later subscriber when its header says so ('r'), as publish_unrouted.lua keeps
-- an immediate one (it was counted as unrouted when published).
-- Why so few calls per entry: a burst of due entries is moved by this script, and Redis
-- runs nothing else meanwhile. Inside a script each redis.call costs more than its command,
-- so what the entries of a call share is written once at the end (each list's RPUSH of the
-- ids moved, each stats counter's decrement, one ZREM and one HDEL of the entries taken), a
-- new event's status record is one HSET, and keys and messages are made by concatenation,
-- not gsub (ADR 0019).
local function fill(template, values)
  return (string.gsub(template, '<([%a_]+)>', values))
end
local routes = nil
local function routes_of(event_type)
  if not routes then
    routes = {}
    local flat = redis.call('HGETALL', KEYS[3])
    for j = 1, #flat, 2 do
      local queue, _, _, _, route_type = string.match(flat[j + 1],
        '^([^|]*)|([^|]*)|([^|]*)|([^|]*)|(.*)$')
      if queue then
        routes[#routes + 1] = {flat[j], queue, route_type}
      end
    end
    table.sort(routes, function(a, b) return a[1] < b[1] end)
  end
  local found = {}
  for _, route in ipairs(routes) do
    if route[3] == event_type then
      found[#found + 1] = {route[2], route[1], 1}
    end
  end
  return found
end
local function usable(key, want)
  local found = redis.call('TYPE', key)['ok']
  return found == 'none' or found == want, found
end
--#include filler
local status_of = filler(ARGV[9], '<event>')
-- The message template split at its holes once per call: every message is then one
-- table.concat of its pieces and values, instead of a gsub over the template.
local pieces, holes = {}, {}
do
  local at = 1
  for before, name, after in string.gmatch(ARGV[4], '()<([%a_]+)>()') do
    pieces[#pieces + 1] = string.sub(ARGV[4], at, before - 1)
    holes[#holes + 1] = name
    at = after
  end
  pieces[#pieces + 1] = string.sub(ARGV[4], at)
end
local function message(values)
  local out = {}
  for i, name in ipairs(holes) do
    out[2 * i - 1] = pieces[i]
    out[2 * i] = values[name]
  end
  out[#out + 1] = pieces[#pieces]
  return table.concat(out)
end
-- A queue's keys, made once per call: its list, message hash, doorbell and stats.
local queue_keys = {}
local function keys_of(queue)
  local found = queue_keys[queue]
  if not found then
    local named = {queue = queue}
    found = {fill(ARGV[5], named), fill(ARGV[6], named), fill(ARGV[7], named),
      fill(ARGV[8], named)}
    queue_keys[queue] = found
  end
  return found
end
-- A queue's keys are checked once per call (this script writes them only with their own
-- types, so an answer holds until it returns): false when usable, else what is wrong.
local queue_problems = {}
local function queue_problem(queue)
  local problem = queue_problems[queue]
  if problem == nil then
    problem = false
    local keys = keys_of(queue)
    for _, pair in ipairs({{keys[1], 'list'}, {keys[2], 'hash'}, {keys[3], 'list'}}) do
      local ok, found = usable(pair[1], pair[2])
      if not ok then
        problem = pair[1] .. ' is a ' .. found .. ', not a ' .. pair[2]
        break
      end
    end
    queue_problems[queue] = problem
  end
  return problem
end
local function blocked(handlers)
  for _, h in ipairs(handlers) do
    local problem = queue_problem(h[1])
    if problem then
      return problem
    end
  end
  return nil
end
local counters_usable = {}
local function counters_of(queue)
  local key = keys_of(queue)[4]
  local ok = counters_usable[key]
  if ok == nil then
    ok = usable(key, 'hash')
    counters_usable[key] = ok
  end
  return ok and key or nil
end
-- Writes shared by the entries of this call, made once at the end, by key in the order
-- first met: the ids pushed on each queue's list (in the order moved), each stats counter's
-- decrement, and the entries taken off the schedule. Doorbell tokens owed per queue are rung
-- once at the end too (as many as one RPUSH per message followed by LTRIM to the last 16
-- would leave).
local pushed, lists = {}, {}
local scheduled, counters_met = {}, {}
local taken = {}
local rings = {}
local rung = {}
-- unpack takes a few thousand values at most: long lists go in chunks.
local function chunked(command, key, values)
  for first = 1, #values, 1000 do
    redis.call(command, key, unpack(values, first, math.min(first + 999, #values)))
  end
end
local now = ARGV[1]
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, ARGV[2])
local result = {#due}
for _, entry in ipairs(due) do
  local item = redis.call('HGET', KEYS[2], entry)
  local problem = nil
  local newline, header = nil, nil
  if item then
    newline = string.find(item, '\n', 1, true)
    header = cjson.decode(string.sub(item, 1, newline - 1))
    if header['u'] ~= 1 then
      problem = blocked(header['h'])
    end
  end
  if problem then
    redis.call('ZADD', KEYS[1], tonumber(now) + tonumber(ARGV[13]), entry)
    result[#result + 1] = 'schedule entry ' .. entry .. ': ' .. problem
    item = nil
  end
  if item then
    local envelope = string.sub(item, newline + 1)
    local event = header['e']
    local status = status_of(event)
    local track = header['k'] == 1
    local new_event = header['n'] == 1
    local unrouted = header['u'] == 1
    local handlers = header['h']
    if unrouted then
      handlers = routes_of(header['t'])
      local problem_now = blocked(handlers)
      if problem_now then
        redis.call('ZADD', KEYS[1], tonumber(now) + tonumber(ARGV[13]), entry)
        result[#result + 1] = 'schedule entry ' .. entry .. ': ' .. problem_now
        handlers = {}
        problem = problem_now
      end
      if not problem and #handlers == 0 and header['r'] == 1 then
        -- Kept as publish_unrouted.lua keeps one: the next sequence number of its type.
        local kept = fill(ARGV[10], {type = header['t']})
        local given = fill(ARGV[12], {type = header['t']})
        local last = redis.call('ZRANGE', kept, -1, -1, 'WITHSCORES')
        if #last == 0 then
          redis.call('DEL', given)
        end
        redis.call('ZADD', kept, (tonumber(last[2]) or 0) + 1,
          event .. '|' .. header['p'] .. '|' .. now .. '\n' .. envelope)
        redis.call('PEXPIRE', kept, ARGV[11])
        if redis.call('EXISTS', given) == 1 then
          redis.call('PEXPIRE', given, ARGV[11])
        end
      end
    end
    -- Whether this entry's status is written: a new event's record is created (one HSET
    -- with its header and every handler's fields), a retry's only updated if it still exists.
    local tracked = track and #handlers > 0 and usable(status, 'hash')
      and (new_event or redis.call('EXISTS', status) == 1)
    local names, fields = {}, {}
    for i, h in ipairs(handlers) do
      local queue, handler, attempt = h[1], h[2], h[3]
      local id = entry .. '.' .. i
      local body = message({queue = queue, handler = handler, envelope = envelope, id = id,
        attempt = attempt, event = event, now = now})
      local keys = keys_of(queue)
      redis.call('HSET', keys[2], id, body)
      local ids = pushed[keys[1]]
      if not ids then
        ids = {}
        pushed[keys[1]] = ids
        lists[#lists + 1] = keys[1]
      end
      ids[#ids + 1] = id
      if not rings[queue] then
        rung[#rung + 1] = queue
        rings[queue] = 0
      end
      rings[queue] = math.min(rings[queue] + 1, 16)
      local counters = not unrouted and counters_of(queue)
      if counters then
        if not scheduled[counters] then
          scheduled[counters] = 0
          counters_met[#counters_met + 1] = counters
        end
        scheduled[counters] = scheduled[counters] - 1
      end
      names[i] = handler
      fields[#fields + 1] = handler .. '|s'
      fields[#fields + 1] = 'queued'
      fields[#fields + 1] = handler .. '|u'
      fields[#fields + 1] = now
      if new_event then
        fields[#fields + 1] = handler .. '|a'
        fields[#fields + 1] = '0'
      end
    end
    if tracked then
      if new_event then
        redis.call('HSET', status, '_type', header['t'], '_published', header['p'], '_due',
          now, '_handlers', table.concat(names, ','), unpack(fields))
        redis.call('PEXPIRE', status, ARGV[3])
      else
        redis.call('HSET', status, unpack(fields))
      end
    end
  end
  if not problem then
    taken[#taken + 1] = entry
  end
end
for _, list in ipairs(lists) do
  chunked('RPUSH', list, pushed[list])
end
for _, counters in ipairs(counters_met) do
  redis.call('HINCRBY', counters, 'scheduled', scheduled[counters])
end
if #taken > 0 then
  chunked('ZREM', KEYS[1], taken)
  chunked('HDEL', KEYS[2], taken)
end
for _, queue in ipairs(rung) do
  local wake = keys_of(queue)[3]
  local tokens = {}
  for t = 1, rings[queue] do
    tokens[t] = '1'
  end
  redis.call('RPUSH', wake, unpack(tokens))
  redis.call('LTRIM', wake, -16, -1)
end
local head = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
table.insert(result, 2, head[2] or '')
return result
