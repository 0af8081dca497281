-- complete: record a handler's success for an event and ack its message, in one step.
--
-- KEYS[1] {ns}:done:{event_id}, KEYS[2] {ns}:__acks__.{broker}.{queue}, KEYS[3] {ns}:{queue}.msgs
-- ARGV[1] handler name, ARGV[2] now ms, ARGV[3] idempotency TTL ms, ARGV[4] redis message id
--
-- Why a script: one round trip instead of three, and the success is never recorded without
-- the ack or the other way round. Dramatiq's own ack that follows finds nothing to do.
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('SREM', KEYS[2], ARGV[4])
redis.call('HDEL', KEYS[3], ARGV[4])
return 1
