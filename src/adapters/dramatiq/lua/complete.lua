-- complete: record handlers' successes and ack their messages, each in one step; one call
-- records every success the worker's threads reported while the previous call ran (ADR 0019).
--
-- ARGV[1..5], for every success: idempotency TTL ms, track '1'/'0', succeeded-status TTL ms,
--   keep at most this many succeeded statuses, the key template (keys.py) of an event's
--   status, <event>.
-- Per success i (0-based), KEYS[7i+1..7i+7]:
--   {ns}:done:{event_id}, {ns}:__acks__.{broker}.{queue}, {ns}:{queue}.msgs,
--   {ns}:status:{event_id}, {ns}:stats:{queue}, {ns}:recent, {ns}:runs:{queue}
-- and ARGV[6i+6..6i+11]:
--   handler name, now ms, redis message id, duration ms, the event_id, the minute of now
--   (epoch seconds // 60: its work is counted in the stats' fields of that minute)
--
-- Returns one answer per success, in order: 1 when recorded, or the text
-- 'HEXBUS_WRONGTYPE <key> is a <type>, not a <type>' with nothing of that success written: a
-- wrong-typed ledger, acks set, message hash or start count means the success cannot be
-- recorded (the settlement dead-letters that message with the reason); the others are
-- recorded all the same. A wrong-typed status, stats or {ns}:recent is left as it is, and
-- the rest of that success is written.
-- Why a script: the success is never recorded without the ack or the other way round (the
-- consumer's ack that follows only frees its prefetch slot: settlement.py); and one call for
-- many successes is one round trip and one trim of {ns}:recent instead of one each.
-- When every handler of an event has succeeded, its status gets the shorter succeeded
-- retention and joins {ns}:recent, which keeps the newest N: older ones are deleted (their
-- ids are known only here, hence the template: the script names no key of its own).
-- Why so few calls: Redis pays for every redis.call more than for the command itself. What
-- the successes of a call share (a queue's acks set, message hash and start counts, a
-- queue's minute in its stats, {ns}:recent) is written once for all of them at the end, with
-- every member; what is an event's own (its ledger, its status) is read and written once
-- each, the ledger's write being its type check. A stats or {ns}:recent write that fails on
-- its type is skipped (pcall): they are the bookkeeping, and nothing else depends on them.
local ttl, track, succeeded_ttl, keep, template =
  ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5]
local function fill(values)
  return (string.gsub(template, '<([%a_]+)>', values))
end
local types = {}
local function usable(key, want)
  local found = types[key]
  if not found then
    found = redis.call('TYPE', key)['ok']
  end
  if found == 'none' or found == want then
    types[key] = want
    return true, found
  end
  types[key] = found
  return false, found
end
local function failed(reply)
  return type(reply) == 'table' and reply['err'] ~= nil
end
local function refusal(key, found, want)
  return 'HEXBUS_WRONGTYPE ' .. key .. ' is a ' .. found .. ', not a ' .. want
end
-- Writes shared by the successes of this call, by key in the order first met: members (the
-- acks set, message hash and start counts lose them), the sums of a queue's minute in its
-- stats, {ns}:recent's members and its trim.
local order, members, buckets, recents = {}, {}, {}, {}
local function shared(key, kind)
  if not members[key] then
    members[key] = {}
    order[#order + 1] = {key, kind}
  end
  return members[key]
end

-- Whether every handler the status names has succeeded, the one just recorded among them.
local function all_succeeded(status, names, handler)
  local others = {}
  for name in string.gmatch(names, '[^,]+') do
    if name ~= handler then
      others[#others + 1] = name .. '|s'
    end
  end
  if #others == 0 then
    return true
  end
  for _, state in ipairs(redis.call('HMGET', status, unpack(others))) do
    if state ~= 'succeeded' then
      return false
    end
  end
  return true
end

local answers = {}
for i = 0, #KEYS / 7 - 1 do
  local k, a = 7 * i, 6 * i + 5
  local refused = nil
  for _, pair in ipairs({{2, 'set'}, {3, 'hash'}, {7, 'hash'}}) do
    local key, want = KEYS[k + pair[1]], pair[2]
    local ok, found = usable(key, want)
    if not ok then
      refused = refusal(key, found, want)
      break
    end
  end
  local handler, now, redis_id, duration = ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4]
  local done = KEYS[k + 1]
  if not refused then
    if failed(redis.pcall('HSET', done, handler, now)) then
      refused = refusal(done, redis.call('TYPE', done)['ok'], 'hash')
    end
  end
  if refused then
    answers[i + 1] = refused
  else
    redis.call('PEXPIRE', done, ttl)
    for _, pair in ipairs({{2, 'SREM'}, {3, 'HDEL'}, {7, 'HDEL'}}) do
      local ids = shared(KEYS[k + pair[1]], pair[2])
      ids[#ids + 1] = redis_id
    end
    local bucket = KEYS[k + 5] .. '\n' .. ARGV[a + 6]
    local sums = buckets[bucket]
    if not sums then
      sums = {0, 0, KEYS[k + 5], ARGV[a + 6]}
      buckets[bucket] = sums
      buckets[#buckets + 1] = bucket
    end
    sums[1] = sums[1] + 1
    sums[2] = sums[2] + tonumber(duration)
    local status = KEYS[k + 4]
    if track == '1' then
      local h = handler
      local record = redis.pcall('HMGET', status, '_type', '_handlers', h .. '|e', h .. '|n')
      if record[1] or record[2] then
        redis.call('HSET', status, h .. '|s', 'succeeded', h .. '|u', now, h .. '|d', duration)
        if record[3] or record[4] then
          redis.call('HDEL', status, h .. '|e', h .. '|n')
        end
        local recent = KEYS[k + 6]
        if all_succeeded(status, record[2] or '', h) then
          redis.call('PEXPIRE', status, succeeded_ttl)
          local added = recents[recent]
          if not added then
            added = {}
            recents[recent] = added
            recents[#recents + 1] = recent
          end
          added[#added + 1] = now
          added[#added + 1] = ARGV[a + 5]
        end
      end
    end
    answers[i + 1] = 1
  end
end

for _, pair in ipairs(order) do
  redis.call(pair[2], pair[1], unpack(members[pair[1]]))
end
for _, bucket in ipairs(buckets) do
  local sums = buckets[bucket]
  local stats, minute = sums[3], sums[4]
  if not failed(redis.pcall('HINCRBY', stats, minute .. ':succeeded', sums[1])) then
    redis.call('HINCRBY', stats, minute .. ':duration_ms', sums[2])
  end
end
for _, recent in ipairs(recents) do
  if not failed(redis.pcall('ZADD', recent, unpack(recents[recent]))) then
    local extra = redis.call('ZCARD', recent) - keep
    if extra > 0 then
      local old = {}
      local popped = redis.call('ZPOPMIN', recent, extra)
      for j = 1, #popped, 2 do
        old[#old + 1] = fill({event = popped[j]})
      end
      redis.call('DEL', unpack(old))
    end
  end
end
return answers
