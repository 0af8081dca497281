-- report: keep a running handler's progress or one of its log lines in its event's status.
--
-- KEYS[1] {ns}:status:{event_id}
-- ARGV[1] handler name, ARGV[2] 'p' (progress) or 'l' (log line)
-- ARGV[3] the progress (a percentage, as text), or the line as JSON [ms, attempt, text]
-- ARGV[4] how many log lines to keep (the newest)
-- Returns 1 when kept, 0 when the event has no status record (tracking off, or expired).
--
-- Why a script: appending a line and trimming the list is a read-modify-write of one field,
-- and it must not create a record: start.lua creates it with its retention, so a report never
-- leaves a key behind without a TTL. Not on the settle path: only handlers that report pay.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
local h = ARGV[1]
if ARGV[2] == 'p' then
  redis.call('HSET', KEYS[1], h .. '|p', ARGV[3])
  return 1
end
local raw = redis.call('HGET', KEYS[1], h .. '|l')
local lines = {}
if raw then
  lines = cjson.decode(raw)
end
table.insert(lines, cjson.decode(ARGV[3]))
local keep = tonumber(ARGV[4])
while #lines > keep do
  table.remove(lines, 1)
end
redis.call('HSET', KEYS[1], h .. '|l', cjson.encode(lines))
return 1
