// Publish-to-handler latency with an idle worker (worker.mjs --signal KEY, already running).
//   node latency.mjs --url URL --queue Q --envelope JSON --samples S --warmup W --gap-ms G
//        --signal KEY
// W + S single jobs (queue.add, each with its id); each is added G ms after the previous one's
// handler started (read back from KEY). Latency = the handler's start (process.hrtime, the
// monotonic clock both processes share) minus the start of the queue.add call; the first W
// are thrown away. Prints the S latencies in ms and this process's CPU.
import { Queue } from 'bullmq';

import {
  connection,
  cpuMicros,
  emit,
  jobData,
  label,
  newId,
  parseArgs,
  redisClient,
  sleep,
} from './common.mjs';

const args = parseArgs();
const samples = Number(args.samples);
const warmup = Number(args.warmup || 0);
const gap = Number(args['gap-ms']);
const envelope = JSON.parse(args.envelope);
const queue = new Queue(args.queue, { connection: connection(args.url) });
await queue.waitUntilReady();
const signals = redisClient(args.url);
const values = [];
const cpu = cpuMicros();
for (let i = 0; i < warmup + samples; i += 1) {
  await sleep(gap);
  const id = newId();
  const name = label('l', i);
  const data = jobData(envelope, name, id);
  const started = process.hrtime.bigint();
  await queue.add('job', data, { jobId: id });
  const reply = await signals.brpop(args.signal, 5);
  if (!reply) throw new Error(`latency sample ${i} did not run within 5 s`);
  const [ran, ns] = reply[1].split(' ');
  if (ran !== name) throw new Error(`expected ${name}, the handler signalled ${ran}`);
  if (i >= warmup) values.push(Number(BigInt(ns) - started) / 1e6);
}
emit({ latencies_ms: values, cpu_us: cpuMicros() - cpu });
await queue.close();
await signals.quit();
