// A BullMQ Worker with a no-op processor, in this process.
//   node worker.mjs --url URL --queue Q --concurrency C [--signal KEY]
// Prints {"ready": true} once connected, starts consuming on "go" (stdin), and on "stop"
// closes and prints how many jobs it ran and its CPU. With --signal, each job pushes
// "label monotonic_ns wall_ms" to the list KEY (on its own connection) after stamping its
// start: the latency and lateness workloads read it.
import { Worker } from 'bullmq';

import { connection, cpuMicros, emit, parseArgs, redisClient, stdinLines, wallMs } from './common.mjs';

const args = parseArgs();
const signalKey = args.signal;
const signals = signalKey ? redisClient(args.url) : null;
let handled = 0;

async function noop(job) {
  handled += 1;
  if (signals) {
    const ns = process.hrtime.bigint();
    const wall = wallMs();
    await signals.lpush(signalKey, `${job.data.payload.n} ${ns} ${wall.toFixed(3)}`);
  }
}

const worker = new Worker(args.queue, noop, {
  connection: connection(args.url),
  concurrency: Number(args.concurrency),
  autorun: false,
});
worker.on('error', (error) => process.stderr.write(`worker error: ${error}\n`));
await worker.waitUntilReady();
const nextLine = stdinLines();
emit({ ready: true, pid: process.pid });
while ((await nextLine()) !== 'go');
const cpu = cpuMicros();
const running = worker.run();
while ((await nextLine()) !== 'stop');
await worker.close();
await running;
if (signals) await signals.quit();
emit({ handled, cpu_us: cpuMicros() - cpu });
process.exit(0);
