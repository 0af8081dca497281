-- start: before a handler runs, tell whether it already succeeded for this event, and if not,
-- count the start and mark it running (creating the event's status record if this is the
-- first handler to start).
--
-- KEYS[1] {ns}:done:{event_id}, KEYS[2] {ns}:status:{event_id}, KEYS[3] {ns}:published:{event_id}
-- KEYS[4] {ns}:runs:{queue}
-- ARGV[1] handler, ARGV[2] now ms, ARGV[3] attempt number, ARGV[4] track '1'/'0'
-- ARGV[5] status TTL ms, ARGV[6] the event type's handler names joined by ',' as this worker
-- knows them: used only when the published key does not name the handlers the event was
-- routed to (a key written before ADR 0015)
-- ARGV[7] the redis message id, ARGV[8] how many worker deaths while handling one message
-- make it dead (HEXBUS_MAX_WORKER_DEATHS)
-- Returns 1 when it already succeeded (skip it), 0 when it should run, -n when it must not run
-- because n worker processes died while running it (each start that no fate script settled:
-- they all clear its count in {ns}:runs:{queue}, ADR 0017). An error reply
-- 'HEXBUS_WRONGTYPE ...' and no write when a key holds the wrong type: the settlement
-- dead-letters the message with that reason instead of trying it forever.
-- Why a script: the ledger check, the start count and the status write are one round trip on
-- the hot path.
local expected = {'hash', 'hash', 'string', 'hash'}
for i, want in ipairs(expected) do
  local found = redis.call('TYPE', KEYS[i])['ok']
  if found ~= 'none' and found ~= want then
    return redis.error_reply('HEXBUS_WRONGTYPE ' .. KEYS[i] .. ' is a ' .. found .. ', not a ' .. want)
  end
end
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
  return 1
end
local deaths = tonumber(redis.call('HGET', KEYS[4], ARGV[7]) or '0')
if deaths >= tonumber(ARGV[8]) then
  return -deaths
end
redis.call('HSET', KEYS[4], ARGV[7], deaths + 1)
if ARGV[4] == '1' then
  if redis.call('EXISTS', KEYS[2]) == 0 then
    -- The published key holds token|event type|published ms|handlers (publish.lua): the
    -- handlers are those of the routes it was fanned out to, whichever worker runs first.
    local published = redis.call('GET', KEYS[3]) or ''
    local _, _, event_type, at, handlers = string.find(published, '^[^|]*|(.*)|([^|]*)|([^|]*)$')
    if not event_type then
      _, _, event_type, at = string.find(published, '^[^|]*|([^|]*)|([^|]*)$')
      handlers = ARGV[6]
    end
    if not string.find(',' .. handlers .. ',', ',' .. ARGV[1] .. ',', 1, true) then
      handlers = handlers == '' and ARGV[1] or handlers .. ',' .. ARGV[1]
    end
    redis.call('HSET', KEYS[2], '_type', event_type or '', '_published', at or ARGV[2],
      '_handlers', handlers)
    redis.call('PEXPIRE', KEYS[2], ARGV[5])
  end
  local h = ARGV[1]
  redis.call('HSET', KEYS[2], h .. '|s', 'running', h .. '|st', ARGV[2], h .. '|u', ARGV[2],
    h .. '|a', ARGV[3])
  redis.call('HDEL', KEYS[2], h .. '|n')
end
return 0
