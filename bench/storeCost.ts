/**
 * bench:store — what the S3 server costs the host per byte: objects written and read back through
 * the project's S3Store (the client every stage uses; objects over 16 MiB go up in 8 MiB parts,
 * as feature files do), timing the server process's CPU from /proc beside the client's. On a
 * 2-core host the server shares the cores with the workers, so its CPU per byte written is taken
 * from their compute (why the local stack runs versitygw, not SeaweedFS: BENCHMARKS.md).
 *
 *   npm run bench:store [-- --objects 10 --mib 32 --rounds 2 --pid PID]
 *
 * The server is the local stack's (its pid file), or the process `--pid` names with TDA_S3_PORT
 * pointing at it (another server started by hand, for a side-by-side run). Writes under
 * `bench-store/` and deletes what it wrote. Last line: one JSON object.
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../lib/config';
import { S3Store } from '../lib/store/s3Store';
import { hostLoopMs } from './hostLoop';
import { processCpuSeconds, stackCpuSeconds } from './runStats';

const { values } = parseArgs({
  options: {
    objects: { type: 'string', default: '10' },
    mib: { type: 'string', default: '32' },
    rounds: { type: 'string', default: '2' },
    pid: { type: 'string' },
  },
});
const OBJECTS = Number(values.objects);
const MIB = Number(values.mib);
const BYTES = MIB * 2 ** 20;
const ROUNDS = Number(values.rounds);
for (const [name, v] of [
  ['objects', OBJECTS],
  ['mib', MIB],
  ['rounds', ROUNDS],
] as const) {
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} must be a positive integer`);
}
if (values.pid !== undefined && !process.env.TDA_S3_PORT && !process.env.TDA_S3_ENDPOINT) {
  throw new Error(
    '--pid names a server started by hand: point TDA_S3_PORT (or TDA_S3_ENDPOINT) at it',
  );
}

/** The server's CPU seconds so far (user + system, every thread). */
function serverCpu(): number {
  if (values.pid === undefined) {
    const s = stackCpuSeconds().s3;
    if (s === undefined)
      throw new Error('no local S3 server pid (infra/stack.sh up), or pass --pid');
    return s;
  }
  return processCpuSeconds(values.pid);
}

function clientCpu(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

interface Cost {
  server: number;
  client: number;
  wall: number;
}

/** Server and client CPU (s) and wall (s) of one step. */
async function measure(step: () => Promise<void>): Promise<Cost> {
  const [s0, c0, w0] = [serverCpu(), clientCpu(), performance.now()];
  await step();
  return {
    server: serverCpu() - s0,
    client: clientCpu() - c0,
    wall: (performance.now() - w0) / 1000,
  };
}

async function main(): Promise<void> {
  const config = loadConfig();
  const s3 = new S3Store(config.s3, 'bench-store');
  // Bytes that do not compress or repeat (a server that dedupes or compresses gains nothing).
  const body = new Uint8Array(BYTES);
  let x = 0x9e3779b9;
  for (let i = 0; i < body.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    body[i] = x & 0xff;
  }
  const keys = Array.from({ length: OBJECTS }, (_, i) => `o${i}`);
  const loops = [hostLoopMs()];
  const rounds: { write: Cost; read: Cost }[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    let write: Cost;
    let read: Cost;
    try {
      write = await measure(async () => {
        for (const k of keys) await s3.put(k, body);
      });
      read = await measure(async () => {
        for (const k of keys) {
          const got = await s3.get(k);
          if (got.length !== body.length) throw new Error(`${k}: read ${got.length} bytes`);
        }
      });
    } finally {
      // Nothing left behind, whatever failed.
      await Promise.allSettled(keys.map((k) => s3.delete(k)));
    }
    rounds.push({ write, read });
    console.log(
      `[store] round ${r + 1}: write server ${write.server.toFixed(2)} CPU-s, client ${write.client.toFixed(2)}, wall ${write.wall.toFixed(2)} s; read server ${read.server.toFixed(2)}, client ${read.client.toFixed(2)}, wall ${read.wall.toFixed(2)} s`,
    );
  }
  loops.push(hostLoopMs());
  const total = OBJECTS * BYTES;
  const perByte = (f: (r: { write: Cost; read: Cost }) => number) =>
    Number(((Math.min(...rounds.map(f)) / total) * 1e9).toFixed(2));
  console.log(
    JSON.stringify({
      endpoint: config.s3.endpoint ?? 'aws',
      server_pid: values.pid ?? 'stack',
      objects: OBJECTS,
      object_bytes: BYTES,
      rounds: ROUNDS,
      // The best round: the least the host's noise added.
      server_write_ns_per_byte: perByte((r) => r.write.server),
      server_read_ns_per_byte: perByte((r) => r.read.server),
      client_write_ns_per_byte: perByte((r) => r.write.client),
      client_read_ns_per_byte: perByte((r) => r.read.client),
      write_mb_s: Number((total / 1e6 / Math.min(...rounds.map((r) => r.write.wall))).toFixed(0)),
      read_mb_s: Number((total / 1e6 / Math.min(...rounds.map((r) => r.read.wall))).toFixed(0)),
      host_loop_ms: loops,
    }),
  );
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
