-- start: before handlers run, tell for each whether it already succeeded for its event, and
-- if not, count the start and mark it running (creating the event's status record if this is
-- the first handler to start). One call starts every message of a batch that fetch.lua could
-- not start itself (ADR 0019), or one message before its handler.
--
-- ARGV[1..3], for every message: track '1'/'0', status TTL ms, how many worker deaths while
-- handling one message make it dead (HEXBUS_MAX_WORKER_DEATHS).
-- Per message i (0-based), KEYS[4i+1..4i+4]:
--   {ns}:done:{event_id}, {ns}:status:{event_id}, {ns}:published:{event_id}, {ns}:runs:{queue}
-- and ARGV[5i+4..5i+8]:
--   handler, now ms, attempt number, the event type's handler names joined by ',' as this
--   worker knows them, the redis message id
-- Returns one answer per message, in order, as start_message.lua's start answers (1 skip, 0
-- run, -n worker deaths, or a refusal's text).
-- Why a script: the ledger check, the start count and the status write are one step, and one
-- round trip for a whole batch on the hot path.

--#include start_message

local start = starter(ARGV[1], ARGV[2], ARGV[3])
local answers = {}
for i = 0, #KEYS / 4 - 1 do
  local k, a = 4 * i, 5 * i + 3
  answers[i + 1] = start(KEYS[k + 1], KEYS[k + 2], KEYS[k + 3], KEYS[k + 4], ARGV[a + 1],
    ARGV[a + 2], ARGV[a + 3], ARGV[a + 4], ARGV[a + 5])
end
return answers
