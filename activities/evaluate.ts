import { ApplicationFailure } from '@temporalio/activity';
import { writeColumns } from '../lib/arrow/columns';
import { type AgreementOptions, agreementOverSteps } from '../lib/eval/agreement';
import { agreementChart } from '../lib/eval/chart';
import { alignScores, readScoreMatrix } from '../lib/eval/scoreFile';
import { readGoldStandard } from '../lib/gold/goldFile';
import { readCommitted, readManifest, Transaction } from '../lib/store/commit';
import { NotFoundError, type ObjectStore } from '../lib/store/objectStore';

export interface EvaluateInput extends AgreementOptions {
  /** A committed gold standard (the goldPrefix a furtherTraining workflow returned). */
  goldPrefix: string;
  /** Each method's dense scores, queries × the gold standard's examples (lib/eval/scoreFile). */
  methods: { name: string; key: string }[];
  outputPrefix: string;
}

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
    async evaluateAgreement(input: EvaluateInput): Promise<EvaluateSummary> {
      const existing = await readManifest<EvaluateSummary>(store, input.outputPrefix);
      if (existing) return existing.meta;
      if (!Array.isArray(input.methods) || input.methods.length === 0) {
        throw inputError('evaluate needs at least one method');
      }
      const names = input.methods.map((m) => m.name);
      if (new Set(names).size !== names.length) throw inputError('method names must be distinct');
      const goldBytes = await readCommitted(store, input.goldPrefix, 'gold.arrow').catch((e) => {
        throw e instanceof NotFoundError || /manifest/.test(String(e)) ? inputError(String(e)) : e;
      });
      const gold = readGoldStandard(goldBytes, `gold standard "${input.goldPrefix}"`);
      const opts: AgreementOptions = {
        resamples: input.resamples,
        seed: input.seed,
        confidence: input.confidence,
      };
      const results = [];
      const rows: AgreementRow[] = [];
      for (const m of input.methods) {
        const what = `scores of method "${m.name}" ("${m.key}")`;
        let bytes: Uint8Array;
        try {
          bytes = await store.get(m.key);
        } catch (e) {
          throw e instanceof NotFoundError ? inputError(`${what}: ${e.message}`) : e;
        }
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
      };
      return (await tx.commit(summary)).meta;
    },
  };
}

export type EvaluateActivities = ReturnType<typeof createEvaluateActivities>;
