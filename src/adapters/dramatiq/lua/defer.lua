-- defer: put the message being processed back on the schedule, and ack it, in one step.
-- Used for a retry after backoff, and for a run that waits for a rate-limit slot.
--
-- KEYS[1] {ns}:__acks__.{broker}.{queue}, KEYS[2] {ns}:{queue}.msgs
-- KEYS[3] {ns}:schedule, KEYS[4] {ns}:schedule:items
-- ARGV[1] the current redis message id, ARGV[2] the schedule entry id
-- ARGV[3] due time ms, ARGV[4] the entry's JSON (list of one [queue, new id, new body])
--
-- Why a script: Dramatiq's Retries middleware enqueues the retry and then acks, and a failed
-- enqueue still acks, losing the message. Here the retry is written and the original acked
-- together, or neither happens and the message stays in flight for recovery.
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[2])
redis.call('HSET', KEYS[4], ARGV[2], ARGV[4])
redis.call('SREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
return 1
