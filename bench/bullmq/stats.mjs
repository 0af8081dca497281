// queue.getJobCounts() latency on an already filled queue.
//   node stats.mjs --url URL --queue Q --calls C [--warmup W]
// W untimed calls, then C timed ones, one after the other. Prints each call's time in ms and
// the counts the last call returned.
import { Queue } from 'bullmq';

import { connection, emit, parseArgs } from './common.mjs';

const args = parseArgs();
const calls = Number(args.calls);
const warmup = Number(args.warmup || 20);
const queue = new Queue(args.queue, { connection: connection(args.url) });
await queue.waitUntilReady();
let counts = null;
for (let i = 0; i < warmup; i += 1) counts = await queue.getJobCounts();
const values = [];
for (let i = 0; i < calls; i += 1) {
  const started = performance.now();
  counts = await queue.getJobCounts();
  values.push(performance.now() - started);
}
emit({ call_ms: values, counts });
await queue.close();
