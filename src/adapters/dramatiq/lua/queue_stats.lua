-- queue_stats: every queue's counts, read in one round trip (ADR 0011, 0019).
--
-- KEYS[1] {ns}:queues, KEYS[2] {ns}:__heartbeats__, KEYS[3] {ns}:paused
-- ARGV[1] the live horizon, ms: a broker whose heartbeat is older is dead and not counted
-- ARGV[2] .. ARGV[4] key templates (keys.py): a queue's list and its stats with <queue>, an
--         acks set with <broker> and <queue>
-- ARGV[5] f, the number of fields read from each queue's stats hash, then ARGV[6..5+f] those
--         fields (keys.py's stats_fields): 'scheduled', 'dead', then succeeded, failed and
--         duration_ms of each minute of the window. The caller spells them (once a minute):
--         in here, making them would cost more than all the reads of the call
-- ARGV[6+f..] queues the caller knows of besides those the workers announced
--
-- Returns, for every queue in name order, ten values: name, waiting, scheduled, dead, paused
-- (0/1), succeeded, failed, duration ms (the last three summed over the window), running (in
-- the live brokers' acks sets), and what could not be read ('' when all could).
-- Why a script: the queues, the live brokers and every count in one round trip, so that a
-- stats call costs the same one trip with 10 or 1,000,000 events waiting. It only reads.
-- A queue's counters and its minutes of the window are fields of one hash ({ns}:stats:
-- {queue}), read with one HMGET: a call into Redis costs a script more than the command, and
-- one per minute of the window would be most of the call.
-- Each read is a pcall: a key of the wrong type spoils only the figure it holds, which reads
-- 0 and is named in its queue's last value; it never fails the call for every queue.
-- Library functions are made locals once: a global lookup per use is measurable here.
local concat, sort, tonumber, unpack = table.concat, table.sort, tonumber, unpack
local call = redis.pcall
--#include filler
local queue_key = filler(ARGV[2], '<queue>')
local counters_key = filler(ARGV[3], '<queue>')
local acks_of = filler(ARGV[4], '<broker>')
local last_field = 5 + tonumber(ARGV[5])
local function read(problems, command, key, ...)
  local reply = call(command, key, ...)
  if type(reply) == 'table' and reply['err'] then
    problems[#problems + 1] = key .. ': ' .. reply['err']
    return nil
  end
  return reply
end
local shared = {}
local names = {}
for _, queue in ipairs(read(shared, 'SMEMBERS', KEYS[1]) or {}) do
  names[queue] = true
end
for i = last_field + 1, #ARGV do
  names[ARGV[i]] = true
end
local queues = {}
for queue in pairs(names) do
  queues[#queues + 1] = queue
end
sort(queues)
-- Each live broker's acks set of a queue, as a function of the queue.
local acks = {}
for i, broker in ipairs(read(shared, 'ZRANGEBYSCORE', KEYS[2], ARGV[1], '+inf') or {}) do
  acks[i] = filler(acks_of(broker), '<queue>')
end
local result = {}
for _, queue in ipairs(queues) do
  local problems = {unpack(shared)}
  local waiting = read(problems, 'LLEN', queue_key(queue)) or 0
  local counters = read(problems, 'HMGET', counters_key(queue), unpack(ARGV, 6, last_field)) or {}
  local paused = read(problems, 'SISMEMBER', KEYS[3], queue) or 0
  local succeeded, failed, duration = 0, 0, 0
  for j = 3, last_field - 5, 3 do
    succeeded = succeeded + (tonumber(counters[j]) or 0)
    failed = failed + (tonumber(counters[j + 1]) or 0)
    duration = duration + (tonumber(counters[j + 2]) or 0)
  end
  local running = 0
  for _, acks_key in ipairs(acks) do
    running = running + (read(problems, 'SCARD', acks_key(queue)) or 0)
  end
  local n = #result
  result[n + 1] = queue
  result[n + 2] = waiting
  result[n + 3] = tonumber(counters[1]) or 0
  result[n + 4] = tonumber(counters[2]) or 0
  result[n + 5] = paused
  result[n + 6] = succeeded
  result[n + 7] = failed
  result[n + 8] = duration
  result[n + 9] = running
  result[n + 10] = concat(problems, '; ')
end
return result
