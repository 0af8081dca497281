-- prune_stats: remove the per-minute counts older than the statistics' retention from every
-- queue's stats (the workers' upkeep, once a minute; Maintenance.prune_stats).
--
-- KEYS[1] {ns}:queues
-- ARGV[1] the key template (keys.py) of a queue's stats, with <queue>
-- ARGV[2] the oldest minute kept (epoch seconds // 60)
-- ARGV[3..] queues the caller serves besides those in {ns}:queues
--
-- Returns how many fields it removed.
-- Why here and not where the counts are written: a queue's minutes are fields of its stats
-- hash ({min}:succeeded, ...), so that the stats window is one read (queue_stats.lua), and a
-- field has no TTL of its own. The writers (complete, defer, dead_letter) stay one HINCRBY
-- each; this sweep reads each hash's field names once a minute. The counters without a
-- minute (scheduled, dead) are never touched, nor a key of another type.
local at = string.find(ARGV[1], '<queue>', 1, true)
local head, tail = string.sub(ARGV[1], 1, at - 1), string.sub(ARGV[1], at + 7)
local oldest = tonumber(ARGV[2])
local queues = {}
for _, queue in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  queues[queue] = true
end
for i = 3, #ARGV do
  queues[ARGV[i]] = true
end
local removed = 0
for queue in pairs(queues) do
  local key = head .. queue .. tail
  if redis.call('TYPE', key)['ok'] == 'hash' then
    local old = {}
    for _, field in ipairs(redis.call('HKEYS', key)) do
      local minute = tonumber(string.match(field, '^(%d+):'))
      if minute and minute < oldest then
        old[#old + 1] = field
        -- unpack takes a few thousand values at most: delete in chunks.
        if #old == 1000 then
          removed = removed + redis.call('HDEL', key, unpack(old))
          old = {}
        end
      end
    end
    if #old > 0 then
      removed = removed + redis.call('HDEL', key, unpack(old))
    end
  end
end
return removed
