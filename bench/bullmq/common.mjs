// What every BullMQ workload script of bench/vs_bullmq.py shares: arguments, the Redis
// connection, CPU readings, the job data, and one JSON line on stdout for the results.
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';

import IORedis from 'ioredis';

// --name value pairs (every script takes --url, the private redis-server's redis:// URL).
export function parseArgs(argv = process.argv.slice(2)) {
  const args = {};
  for (let i = 0; i < argv.length; i += 2) {
    if (!argv[i].startsWith('--')) throw new Error(`expected --name value, got ${argv[i]}`);
    args[argv[i].slice(2)] = argv[i + 1];
  }
  if (!args.url) throw new Error('--url redis://host:port/db is required');
  return args;
}

// BullMQ's `connection` option for a redis:// URL (Workers need maxRetriesPerRequest: null).
export function connection(url) {
  const u = new URL(url);
  return {
    host: u.hostname,
    port: Number(u.port || 6379),
    db: Number(u.pathname.slice(1) || 0),
    maxRetriesPerRequest: null,
  };
}

export function redisClient(url) {
  return new IORedis(connection(url));
}

// This process's CPU time (user + system) so far, in microseconds.
export function cpuMicros() {
  const { user, system } = process.cpuUsage();
  return user + system;
}

// redis-server's CPU time so far (INFO cpu: used_cpu_user + used_cpu_sys), in seconds.
export async function redisCpu(client) {
  const info = await client.info('cpu');
  let total = 0;
  for (const line of info.split('\r\n')) {
    const [key, value] = line.split(':');
    if (key === 'used_cpu_user' || key === 'used_cpu_sys') total += Number(value);
  }
  return total;
}

export async function usedMemory(client) {
  const info = await client.info('memory');
  const line = info.split('\r\n').find((l) => l.startsWith('used_memory:'));
  return Number(line.split(':')[1]);
}

// The job data: the benchmark's envelope (the JSON hexbus publishes for its BenchJob event,
// 204 B), with this job's label as its payload and the job id as its event id (both of fixed
// length, so every job's data is 204 B of JSON).
export function jobData(envelope, label, id) {
  return { ...envelope, event_id: id, payload: { ...envelope.payload, n: label } };
}

// `prefix` and `i` in 6 characters (j00042), as vs_bullmq_python.py makes them.
export function label(prefix, i) {
  const digits = 6 - prefix.length;
  return `${prefix}${String(i % 10 ** digits).padStart(digits, '0')}`;
}

export function newId() {
  return randomUUID();
}

// Wall-clock time in epoch milliseconds with sub-millisecond resolution.
export function wallMs() {
  return performance.timeOrigin + performance.now();
}

export function emit(result) {
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, Math.max(ms, 0)));
}

// Lines from the benchmark on stdin, one at a time ("go", "stop").
export function stdinLines() {
  const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
  return async () => {
    const { value, done } = await lines.next();
    return done ? 'stop' : value.trim();
  };
}
