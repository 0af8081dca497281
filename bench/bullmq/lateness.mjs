// How late delayed jobs start, with a worker (worker.mjs --signal KEY) running and the queue's
// backlog of far-future delayed jobs (fill.mjs --delay-ms) pending.
//   node lateness.mjs --url URL --queue Q --envelope JSON --samples M --lead-ms L
//        --spacing-ms S --signal KEY [--give-up-ms G] [--burst 1]
// M jobs, one every S ms, each added with delay L; with --burst 1, M jobs added back to back,
// all due at the same millisecond, L ms after the first is added. A job's due time is BullMQ's
// own (job.timestamp + job.delay). Lateness = the handler's start (wall clock) - due. Prints the
// M values in ms (null for a job that had not run G ms after the last due time).
import { Queue } from 'bullmq';

import { connection, emit, jobData, label, newId, parseArgs, redisClient, sleep, wallMs } from './common.mjs';

const args = parseArgs();
const samples = Number(args.samples);
const lead = Number(args['lead-ms']);
const spacing = Number(args['spacing-ms']);
const giveUp = Number(args['give-up-ms'] || 30000);
const envelope = JSON.parse(args.envelope);
const queue = new Queue(args.queue, { connection: connection(args.url) });
await queue.waitUntilReady();
const signals = redisClient(args.url);
const dues = new Map();
const burst = args.burst === '1';
const start = wallMs() + 100;
const burstDue = Math.round(start + lead);
for (let i = 0; i < samples; i += 1) {
  if (!burst) await sleep(start + i * spacing - wallMs());
  const id = newId();
  const name = label('d', i);
  const delay = burst ? burstDue - Date.now() : lead;
  const job = await queue.add('job', jobData(envelope, name, id), { jobId: id, delay });
  dues.set(name, job.timestamp + job.delay);
}
// The handler stamps its start in the signal, so the signals are read once at the end: meanwhile
// this process only checks the list's length, as the drains' watcher does, and takes no CPU from
// the worker it measures.
const deadline = Math.max(...dues.values()) + giveUp;
while ((await signals.llen(args.signal)) < samples && wallMs() < deadline) await sleep(2);
const ran = new Map();
for (const signal of (await signals.lrange(args.signal, 0, -1)).reverse()) {
  const [name, , wall] = signal.split(' ');
  if (!ran.has(name)) ran.set(name, Number(wall));
}
const values = [...dues].map(([name, due]) => (ran.has(name) ? ran.get(name) - due : null));
emit({ lateness_ms: values });
await queue.close();
await signals.quit();
