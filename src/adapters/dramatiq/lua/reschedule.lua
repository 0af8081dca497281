-- reschedule: move a pending schedule entry to a new due time.
--
-- KEYS[1] {ns}:schedule; ARGV[1] entry id, ARGV[2] new due time ms
-- ARGV[3] the movers' wake channel, told the due time when the entry becomes the earliest
-- Returns 1 when moved, 0 when the entry was not pending (already moved or cancelled).
-- Why a script: ZADD alone would re-create an entry a mover has just taken.
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  return 0
end
local head = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
if tonumber(ARGV[2]) < tonumber(head[2]) then
  redis.call('PUBLISH', ARGV[3], ARGV[2])
end
return 1
