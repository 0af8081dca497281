-- trim_unrouted: drop kept unrouted events past their retention, for every type (ADR 0015).
--
-- KEYS[1] {ns}:unrouted:counts (HASH event type -> count: the types that were ever unrouted)
-- ARGV[1], ARGV[2] key templates (keys.py) of a type's kept events and handed-out cursors,
--         with <type>
-- ARGV[3] the horizon ms: events kept before it go
--
-- Returns how many kept events were dropped.
--
-- Run by every worker's upkeep, so the kept counts the monitor reads (ZCARD) stay within the
-- retention when nothing is published. Why a script: as in publish_unrouted.lua, the cursors
-- go when the last kept event does, in the same step, so a sequence that starts again is
-- never compared with cursors of the old one. The kept sets are named only once the types
-- are read, hence templates; types are checked before writing.
local function fill(template, values)
  return (string.gsub(template, '<([%a_]+)>', values))
end
local horizon = tonumber(ARGV[3])
local dropped = 0
for _, event_type in ipairs(redis.call('HKEYS', KEYS[1])) do
  local kept = fill(ARGV[1], {type = event_type})
  local given = fill(ARGV[2], {type = event_type})
  if redis.call('TYPE', kept)['ok'] == 'zset' then
    for _ = 1, 5 do
      local head = redis.call('ZRANGE', kept, 0, 99)
      local old = {}
      for _, member in ipairs(head) do
        local at = tonumber(string.match(member, '^[^|]*|[^|]*|(%d+)'))
        if not at or at >= horizon then
          break
        end
        old[#old + 1] = member
      end
      if #old > 0 then
        redis.call('ZREM', kept, unpack(old))
        dropped = dropped + #old
      end
      if #old < #head or #head == 0 then
        break
      end
    end
  end
  if redis.call('EXISTS', kept) == 0 and redis.call('TYPE', given)['ok'] == 'hash' then
    redis.call('DEL', given)
  end
end
return dropped
