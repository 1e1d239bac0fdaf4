import { ApplicationFailure } from '@temporalio/activity';
import { writeColumns } from '../lib/arrow/columns';
import { type AgreementOptions, agreementOverSteps } from '../lib/eval/agreement';
import { agreementChart } from '../lib/eval/chart';
import { type EvalJobInput, type EvalJobSpec, parseEvalJob } from '../lib/eval/evalJobSpec';
import { alignScores, readScoreMatrix } from '../lib/eval/scoreFile';
import { readGoldStandard } from '../lib/gold/goldFile';
import { specAddress } from '../lib/specAddress';
import { readCommitted, readManifest, sha256, Transaction } from '../lib/store/commit';
import { NotFoundError, type ObjectStore } from '../lib/store/objectStore';

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

function inputError(msg: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(msg, 'InputError');
}

export function createEvaluateActivities(store: ObjectStore) {
  return {
    /**
     * Cosine and Spearman agreement of every method with the gold standard at each T (per query,
     * averaged over queries, bootstrap CIs), as Arrow, JSON and two SVG charts, committed.
     */
    async evaluateAgreement(raw: EvaluateInput): Promise<EvaluateSummary> {
      let input: EvalJobSpec;
      try {
        input = parseEvalJob(raw);
      } catch (e) {
        throw inputError((e as Error).message);
      }
      const names = input.methods.map((m) => m.name);
      if (new Set(names).size !== names.length) throw inputError('method names must be distinct');
      const goldBytes = await readCommitted(store, input.goldPrefix, 'gold.arrow').catch((e) => {
        throw e instanceof NotFoundError || /manifest/.test(String(e)) ? inputError(String(e)) : e;
      });
      const methodBytes: Uint8Array[] = [];
      for (const m of input.methods) {
        try {
          methodBytes.push(await store.get(m.key));
        } catch (e) {
          throw e instanceof NotFoundError
            ? inputError(`scores of method "${m.name}" ("${m.key}"): ${e.message}`)
            : e;
        }
      }
      const address = specAddress('eval', input, {
        gold: sha256(goldBytes),
        methods: methodBytes.map((b) => sha256(b)),
      });
      const existing = await readManifest<EvaluateSummary>(store, input.outputPrefix);
      if (existing) {
        // Served only if it was computed for this very job and these very inputs.
        if (existing.meta.address !== address) {
          throw inputError(
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
        let aligned: Float64Array;
        try {
          const s = readScoreMatrix(bytes, what);
          if (s.queries !== gold.queries) {
            throw new Error(`${what} has ${s.queries} queries, the gold standard ${gold.queries}`);
          }
          aligned = alignScores(s, gold.examples, what);
        } catch (e) {
          throw inputError((e as Error).message);
        }
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
    },
  };
}

export type EvaluateActivities = ReturnType<typeof createEvaluateActivities>;
