import { writeColumns } from '../arrow/columns';
import { InputError, inputStep } from '../failures';
import { readGoldStandard } from '../gold/goldFile';
import { specAddress } from '../specAddress';
import { readCommitted, readManifest, sha256, Transaction } from '../store/commit';
import type { ObjectStore } from '../store/objectStore';
import { type AgreementOptions, agreementOverSteps } from './agreement';
import { agreementChart } from './chart';
import { type EvalJobInput, type EvalJobSpec, parseEvalJob } from './evalJobSpec';
import { alignScores, readScoreMatrix } from './scoreFile';

export type EvaluateInput = EvalJobInput;

export interface AgreementRow {
  method: string;
  step: number;
  cosine: number;
  cosineCI: [number, number];
  spearman: number;
  spearmanCI: [number, number];
}

export interface EvaluateSummary {
  prefix: string;
  manifestKey: string;
  files: Record<string, string>;
  rows: AgreementRow[];
  /** The job's content address (lib/specAddress.ts): the spec and its inputs' hashes. */
  address: string;
}

/**
 * Cosine and Spearman agreement of every method with the gold standard at each T (per query,
 * averaged over queries, bootstrap CIs), as Arrow, JSON and two SVG charts under the job's
 * outputPrefix, committed. A bad job, gold standard or score file is an InputError naming it.
 */
export async function evaluateAgreement(
  store: ObjectStore,
  raw: EvaluateInput,
): Promise<EvaluateSummary> {
  const input: EvalJobSpec = parseEvalJob(raw);
  const names = input.methods.map((m) => m.name);
  if (new Set(names).size !== names.length) throw new InputError('method names must be distinct');
  const goldBytes = await inputStep(`gold standard "${input.goldPrefix}"`, () =>
    readCommitted(store, input.goldPrefix, 'gold.arrow'),
  );
  const methodBytes: Uint8Array[] = [];
  for (const m of input.methods) {
    methodBytes.push(
      await inputStep(`scores of method "${m.name}" ("${m.key}")`, () => store.get(m.key)),
    );
  }
  const address = specAddress('eval', input, {
    gold: sha256(goldBytes),
    methods: methodBytes.map((b) => sha256(b)),
  });
  const existing = await readManifest<EvaluateSummary>(store, input.outputPrefix);
  if (existing) {
    // Served only if it was computed for this very job and these very inputs.
    if (existing.meta.address !== address) {
      throw new InputError(
        `"${input.outputPrefix}" holds an evaluation of a different job or different inputs (address ${existing.meta.address ?? 'none'}, this job's ${address}); use another outputPrefix`,
      );
    }
    return existing.meta;
  }
  const gold = readGoldStandard(goldBytes, `gold standard "${input.goldPrefix}"`);
  const opts: AgreementOptions = {
    resamples: input.resamples,
    seed: input.seed,
    confidence: input.confidence,
  };
  const results = [];
  const rows: AgreementRow[] = [];
  for (const [j, m] of input.methods.entries()) {
    const what = `scores of method "${m.name}" ("${m.key}")`;
    const bytes = methodBytes[j];
    const s = readScoreMatrix(bytes, what);
    if (s.queries !== gold.queries) {
      throw new InputError(`${what} has ${s.queries} queries, the gold standard ${gold.queries}`);
    }
    const aligned = alignScores(s, gold.examples, what);
    const perStep = agreementOverSteps(aligned, gold, opts);
    results.push({
      method: m.name,
      key: m.key,
      steps: perStep.map((a) => ({
        step: a.step,
        cosine: a.cosine,
        cosineCI: a.cosineCI,
        spearman: a.spearman,
        spearmanCI: a.spearmanCI,
        queriesUsed: a.queriesUsed,
        perQuery: {
          cosine: Array.from(a.perQuery.cosine),
          spearman: Array.from(a.perQuery.spearman),
        },
      })),
    });
    for (const a of perStep) {
      rows.push({
        method: m.name,
        step: a.step,
        cosine: a.cosine,
        cosineCI: a.cosineCI,
        spearman: a.spearman,
        spearmanCI: a.spearmanCI,
      });
    }
  }
  const n = rows.length;
  const col = (f: (r: AgreementRow) => number) => ({ values: Float64Array.from(rows, f) });
  const arrow = writeColumns(
    n,
    {
      method: { values: Int32Array.from(rows, (r) => names.indexOf(r.method)) },
      step: { values: Int32Array.from(rows, (r) => r.step) },
      cosine: col((r) => r.cosine),
      cosine_lo: col((r) => r.cosineCI[0]),
      cosine_hi: col((r) => r.cosineCI[1]),
      spearman: col((r) => r.spearman),
      spearman_lo: col((r) => r.spearmanCI[0]),
      spearman_hi: col((r) => r.spearmanCI[1]),
    },
    { kind: 'agreement', methods: JSON.stringify(names), goldPrefix: input.goldPrefix },
  );
  const tx = new Transaction(store, input.outputPrefix);
  const files: Record<string, string> = {};
  files['agreement.arrow'] = (await tx.put('agreement.arrow', arrow)).key;
  files['agreement.json'] = (
    await tx.put(
      'agreement.json',
      JSON.stringify(
        { goldPrefix: input.goldPrefix, examples: gold.examples, seeds: gold.seeds, results },
        null,
        1,
      ),
    )
  ).key;
  for (const metric of ['cosine', 'spearman'] as const) {
    const svg = agreementChart(
      rows.map((r) => ({
        method: r.method,
        step: r.step,
        value: r[metric],
        ci: metric === 'cosine' ? r.cosineCI : r.spearmanCI,
      })),
      {
        title: `${metric === 'cosine' ? 'Cosine' : 'Spearman'} agreement with the gold standard`,
      },
    );
    files[`${metric}.svg`] = (await tx.put(`${metric}.svg`, svg)).key;
  }
  const summary: EvaluateSummary = {
    prefix: input.outputPrefix,
    manifestKey: `${input.outputPrefix}/MANIFEST.json`,
    files,
    rows,
    address,
  };
  return (await tx.commit(summary)).meta;
}
