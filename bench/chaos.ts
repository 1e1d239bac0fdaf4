/**
 * bench:chaos — the main job's attribution (lib/jobs/mainJob.ts: Fashion-MNIST, MLP with 3
 * checkpoints, TracIn-CP with Kronecker projection, influence self-score) in shards of 5,000,
 * run twice through `tda worker --processes 2` (two compute worker processes and a workflow
 * worker) on a private stack (own Temporal and S3 server, test/support/privateStack.ts): once
 * undisturbed, once with SIGKILLs of random worker processes (the workflow worker among them;
 * tda worker starts a new one in each one's place), a Temporal server restart and an S3 outage,
 * spread over the first run's wall time (bench/faultPlan.ts). Each run has a bucket of its own
 * holding the same inputs, so the second computes everything again (features and results are
 * content-addressed: in one bucket it would reuse the first run's).
 *
 *   npm run bench:chaos [-- --examples 60000 --queries 100 --kills 10 --outage-s 10
 *     --heartbeat 30s --seed 1]
 *
 * Prints whether every file named by the runs' committed manifests (features and results) and
 * the run's plan are byte-identical, the wall time of each run, the faults performed, and the
 * objects outside committed manifests in each bucket: temporary objects of uncommitted attempts
 * (stray) and multipart uploads left open. Last line: one JSON object.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import type { Client } from '@temporalio/client';
import { sliceRows } from '../lib/data/dataset';
import { readAllParts, writePartitioned } from '../lib/data/partitionedDataset';
import { MAIN_JOB, mainJobSpec, prepareMainJob } from '../lib/jobs/mainJob';
import type { RunSpecInput } from '../lib/pipeline/runSpec';
import type { RunSummary } from '../lib/pipeline/types';
import { S3Store } from '../lib/store/s3Store';
import { initBackend } from '../lib/tf/backend';
import { type PrivateStack, startPrivateStack } from '../test/support/privateStack';
import { connectClient } from '../workers/connection';
import type { attribute } from '../workflows';
import { type Fault, planFaults } from './faultPlan';
import { watchRun } from './runStats';
import { objectSha256, type StoreCensus, storeCensus } from './storeCensus';
import { startTdaWorkerFleet, type TdaWorkerFleet, WORKFLOW_SLOT } from './tdaWorkerFleet';

const { values } = parseArgs({
  options: {
    /** Training examples (the first N of the main job's 60,000). */
    examples: { type: 'string', default: '60000' },
    queries: { type: 'string', default: '100' },
    'shard-size': { type: 'string', default: '5000' },
    workers: { type: 'string', default: '2' },
    kills: { type: 'string', default: '10' },
    'outage-s': { type: 'string', default: '10' },
    /** How soon a killed worker's activity is retried elsewhere (production: 2 minutes). */
    heartbeat: { type: 'string', default: '30s' },
    seed: { type: 'string', default: '1' },
  },
});
const N = Number(values.examples);
const Q = Number(values.queries);
const WORKERS = Number(values.workers);
const KILLS = Number(values.kills);
const OUTAGE_S = Number(values['outage-s']);
const FULL = 60_000;
if (!Number.isInteger(N) || N < 1 || N > FULL) {
  throw new Error(`--examples must be an integer in [1, ${FULL}], got "${values.examples}"`);
}
const log = (m: string) => console.log(`[chaos] ${m}`);
const BUCKETS = { undisturbed: 'tda', chaos: 'tda-chaos' } as const;

/** Copies every object of one bucket into another (the inputs both runs read). */
async function copyAll(from: S3Store, to: S3Store): Promise<number> {
  const keys = await from.list('');
  for (const k of keys) await to.put(k, await from.get(k));
  return keys.length;
}

/** The main job's data and checkpoints, and the first N training rows as a data set of its own. */
async function prepareInputs(store: S3Store): Promise<string> {
  await prepareMainJob(store, log);
  if (N === FULL) return MAIN_JOB.train;
  const prefix = `bench/chaos/train-first-${N}`;
  await writePartitioned(store, prefix, sliceRows(await readAllParts(store, MAIN_JOB.train), 0, N));
  return prefix;
}

interface Performed {
  kills: number;
  workflowWorkerKills: number;
  temporalRestarts: number;
  s3Outages: number;
  s3OutageSeconds: number[];
  /** Planned faults not reached before the run finished. */
  skipped: number;
}

