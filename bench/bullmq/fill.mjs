// Fills --queue with --count waiting jobs (or delayed ones, with --delay-ms) by
// queue.addBulk in batches of --batch, up to --inflight batches at once, each job with its id.
//   node fill.mjs --url URL --queue Q --count N --envelope JSON [--batch B] [--inflight K]
//        [--delay-ms D]
// Jobs are built batch by batch (a million would not fit in the heap at once). Prints the
// rate and redis-server's used_memory before and after.
import { Queue } from 'bullmq';

import { connection, emit, jobData, label, newId, parseArgs, redisClient, usedMemory } from './common.mjs';

const args = parseArgs();
const count = Number(args.count);
const batch = Number(args.batch || 1000);
const inflight = Number(args.inflight || 1);
const envelope = JSON.parse(args.envelope);
const opts = args['delay-ms'] ? { delay: Number(args['delay-ms']) } : {};
const client = redisClient(args.url);
const queue = new Queue(args.queue, { connection: connection(args.url) });
await queue.waitUntilReady();
const memoryBefore = await usedMemory(client);
const started = performance.now();
let next = 0;
async function lane() {
  while (next < count) {
    const first = next;
    next = Math.min(next + batch, count);
    const jobs = [];
    for (let i = first; i < next; i += 1) {
      const id = newId();
      jobs.push({ name: 'job', data: jobData(envelope, label('f', i), id), opts: { ...opts, jobId: id } });
    }
    await queue.addBulk(jobs);
  }
}
await Promise.all(Array.from({ length: inflight }, lane));
const seconds = (performance.now() - started) / 1000;
emit({
  count,
  seconds,
  rate: count / seconds,
  memory_before: memoryBefore,
  memory_after: await usedMemory(client),
});
await queue.close();
await client.quit();
