// Publishes --count jobs to --queue, one by one (queue.add) or in batches (queue.addBulk),
// each with its own job id (and --delay-ms, if given).
//   node publish.mjs --url URL --queue Q --count N --envelope JSON [--batch B] [--delay-ms D]
//        [--warmup W]
// The jobs are built before the clock starts. W jobs first go to another queue the same way
// (connection open, scripts loaded, JIT warm), then the database is flushed. Prints the
// elapsed seconds, this process's CPU and redis-server's CPU over the timed part, and
// redis-server's used_memory before and after it.
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
  redisCpu,
  usedMemory,
} from './common.mjs';

const args = parseArgs();
const count = Number(args.count);
const batch = Number(args.batch || 1);
const warmup = Number(args.warmup || 0);
const envelope = JSON.parse(args.envelope);
const opts = args['delay-ms'] ? { delay: Number(args['delay-ms']) } : {};
const client = redisClient(args.url);

function jobs(n, prefix) {
  const built = [];
  for (let i = 0; i < n; i += 1) {
    const id = newId();
    built.push({ name: 'job', data: jobData(envelope, label(prefix, i), id), opts: { ...opts, jobId: id } });
  }
  return built;
}

async function publish(queue, list) {
  if (batch <= 1) {
    for (const job of list) await queue.add(job.name, job.data, job.opts);
  } else {
    for (let i = 0; i < list.length; i += batch) await queue.addBulk(list.slice(i, i + batch));
  }
}

if (warmup) {
  const warm = new Queue(`${args.queue}-warmup`, { connection: connection(args.url) });
  await publish(warm, jobs(warmup, 'w'));
  await warm.close();
  await client.flushdb();
}
const queue = new Queue(args.queue, { connection: connection(args.url) });
await queue.waitUntilReady();
const list = jobs(count, 'j');
const memoryBefore = await usedMemory(client);
const redisBefore = await redisCpu(client);
const cpu = cpuMicros();
const started = performance.now();
await publish(queue, list);
const seconds = (performance.now() - started) / 1000;
const cpuUs = cpuMicros() - cpu;
const redisSeconds = (await redisCpu(client)) - redisBefore;
const memoryAfter = await usedMemory(client);
emit({ count, seconds, cpu_us: cpuUs, redis_cpu_s: redisSeconds, memory_before: memoryBefore, memory_after: memoryAfter });
await queue.close();
await client.quit();
