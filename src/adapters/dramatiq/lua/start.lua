-- start: before a handler runs, tell whether it already succeeded for this event, and if not,
-- mark it running (creating the event's status record if this is the first handler to start).
--
-- KEYS[1] {ns}:done:{event_id}, KEYS[2] {ns}:status:{event_id}, KEYS[3] {ns}:published:{event_id}
-- ARGV[1] handler, ARGV[2] now ms, ARGV[3] attempt number, ARGV[4] track '1'/'0'
-- ARGV[5] status TTL ms, ARGV[6] the event type's handler names joined by ',' as this worker
-- knows them: used only when the published key does not name the handlers the event was
-- routed to (a key written before ADR 0015)
-- Returns 1 when it already succeeded (skip it), 0 when it should run.
-- Why a script: the ledger check and the status write are one round trip on the hot path.
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
  return 1
end
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