/** Performs the faults at their times until the run is over; resolves with what was done. */
async function inflict(
  faults: Fault[],
  ps: PrivateStack,
  fleet: TdaWorkerFleet,
  over: () => boolean,
): Promise<Performed> {
  const t0 = performance.now();
  const done: Performed = {
    kills: 0,
    workflowWorkerKills: 0,
    temporalRestarts: 0,
    s3Outages: 0,
    s3OutageSeconds: [],
    skipped: 0,
  };
  const outages: Promise<void>[] = [];
  for (const f of faults) {
    while (!over() && (performance.now() - t0) / 1000 < f.at) await sleep(200);
    if (over()) {
      done.skipped++;
      continue;
    }
    const at = ((performance.now() - t0) / 1000).toFixed(1);
    if (f.kind === 'kill') {
      const pid = await fleet.kill(f.slot);
      done.kills++;
      if (f.slot === WORKFLOW_SLOT) done.workflowWorkerKills++;
      log(`${at} s: SIGKILL ${f.slot} (pid ${pid})`);
    } else if (f.kind === 'temporal-restart') {
      log(`${at} s: restarting the Temporal server`);
      ps.run('restart', 'temporal');
      done.temporalRestarts++;
    } else {
      log(`${at} s: stopping S3 for ${f.seconds} s`);
      const t = performance.now();
      ps.run('down', 's3');
      // The faults due meanwhile go on; S3 comes back after its time.
      outages.push(
        sleep(f.seconds * 1000).then(() => {
          ps.run('up', 's3');
          done.s3Outages++;
          const s = (performance.now() - t) / 1000;
          done.s3OutageSeconds.push(Number(s.toFixed(1)));
          log(`S3 up again after ${s.toFixed(1)} s (stopping and starting included)`);
        }),
      );
    }
  }
  await Promise.all(outages);
  return done;
}

/** One attribution through a fresh `tda worker` fleet reading and writing `bucket`. */
async function run(
  ps: PrivateStack,
  client: Client,
  spec: RunSpecInput,
  label: keyof typeof BUCKETS,
  logDir: string,
  faultsFor?: (fleet: TdaWorkerFleet) => Fault[],
): Promise<{ summary: RunSummary; wall: number; performed?: Performed }> {
  const id = randomUUID().slice(0, 8);
  const queue = `chaos-${label}-${id}`;
  const logFile = join(logDir, `${label}-workers.log`);
  const env = { ...ps.env, TDA_S3_BUCKET: BUCKETS[label] };
  const fleet = startTdaWorkerFleet(WORKERS, queue, env, logFile);
  try {
    await fleet.ready;
    log(`${label}: tda worker ready on ${queue} (${WORKERS} compute + 1 workflow; log ${logFile})`);
    const handle = await client.workflow.start<typeof attribute>('attribute', {
      taskQueue: queue,
      workflowId: queue,
      args: [{ spec, heartbeatTimeout: values.heartbeat }],
    });
    let over = false;
    const faults = faultsFor ? inflict(faultsFor(fleet), ps, fleet, () => over) : undefined;
    faults?.catch(() => {}); // awaited (and thrown) once the run is over
    const watched = await Promise.race([
      watchRun(handle, (m) => log(`${label} ${m}`)),
      fleet.failed,
    ]).finally(() => {
      over = true;
    });
    const performed = await faults;
    log(`${label}: done in ${watched.wall.toFixed(1)} s`);
    return { summary: watched.summary, wall: watched.wall, performed };
  } finally {
    await fleet.stop();
  }
}

/** The run's outputs: committed features and results, and its plan. */
function outputs(c: StoreCensus, runPrefix: string): Map<string, string[]> {
  const out = new Map<string, string[]>([[`${runPrefix}/plan.json`, [`${runPrefix}/plan.json`]]]);
  for (const [name, key] of c.committed) {
    if (name.startsWith('runs/') || name.startsWith('features/')) out.set(name, key);
  }
  return out;
}

function sameKeys(a: StoreCensus, b: StoreCensus): boolean {
  const direct = (c: StoreCensus) => c.outside.filter((k) => !c.temporary.includes(k)).join('\n');
  return direct(a) === direct(b);
}

