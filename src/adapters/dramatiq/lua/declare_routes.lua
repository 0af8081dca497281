-- declare_routes: a worker declares the handlers it serves; each route of its types gets the
-- unrouted events kept for the type that it has not had yet (ADR 0015). Run when the worker
-- starts and with every beat.
--
-- KEYS[1] {ns}:routes:table   (HASH handler -> queue|since ms|owner broker|owner started ms|type)
-- KEYS[2] {ns}:routes:version (STRING, a fresh token whenever the table changes)
-- KEYS[3] {ns}:routes:seen    (ZSET handler -> last declared ms)
-- KEYS[4] {ns}:routes:workers (HASH broker -> its declaration, JSON, for `hexbus routes`)
-- KEYS[5] {ns}:__heartbeats__ (ZSET, read: is a route's owner alive?)
-- ARGV[1] this worker's broker id, ARGV[2] when it started (ms), ARGV[3] now ms
-- ARGV[4] heartbeat timeout ms, ARGV[5] a fresh version token, used if the table changes
-- ARGV[6] this worker's declaration (JSON, stored as it is)
-- ARGV[7] how long unrouted events are kept (ms), ARGV[8] at most this many kept events
--         handed out per call
-- ARGV[9] the message template (messages.MESSAGE_TEMPLATE): Dramatiq's JSON with <holes>
-- ARGV[10] .. ARGV[16] key templates (keys.py): a queue's list, message hash and doorbell
--         (<queue>), an event's published key and status (<event>), a type's kept events
--         and their cursors (<type>)
-- ARGV[17..] one triple per handler: name, queue (priority suffix included), event type
--
-- Returns {1 if the table changed else 0, kept events handed out, 1 if more are due else 0}.
--
-- The rule when workers disagree on a handler (a rolling deploy: two versions of one handler
-- with another queue or type): the route is the declaration of its owner, the live worker
-- that started last (ties: the greater broker id). A worker takes a route over when it has
-- none, when it started after the owner, or when the owner's heartbeat is older than the
-- timeout; an older worker's declaration is recorded (KEYS[4]) but changes nothing, and it
-- keeps draining its own queue. The version changes only when a route is added or its queue
-- or type changes, not when only its owner does: publishers cache the table by version.
--
-- Kept events (publish_unrouted.lua) stay for their retention: every route of their type
-- gets those past its cursor (the sequence number of the last one it was given), so the
-- handlers of a deploy's several worker processes all get them, whichever declares first,
-- and a handler whose route comes back after its type had none gets what it missed.
--
-- Why a script: the comparison with the owner and the write, and handing kept events to a
-- route and moving its cursor, must each be one step: two workers declaring at once must
-- agree on one owner, and a kept event must reach each route once, never twice or not at
-- all. Everything is read and every key type checked before the first write; the kept
-- events' queues, published keys and statuses are learned only here, hence templates.
local function fill(template, values)
  return (string.gsub(template, '<([%a_]+)>', values))
end
local function check(key, want)
  local kind = redis.call('TYPE', key)['ok']
  if kind ~= 'none' and kind ~= want then
    error('WRONGTYPE ' .. key .. ' holds a ' .. kind .. ', not a ' .. want)
  end
end
for k, want in ipairs({'hash', 'string', 'zset', 'hash', 'zset'}) do
  check(KEYS[k], want)
end
local broker, started, now = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local horizon = now - tonumber(ARGV[4])
local retention, budget = tonumber(ARGV[7]), tonumber(ARGV[8])

local function parse(record)
  return string.match(record, '^([^|]*)|([^|]*)|([^|]*)|([^|]*)|(.*)$')
end
local function takes_over(owner, owner_started)
  if owner == broker then
    return true
  end
  owner_started = tonumber(owner_started) or 0
  if started ~= owner_started then
    if started > owner_started then
      return true
    end
  elseif broker > owner then
    return true
  end
  local beat = redis.call('ZSCORE', KEYS[5], owner)
  return not beat or tonumber(beat) < horizon
end

-- 1. Read: what changes in the table.
local writes, changed, seen, types, type_order = {}, false, {}, {}, {}
for i = 17, #ARGV, 3 do
  local handler, queue, event_type = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  seen[#seen + 1] = now
  seen[#seen + 1] = handler
  if not types[event_type] then
    types[event_type] = true
    type_order[#type_order + 1] = event_type
  end
  local mine = queue .. '|' .. now .. '|' .. broker .. '|' .. started .. '|' .. event_type
  local current = redis.call('HGET', KEYS[1], handler)
  local queue_now, since, owner, owner_started, type_now
  if current then
    queue_now, since, owner, owner_started, type_now = parse(current)
  end
  if not queue_now then
    writes[#writes + 1] = {handler, mine}
    changed = true
  elseif takes_over(owner, owner_started) then
    if queue_now ~= queue or type_now ~= event_type then
      writes[#writes + 1] = {handler, mine}
      changed = true
    elseif owner ~= broker then
      writes[#writes + 1] = {handler, queue .. '|' .. since .. '|' .. broker .. '|' .. started
        .. '|' .. event_type}
    end
  end
end

-- 2. Read: the kept events each route of this worker's types has not been given yet.
local table_after = nil
local function routes_of(event_type)
  if not table_after then
    table_after = {}
    local flat = redis.call('HGETALL', KEYS[1])
    for j = 1, #flat, 2 do
      table_after[flat[j]] = flat[j + 1]
    end
    for _, write in ipairs(writes) do
      table_after[write[1]] = write[2]
    end
  end
  local found = {}
  for handler, record in pairs(table_after) do
    local queue, _, _, _, route_type = parse(record)
    if queue and route_type == event_type then
      found[#found + 1] = {handler, queue}
    end
  end
  table.sort(found, function(a, b) return a[1] < b[1] end)
  return found
end
local horizon_kept = now - retention
local deliveries, more, published = {}, false, {}
for _, event_type in ipairs(type_order) do
  local kept = fill(ARGV[15], {type = event_type})
  if budget > 0 and redis.call('EXISTS', kept) == 1 then
    local given = fill(ARGV[16], {type = event_type})
    check(kept, 'zset')
    check(given, 'hash')
    for _, target in ipairs(routes_of(event_type)) do
      if budget == 0 then
        more = true
        break
      end
      local handler, queue = target[1], target[2]
      local cursor = tonumber(redis.call('HGET', given, handler)) or 0
      local due = redis.call('ZRANGEBYSCORE', kept, '(' .. cursor, '+inf', 'WITHSCORES',
        'LIMIT', 0, budget)
      if #due > 0 then
        local named = {queue = queue}
        local keys = {fill(ARGV[10], named), fill(ARGV[11], named), fill(ARGV[12], named)}
        check(keys[1], 'list')
        check(keys[2], 'hash')
        check(keys[3], 'list')
        local members = {}
        for d = 1, #due, 2 do
          local member = due[d]
          local event_id = string.match(member, '^([^|]*)|')
          if event_id and not published[event_id] then
            local key = fill(ARGV[13], {event = event_id})
            published[event_id] = {key, redis.call('GET', key)}
          end
          members[#members + 1] = member
        end
        budget = budget - #members
        if budget == 0 then
          more = true
        end
        deliveries[#deliveries + 1] = {given, event_type, handler, queue, keys, members,
          due[#due]}
      end
    end
  end
end

-- 3. Write.
redis.call('HSET', KEYS[4], broker, ARGV[6])
if #seen > 0 then
  redis.call('ZADD', KEYS[3], unpack(seen))
end
for _, write in ipairs(writes) do
  redis.call('HSET', KEYS[1], write[1], write[2])
end
if changed then
  redis.call('SET', KEYS[2], ARGV[5])
end
local handed = 0
for _, delivery in ipairs(deliveries) do
  local given, event_type, handler, queue, keys, members, last = unpack(delivery)
  for _, member in ipairs(members) do
    local newline = string.find(member, '\n', 1, true)
    local event_id, published_ms, kept_ms = string.match(string.sub(member, 1, newline - 1),
      '^([^|]*)|([^|]*)|([^|]*)$')
    if event_id and tonumber(kept_ms) and tonumber(kept_ms) >= horizon_kept then
      local id = event_id .. '.k.' .. handler
      redis.call('HSET', keys[2], id, fill(ARGV[9], {queue = queue, handler = handler,
        envelope = string.sub(member, newline + 1), id = id, attempt = 1, event = event_id,
        now = now}))
      redis.call('RPUSH', keys[1], id)
      if redis.call('RPUSH', keys[3], '1') > 16 then
        redis.call('LTRIM', keys[3], -16, -1)
      end
      -- Its handlers, for its status: the published key names them (start.lua, the
      -- monitor), and a status record already made by another handler learns this one.
      local entry = published[event_id]
      if entry[2] then
        local token, names = string.match(entry[2], '^([^|]*)|.*|([^|]*)$')
        token = token or string.match(entry[2], '^([^|]*)')
        names = names or ''
        if not string.find(',' .. names .. ',', ',' .. handler .. ',', 1, true) then
          names = names == '' and handler or names .. ',' .. handler
        end
        entry[2] = token .. '|' .. event_type .. '|' .. published_ms .. '|' .. names
        redis.call('SET', entry[1], entry[2], 'KEEPTTL')
      end
      local status = fill(ARGV[14], {event = event_id})
      if redis.call('EXISTS', status) == 1 then
        local names = redis.call('HGET', status, '_handlers') or ''
        if not string.find(',' .. names .. ',', ',' .. handler .. ',', 1, true) then
          names = names == '' and handler or names .. ',' .. handler
          redis.call('HSET', status, '_handlers', names, handler .. '|s', 'queued',
            handler .. '|u', now, handler .. '|a', '0')
        end
      end
      handed = handed + 1
    end
  end
  redis.call('HSET', given, handler, last)
  redis.call('PEXPIRE', given, retention)
end
return {changed and 1 or 0, handed, more and 1 or 0}
