-- fetch: take up to n message ids from a queue for one broker, returning ids with bodies, and
-- start each message it can read (start_message.lua), so that a fetched message reaches its
-- handler without a start round trip of its own (ADR 0019).
--
-- KEYS[1] {ns}:{queue}, KEYS[2] {ns}:{queue}.msgs, KEYS[3] {ns}:__acks__.{broker}.{queue}
-- KEYS[4] {ns}:__heartbeats__, KEYS[5] {ns}:paused, KEYS[6] {ns}:acks:registry
-- KEYS[7] {ns}:runs:{queue}
-- ARGV[1] n, ARGV[2] broker id, ARGV[3] now ms, ARGV[4] the queue's name
-- ARGV[5..7] track '1'/'0', status TTL ms, worker deaths that make a message dead (start.lua's)
-- ARGV[8..10] the key templates (keys.py) of an event's success ledger, status record and
-- published key, each with <event>; ARGV[11] the option naming a message's attempt
-- (messages.ATTEMPT)
--
-- Returns a flat list id1, body1, started1, id2, ... (a missing body comes back as false);
-- an empty list when the queue is paused (its messages stay where they are). ``started`` is
-- false when the message was not started here (the worker starts it with start.lua), else
-- {answer, event id, handler}: the start's answer (start_message.lua) and the event and
-- handler it was started for, which the worker checks against its own reading of the body.
-- When a key of the queue holds the wrong type, an error reply 'HEXBUS_WRONGTYPE <key> is a
-- <type>' and no write at all: ids popped before a failing read would be stranded (ADR 0017).
-- Why our own: Dramatiq's fetch returns bodies without ids, so a body that cannot be decoded
-- cannot be acked or moved and sticks in the acks set. With the id we can dead-letter it.
-- Taking the ids and marking them in flight is one step so a crash cannot lose them; the
-- acks set is entered in the registry in the same step, so recovery can always find it.
-- What it starts: a JSON body whose args are a handler name and an envelope with a
-- canonical event id, and whose attempt, if given, is a whole number >= 1. Anything else
-- (and an event whose status record needs the handler names this script does not have) is
-- left to the worker, which reads every body itself and refuses what is not a message.

--#include start_message
--#include filler

local expected = {'list', 'hash', 'set', 'zset', 'set', 'set'}
for i, want in ipairs(expected) do
  local found = redis.call('TYPE', KEYS[i])['ok']
  if found ~= 'none' and found ~= want then
    return redis.error_reply('HEXBUS_WRONGTYPE ' .. KEYS[i] .. ' is a ' .. found .. ', not a ' .. want)
  end
end
redis.call('ZADD', KEYS[4], ARGV[3], ARGV[2])
if redis.call('SISMEMBER', KEYS[5], ARGV[4]) == 1 then
  return {}
end
local ids = redis.call('LPOP', KEYS[1], ARGV[1])
if not ids then
  return {}
end
redis.call('SADD', KEYS[3], unpack(ids))
redis.call('SADD', KEYS[6], ARGV[2] .. '|' .. ARGV[4])
local bodies = redis.call('HMGET', KEYS[2], unpack(ids))

local done_key = filler(ARGV[8], '<event>')
local status_key = filler(ARGV[9], '<event>')
local published_key = filler(ARGV[10], '<event>')
local hex = '[0-9a-f]'
local canonical = '^' .. string.rep(hex, 8) .. '%-' .. string.rep(hex, 4) .. '%-'
  .. string.rep(hex, 4) .. '%-' .. string.rep(hex, 4) .. '%-' .. string.rep(hex, 12) .. '$'
local attempt_option = ARGV[11]

-- The handler, event id and attempt of a body this script can start, or nil.
local function readable(body)
  if not body then
    return nil
  end
  local ok, message = pcall(cjson.decode, body)
  if not ok or type(message) ~= 'table' then
    return nil
  end
  local args, options = message['args'], message['options']
  if type(args) ~= 'table' or type(options) ~= 'table' or #args ~= 2 then
    return nil
  end
  local handler, envelope = args[1], args[2]
  if type(handler) ~= 'string' or type(envelope) ~= 'table' then
    return nil
  end
  local event_id = envelope['event_id']
  if type(event_id) ~= 'string' or not string.find(event_id, canonical) then
    return nil
  end
  local attempt = options[attempt_option]
  if attempt == nil then
    attempt = 1
  end
  if type(attempt) ~= 'number' or attempt < 1 or attempt % 1 ~= 0 then
    return nil
  end
  return handler, event_id, string.format('%d', attempt)
end

local start = starter(ARGV[5], ARGV[6], ARGV[7])
local result = {}
for i, id in ipairs(ids) do
  local body = bodies[i]
  local started = false
  local handler, event_id, attempt = readable(body)
  if handler then
    local answer = start(done_key(event_id), status_key(event_id), published_key(event_id),
      KEYS[7], handler, ARGV[3], attempt, nil, id)
    if answer ~= false then
      started = {answer, event_id, handler}
    end
  end
  result[3 * i - 2] = id
  result[3 * i - 1] = body
  result[3 * i] = started
end
return result
