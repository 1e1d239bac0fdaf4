import { parseArgs } from 'node:util';
import { z } from 'zod';
import type { AuditInput } from '../../lib/audit/auditSpec';
import type { AuditSummary } from '../../lib/audit/reportAudit';
import type { Config } from '../../lib/config';
import { jsonText, parseWith } from '../../lib/jsonText';
import {
  createAuditSchedule,
  deleteAuditSchedule,
  listAuditSchedules,
  pauseAuditSchedule,
  triggerAuditSchedule,
  unpauseAuditSchedule,
} from '../../workers/auditSchedules';
import { connectClient } from '../../workers/connection';
import { parserOptions, UsageError } from '../command';
import { workflowResult } from '../workflowFailure';
import { AUDIT_OPTIONS, AUDIT_USAGE } from './auditUsage';

/** A verb's arguments by its option table (unknown options are errors). */
function flags(verb: string, args: string[]): { pos: string[]; opt: Map<string, string | true> } {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args,
      options: parserOptions(AUDIT_OPTIONS[verb]),
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    throw new UsageError(`audit ${verb}: ${(e as Error).message}\n${AUDIT_USAGE}`);
  }
  const opt = new Map<string, string | true>();
  for (const [k, v] of Object.entries(parsed.values)) {
    if (typeof v === 'string' || v === true) opt.set(k, v);
  }
  return { pos: parsed.positionals, opt };
}

function need(opt: Map<string, string | true>, name: string): string {
  const v = opt.get(name);
  if (typeof v !== 'string')
    throw new Error(`audit schedule: --${name} is required\n${AUDIT_USAGE}`);
  return v;
}

/** A JSON-valued option, parsed (text that is not JSON is an error naming the option). */
function jsonOption(opt: Map<string, string | true>, name: string): unknown {
  if (!opt.has(name)) return undefined;
  return parseWith(jsonText(z.unknown()), need(opt, name), `audit schedule: --${name}`);
}

function printSummary(s: AuditSummary): void {
  console.log(`audit ${s.name} at ${s.time}: ${s.rows} examples in ${s.batches.length} batches`);
  for (const w of s.warnings ?? []) console.log(`warning: ${w}`);
  console.log(
    `  features: ${s.featurize.featurized} computed, ${s.featurize.reused} reused; new batches: ${s.newData.batches.join(', ') || 'none'}`,
  );
  // Summaries committed before the audit scored parts have no count.
  if (s.selfScoreParts) {
    const p = s.selfScoreParts;
    console.log(`  self-score parts: ${p.computed} computed, ${p.reused} reused`);
  }
  for (const r of s.rejectedFiles ?? []) console.log(`  rejected ${r.file}: ${r.error}`);
  if (s.comparison) {
    const c = s.comparison;
    console.log(
      `  since ${s.previous?.time}: ${c.entered.length} entered the top ${s.top.length}, ${c.left.length} left; mean |Δscore| ${c.drift.meanAbsDelta.toPrecision(3)} over ${c.drift.compared}`,
    );
  }
  console.log(`  ranked by ${s.method}`);
  if (s.outOfFold) {
    console.log(
      `  fold models (${s.outOfFold.folds}): held-out accuracy ${s.outOfFold.accuracy.toFixed(3)} (per fold ${s.outOfFold.foldAccuracy.map((a) => a.toFixed(3)).join(', ')})`,
    );
  }
  console.log(
    `  suspects per class in the top ${s.top.length}: ${s.classes.map((c) => `${c.name} ${c.suspects}`).join(', ')}`,
  );
  for (const c of s.classes.filter((x) => x.unreliable)) {
    console.log(
      `  detection unreliable in class ${c.name}: accuracy ${c.accuracy?.toFixed(2)} (${s.classAccuracy}); the model has not learned it`,
    );
  }
  for (const t of s.top.slice(0, 10)) {
    console.log(
      `  #${t.rank + 1} batch ${t.batch} id ${t.id} label ${t.label} score ${t.score.toPrecision(4)}${t.newData ? ' (new)' : ''}`,
    );
  }
  console.log(`  report: ${s.files.report}`);
}

/** `tda audit ...`: the schedule verbs of cli/auditSchedules.ts. */
export async function runAuditCommand(config: Config, args: string[]): Promise<void> {
  const [sub, ...rest] = args;
  const { pos, opt } = flags(sub ?? '', rest);
  const client = await connectClient(config);
  try {
    switch (sub) {
      case 'schedule': {
        const num = (k: string) => (opt.has(k) ? Number(need(opt, k)) : undefined);
        const audit: AuditInput = {
          name: need(opt, 'name'),
          data: need(opt, 'data'),
          checkpoints: need(opt, 'checkpoints'),
          topK: num('top-k'),
          shardSize: num('shard-size'),
          // Their fields are checked by the audit's schema (lib/audit/auditSpec.ts).
          projector: jsonOption(opt, 'projector') as AuditInput['projector'],
          selfScore: jsonOption(opt, 'self-score') as AuditInput['selfScore'],
          outOfFold: jsonOption(opt, 'out-of-fold') as AuditInput['outOfFold'],
          raw: opt.has('raw') ? { prefix: need(opt, 'raw'), like: need(opt, 'like') } : undefined,
        };
        const id = await createAuditSchedule(client, {
          audit,
          cron: need(opt, 'cron'),
          taskQueue:
            typeof opt.get('queue') === 'string' ? need(opt, 'queue') : config.taskQueues.cpu,
          paused: opt.has('paused'),
        });
        console.log(`created schedule ${id}`);
        return;
      }
      case 'list': {
        const all = await listAuditSchedules(client);
        if (all.length === 0) console.log('no audit schedules');
        for (const s of all) {
          console.log(
            `${s.name}\t${s.cron.join(' | ')}\t${s.paused ? 'paused' : 'active'}\tdata ${s.data}\tnext ${s.nextRuns[0] ?? '–'}\truns ${s.actionsTaken}${s.running.length ? ' (running)' : ''}`,
          );
        }
        return;
      }
      case 'pause':
      case 'unpause': {
        const name = pos[0];
        if (!name) throw new Error(`audit ${sub} NAME\n${AUDIT_USAGE}`);
        await (sub === 'pause' ? pauseAuditSchedule : unpauseAuditSchedule)(client, name);
        console.log(`${sub}d ${name}`);
        return;
      }
      case 'trigger': {
        const name = pos[0];
        if (!name) throw new Error(`audit trigger NAME\n${AUDIT_USAGE}`);
        const started = await triggerAuditSchedule(client, name, {
          waitStartMs: opt.has('wait') ? 60_000 : undefined,
        });
        if (!started) {
          console.log(`triggered ${name}`);
          return;
        }
        console.log(`started ${started.workflowId}`);
        const summary = await workflowResult<AuditSummary>(
          client.workflow.getHandle(started.workflowId, started.runId),
          config,
        );
        printSummary(summary);
        return;
      }
      case 'delete': {
        const name = pos[0];
        if (!name) throw new Error(`audit delete NAME\n${AUDIT_USAGE}`);
        await deleteAuditSchedule(client, name);
        console.log(`deleted ${name}`);
        return;
      }
      default:
        throw new Error(`unknown audit command "${sub ?? ''}"\n${AUDIT_USAGE}`);
    }
  } finally {
    await client.connection.close();
  }
}