async function main(): Promise<void> {
  const load = loadavg();
  const ps = startPrivateStack();
  // Interrupted: the private stack's servers go too (the fleet gets the terminal's signal).
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      ps.destroy();
      process.exit(130);
    });
  }
  try {
    const backend = await initBackend(ps.config.backend);
    const stores = {
      undisturbed: new S3Store({ ...ps.config.s3, bucket: BUCKETS.undisturbed }),
      chaos: new S3Store({ ...ps.config.s3, bucket: BUCKETS.chaos }),
    };
    let t = performance.now();
    const train = await prepareInputs(stores.undisturbed);
    await stores.chaos.client.send(new CreateBucketCommand({ Bucket: BUCKETS.chaos }));
    const copied = await copyAll(stores.undisturbed, stores.chaos);
    log(
      `inputs ready in both buckets (${copied} objects) in ${((performance.now() - t) / 1000).toFixed(1)} s; backend ${backend}`,
    );

    const spec: RunSpecInput = {
      ...mainJobSpec(Q),
      name: 'bench-chaos',
      train,
      shardSize: Number(values['shard-size']),
    };
    const logDir = mkdtempSync(join(tmpdir(), 'tda-chaos-'));
    const client = await connectClient(ps.config);
    const first = await run(ps, client, spec, 'undisturbed', logDir);
    const second = await run(ps, client, spec, 'chaos', logDir, (fleet) =>
      planFaults({
        seconds: first.wall,
        kills: KILLS,
        slots: fleet.slots,
        mustKill: WORKFLOW_SLOT,
        outageSeconds: OUTAGE_S,
        seed: Number(values.seed),
      }),
    );
    await client.connection.close();
    const performed = second.performed as Performed;

    t = performance.now();
    const census = {
      undisturbed: await storeCensus(stores.undisturbed, BUCKETS.undisturbed),
      chaos: await storeCensus(stores.chaos, BUCKETS.chaos),
    };
    const a = outputs(census.undisturbed, first.summary.runPrefix);
    const b = outputs(census.chaos, second.summary.runPrefix);
    const names = [...new Set([...a.keys(), ...b.keys()])].sort();
    const differing: string[] = [];
    let bytes = 0;
    for (const name of names) {
      const ka = a.get(name);
      const kb = b.get(name);
      const ha = ka === undefined ? undefined : await objectSha256(stores.undisturbed, ka);
      const hb = kb === undefined ? undefined : await objectSha256(stores.chaos, kb);
      bytes += ha?.bytes ?? 0;
      if (!ha || !hb || ha.sha256 !== hb.sha256) differing.push(name);
    }
    log(
      `compared ${names.length} output files (${(bytes / 2 ** 20).toFixed(1)} MiB each side) in ${((performance.now() - t) / 1000).toFixed(1)} s: ${differing.length} differ${differing.length ? ` (${differing.slice(0, 5).join(', ')})` : ''}`,
    );
    for (const [label, c] of Object.entries(census)) {
      log(
        `${label} bucket: ${c.manifests} manifests, ${c.committed.size} committed files, ${c.outside.length} objects outside them (${c.temporary.length} temporary), ${c.openUploads ?? '?'} open multipart uploads`,
      );
      for (const k of c.temporary.slice(0, 10)) log(`  temporary: ${k}`);
    }
    console.log(
      JSON.stringify({
        examples: N,
        queries: Q,
        shard_size: spec.shardSize,
        compute_workers: WORKERS,
        backend,
        heartbeat_timeout: values.heartbeat,
        byte_identical:
          differing.length === 0 && first.summary.runPrefix === second.summary.runPrefix,
        files_compared: names.length,
        files_differing: differing.length,
        bytes_compared: bytes,
        undisturbed_s: Number(first.wall.toFixed(1)),
        chaos_s: Number(second.wall.toFixed(1)),
        kills: performed.kills,
        workflow_worker_kills: performed.workflowWorkerKills,
        temporal_restarts: performed.temporalRestarts,
        s3_outages: performed.s3Outages,
        s3_outage_s: performed.s3OutageSeconds,
        faults_skipped: performed.skipped,
        stray_objects: census.chaos.temporary.length,
        stray_objects_undisturbed: census.undisturbed.temporary.length,
        // The objects written under fixed keys (plans, checkpoints) are the same in both.
        same_direct_objects: sameKeys(census.undisturbed, census.chaos),
        outside_manifests: {
          undisturbed: census.undisturbed.outside.length,
          chaos: census.chaos.outside.length,
        },
        open_uploads: {
          undisturbed: census.undisturbed.openUploads,
          chaos: census.chaos.openUploads,
        },
        load_avg_start: load.map((x) => Number(x.toFixed(2))),
        load_avg_end: loadavg().map((x) => Number(x.toFixed(2))),
      }),
    );
  } finally {
    ps.destroy();
  }
}

main().then(
  () => process.exit(0),
  (e: Error) => {
    console.error(`bench:chaos: ${e.stack ?? e.message}`);
    process.exit(1);
  },
);
