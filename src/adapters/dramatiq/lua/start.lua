-- start: before handlers run, tell for each whether it already succeeded for its event, and
-- if not, count the start and mark it running (creating the event's status record if this is
-- the first handler to start). One call starts every message of a fetched batch (ADR 0019).
--
-- ARGV[1..3], for every message: track '1'/'0', status TTL ms, how many worker deaths while
-- handling one message make it dead (HEXBUS_MAX_WORKER_DEATHS).
-- Per message i (0-based), KEYS[4i+1..4i+4]:
--   {ns}:done:{event_id}, {ns}:status:{event_id}, {ns}:published:{event_id}, {ns}:runs:{queue}
-- and ARGV[5i+4..5i+8]:
--   handler, now ms, attempt number, the event type's handler names joined by ',' as this
--   worker knows them (used only when the published key does not name the handlers the event
--   was routed to: a key written before ADR 0015), the redis message id
-- Returns one answer per message, in order: 1 when it already succeeded (skip it), 0 when it
-- should run, -n when it must not run because n worker processes died while running it (each
-- start that no fate script settled: they all clear its count in {ns}:runs:{queue}, ADR
-- 0017), or the text 'HEXBUS_WRONGTYPE <key> is a <type>, not a <type>' with nothing of that
-- message written when a key it reads or writes holds the wrong type ('HEXBUS_BADVALUE <key>:
-- <Redis's error>' when its start count is not a number): the settlement dead-letters the
-- message with that reason instead of trying it forever.
-- Why a script: the ledger check, the start count and the status write are one step, and one
-- round trip for a whole batch on the hot path.
-- Why so few calls: Redis pays for every redis.call more than for the command itself, and
-- this runs once per handled message. The reads come first and are the type checks (a read of
-- a wrong-typed key fails; only then is TYPE asked, to name it); the start count is the first
-- write; a status record is created and marked running in one HSET.

-- The reply of a call, or nil and the refusal naming the key it failed on: a wrong type, or
-- a start count that is not a number.
local function read(key, want, ...)
  local reply = redis.pcall(...)
  if type(reply) == 'table' and reply['err'] then
    if string.find(reply['err'], 'WRONGTYPE', 1, true) then
      return nil, 'HEXBUS_WRONGTYPE ' .. key .. ' is a ' .. redis.call('TYPE', key)['ok']
        .. ', not a ' .. want
    end
    return nil, 'HEXBUS_BADVALUE ' .. key .. ': ' .. reply['err']
  end
  return reply, nil
end

-- The status record's header for an event whose record does not exist yet: its type and
-- publish time from the published key (token|event type|published ms|handlers, publish.lua:
-- the handlers of the routes it was fanned out to, whichever worker runs first), and its
-- handlers, this one among them.
local function header(published, handler, known, now)
  local _, _, event_type, at, handlers = string.find(published, '^[^|]*|(.*)|([^|]*)|([^|]*)$')
  if not event_type then
    _, _, event_type, at = string.find(published, '^[^|]*|([^|]*)|([^|]*)$')
    handlers = known
  end
  if not string.find(',' .. handlers .. ',', ',' .. handler .. ',', 1, true) then
    handlers = handlers == '' and handler or handlers .. ',' .. handler
  end
  return event_type or '', at or now, handlers
end

local track, ttl, max_deaths = ARGV[1], ARGV[2], tonumber(ARGV[3])

local function start(done, status, published_key, runs, handler, now, attempt, known, redis_id)
  local succeeded, refused = read(done, 'hash', 'HEXISTS', done, handler)
  if refused then
    return refused
  end
  if succeeded == 1 then
    return 1
  end
  local record, published
  if track == '1' then
    record, refused = read(status, 'hash', 'HMGET', status, '_type', handler .. '|n')
    if refused then
      return refused
    end
    if not record[1] then
      published, refused = read(published_key, 'string', 'GET', published_key)
      if refused then
        return refused
      end
    end
  end
  local runs_now
  runs_now, refused = read(runs, 'hash', 'HINCRBY', runs, redis_id, 1)
  if refused then
    return refused
  end
  if runs_now > max_deaths then
    redis.call('HINCRBY', runs, redis_id, -1)
    return 1 - runs_now
  end
  if track == '1' then
    local h = handler
    if record[1] then
      redis.call('HSET', status, h .. '|s', 'running', h .. '|st', now, h .. '|u', now,
        h .. '|a', attempt)
      if record[2] then
        redis.call('HDEL', status, h .. '|n')
      end
    else
      local event_type, at, handlers = header(published or '', handler, known, now)
      redis.call('HSET', status, '_type', event_type, '_published', at, '_handlers', handlers,
        h .. '|s', 'running', h .. '|st', now, h .. '|u', now, h .. '|a', attempt)
      redis.call('PEXPIRE', status, ttl)
    end
  end
  return 0
end

local answers = {}
for i = 0, #KEYS / 4 - 1 do
  local k, a = 4 * i, 5 * i + 3
  answers[i + 1] = start(KEYS[k + 1], KEYS[k + 2], KEYS[k + 3], KEYS[k + 4], ARGV[a + 1],
    ARGV[a + 2], ARGV[a + 3], ARGV[a + 4], ARGV[a + 5])
end
return answers
