-- unrouted_stats: how many events of each type were accepted with no route, and how many are
-- still kept for handlers that subscribe later (ADR 0015). Reads only.
--
-- KEYS[1] {ns}:unrouted:counts (HASH event type -> count)
-- ARGV[1] the key template (keys.py) of a type's kept events, with <type>
--
-- Returns a flat list: event type, count, kept, ... One round trip whatever the types: the
-- kept sets are named only once the counts are read, hence a script and a template. ZCARD is
-- O(1), so this stays flat in the number of events (upkeep trims them to the retention).
local function fill(template, values)
  return (string.gsub(template, '<([%a_]+)>', values))
end
local counts = redis.call('HGETALL', KEYS[1])
local result = {}
for i = 1, #counts, 2 do
  local kept = fill(ARGV[1], {type = counts[i]})
  local n = 0
  if redis.call('TYPE', kept)['ok'] == 'zset' then
    n = redis.call('ZCARD', kept)
  end
  result[#result + 1] = counts[i]
  result[#result + 1] = counts[i + 1]
  result[#result + 1] = n
end
return result
