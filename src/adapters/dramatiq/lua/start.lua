-- start: before handlers run, tell for each whether it already succeeded for its event, and
-- if not, count the start and mark it running (creating the event's status record if this is
-- the first handler to start). One call starts every message of a fetched batch (ADR 0019).
--
-- Per message i (0-based), KEYS[4i+1..4i+4]:
--   {ns}:done:{event_id}, {ns}:status:{event_id}, {ns}:published:{event_id}, {ns}:runs:{queue}
-- and ARGV[8i+1..8i+8]:
--   handler, now ms, attempt number, track '1'/'0', status TTL ms, the event type's handler
--   names joined by ',' as this worker knows them (used only when the published key does not
--   name the handlers the event was routed to: a key written before ADR 0015), the redis
--   message id, how many worker deaths while handling one message make it dead
--   (HEXBUS_MAX_WORKER_DEATHS)
-- Returns one answer per message, in order: 1 when it already succeeded (skip it), 0 when it
-- should run, -n when it must not run because n worker processes died while running it (each
-- start that no fate script settled: they all clear its count in {ns}:runs:{queue}, ADR
-- 0017), or the text 'HEXBUS_WRONGTYPE <key> is a <type>, not a <type>' with nothing of that
-- message written when one of its keys holds the wrong type: the settlement dead-letters the
-- message with that reason instead of trying it forever.
-- Why a script: the ledger check, the start count and the status write are one step, and one
-- round trip for a whole batch on the hot path.
local expected = {'hash', 'hash', 'string', 'hash'}
local answers = {}
for i = 0, #KEYS / 4 - 1 do
  local k, a = 4 * i, 8 * i
  local refused = nil
  for j, want in ipairs(expected) do
    local found = redis.call('TYPE', KEYS[k + j])['ok']
    if found ~= 'none' and found ~= want then
      refused = 'HEXBUS_WRONGTYPE ' .. KEYS[k + j] .. ' is a ' .. found .. ', not a ' .. want
      break
    end
  end
  local handler, now, redis_id = ARGV[a + 1], ARGV[a + 2], ARGV[a + 7]
  if refused then
    answers[i + 1] = refused
  elseif redis.call('HEXISTS', KEYS[k + 1], handler) == 1 then
    answers[i + 1] = 1
  else
    local deaths = tonumber(redis.call('HGET', KEYS[k + 4], redis_id) or '0')
    if deaths >= tonumber(ARGV[a + 8]) then
      answers[i + 1] = -deaths
    else
      redis.call('HSET', KEYS[k + 4], redis_id, deaths + 1)
      local status = KEYS[k + 2]
      if ARGV[a + 4] == '1' then
        if redis.call('EXISTS', status) == 0 then
          -- The published key holds token|event type|published ms|handlers (publish.lua):
          -- the handlers are those of the routes it was fanned out to, whichever worker runs
          -- first.
          local published = redis.call('GET', KEYS[k + 3]) or ''
          local _, _, event_type, at, handlers =
            string.find(published, '^[^|]*|(.*)|([^|]*)|([^|]*)$')
          if not event_type then
            _, _, event_type, at = string.find(published, '^[^|]*|([^|]*)|([^|]*)$')
            handlers = ARGV[a + 6]
          end
          if not string.find(',' .. handlers .. ',', ',' .. handler .. ',', 1, true) then
            handlers = handlers == '' and handler or handlers .. ',' .. handler
          end
          redis.call('HSET', status, '_type', event_type or '', '_published', at or now,
            '_handlers', handlers)
          redis.call('PEXPIRE', status, ARGV[a + 5])
        end
        local h = handler
        redis.call('HSET', status, h .. '|s', 'running', h .. '|st', now, h .. '|u', now,
          h .. '|a', ARGV[a + 3])
        redis.call('HDEL', status, h .. '|n')
      end
      answers[i + 1] = 0
    end
  end
end
return answers
