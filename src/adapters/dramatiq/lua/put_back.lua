-- put_back: return a message that could not be settled to the tail of its queue.
--
-- KEYS[1] {ns}:__acks__.{broker}.{queue}, KEYS[2] {ns}:{queue}.msgs, KEYS[3] {ns}:{queue}
-- KEYS[4] {ns}:wake:{queue}
-- ARGV[1] the redis message id
--
-- Returns 1 when it was put back, 0 when there was nothing to put back (it was settled after
-- all, the reply being what was lost, or recovery returned it meanwhile).
-- Why a script: the id must leave the acks set and enter the queue together, and only if its
-- body still exists, or a crash between the steps could strand or duplicate it. The doorbell
-- wakes an idle consumer.
if redis.call('SREM', KEYS[1], ARGV[1]) == 1 and redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then
  redis.call('RPUSH', KEYS[3], ARGV[1])
  redis.call('RPUSH', KEYS[4], '1')
  redis.call('LTRIM', KEYS[4], -16, -1)
  return 1
end
return 0
