-- start_message: the start of one message, shared by start.lua and fetch.lua. Not a script of
-- its own: scripts.load_script puts it where a script says '--#include start_message'
-- (Redis runs each script alone, so scripts cannot share code any other way).
--
-- starter(track, ttl, max_deaths) gives start(done, status, published_key, runs, handler,
-- now, attempt, known, redis_id):
--   track '1'/'0', status TTL ms, how many worker deaths while handling one message make it
--   dead (HEXBUS_MAX_WORKER_DEATHS); the keys {ns}:done:{event_id}, {ns}:status:{event_id},
--   {ns}:published:{event_id}, {ns}:runs:{queue}; the handler, now ms, the attempt number,
--   the event type's handler names joined by ',' as this worker knows them (used only when
--   the published key does not name the handlers the event was routed to: a key written
--   before ADR 0015; nil when the caller does not know them), the redis message id.
-- start answers 1 when the handler already succeeded (skip it), 0 when it should run, -n
-- when it must not run because n worker processes died while running it (each start that no
-- fate script settled: they all clear its count in {ns}:runs:{queue}, ADR 0017), or the text
-- 'HEXBUS_WRONGTYPE <key> is a <type>, not a <type>' with nothing of that message written
-- when a key it reads or writes holds the wrong type ('HEXBUS_BADVALUE <key>: <Redis's
-- error>' when its start count is not a number): the settlement dead-letters the message
-- with that reason instead of trying it forever. It answers false, with nothing written, when
-- it would need the handler names and ``known`` is nil: the caller starts it another way.
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
-- handlers, this one among them; nil when the key names no handlers and ``known`` is nil.
local function header(published, handler, known, now)
  local _, _, event_type, at, handlers = string.find(published, '^[^|]*|(.*)|([^|]*)|([^|]*)$')
  if not event_type then
    _, _, event_type, at = string.find(published, '^[^|]*|([^|]*)|([^|]*)$')
    handlers = known
  end
  if handlers == nil then
    return nil
  end
  if not string.find(',' .. handlers .. ',', ',' .. handler .. ',', 1, true) then
    handlers = handlers == '' and handler or handlers .. ',' .. handler
  end
  return event_type or '', at or now, handlers
end

local function starter(track, ttl, max_deaths)
  max_deaths = tonumber(max_deaths)
  return function(done, status, published_key, runs, handler, now, attempt, known, redis_id)
    local succeeded, refused = read(done, 'hash', 'HEXISTS', done, handler)
    if refused then
      return refused
    end
    if succeeded == 1 then
      return 1
    end
    local record, event_type, at, handlers
    if track == '1' then
      record, refused = read(status, 'hash', 'HMGET', status, '_type', handler .. '|n')
      if refused then
        return refused
      end
      if not record[1] then
        local published
        published, refused = read(published_key, 'string', 'GET', published_key)
        if refused then
          return refused
        end
        event_type, at, handlers = header(published or '', handler, known, now)
        if event_type == nil then
          return false
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
        redis.call('HSET', status, '_type', event_type, '_published', at, '_handlers', handlers,
          h .. '|s', 'running', h .. '|st', now, h .. '|u', now, h .. '|a', attempt)
        redis.call('PEXPIRE', status, ttl)
      end
    end
    return 0
  end
end
