-- record_tick: move a recurring schedule's last tick forward, never backwards.
--
-- KEYS[1] {ns}:schedules (HASH schedule name -> last tick ms)
-- ARGV[1] schedule name, ARGV[2] tick ms
--
-- Why a script: read-compare-write must be one step, or a slow scheduler could move the
-- mark back and make a faster one fire ticks again (harmless, they are duplicates, but noisy).
local current = redis.call('HGET', KEYS[1], ARGV[1])
if (not current) or tonumber(current) < tonumber(ARGV[2]) then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  return 1
end
return 0
