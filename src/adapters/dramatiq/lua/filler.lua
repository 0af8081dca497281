-- filler: not a script of its own; scripts.load_script puts it where a script says
-- '--#include filler' (move_due.lua, queue_stats.lua, fetch.lua).
-- A template with one hole (keys.py's key templates: <queue>, <event>, <broker>), as a
-- function of the hole's value: concatenation, which costs a fraction of a gsub, for keys a
-- script makes for every entry, queue or message it reads.
local function filler(template, hole)
  local at = string.find(template, hole, 1, true)
  local head, tail = string.sub(template, 1, at - 1), string.sub(template, at + #hole)
  return function(value) return head .. value .. tail end
end
