import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { loadConfig } from '../../lib/config';
import { projectorSchema, type SelfScoreInput } from '../../lib/pipeline/runSpec';
import {
  IN_MEMORY_METHODS,
  type InMemoryMethod,
  scoreInMemory,
} from '../../lib/pipeline/scoreInMemory';
import { topIndices } from '../../lib/reduce/topK';
import { openStore } from '../../lib/store/openStore';
import { ensureBackend } from '../../workers/worker';
import {
  type Command,
  numberOption,
  type OptionTable,
  optionsHelp,
  requireString,
  storeOption,
  UsageError,
} from '../command';

const options = {
  checkpoints: { type: 'string', arg: 'KEY', help: 'the checkpoint manifest (required)' },
  train: { type: 'string', arg: 'PREFIX', help: 'the training data set (required)' },
  query: { type: 'string', arg: 'PREFIX', help: 'the query data set (required)' },
  method: { type: 'string', arg: 'M', help: 'one of the methods above (required)' },
  projector: {
    type: 'string',
    arg: 'JSON',
    help: `e.g. '{"kind":"kronecker","k1":16,"k2":16}' (default: exact gradients)`,
  },
  'top-k': { type: 'string', arg: 'K', help: 'proponents and opponents per query (default 10)' },
  damping: {
    type: 'string',
    arg: 'L',
    help: 'λ of (H + λI) (default 0.01; influenceEkfac: × the mean eigenvalue, 0.1)',
  },
  k: { type: 'string', arg: 'N', help: 'clusters (default 8)' },
  self: {
    type: 'string',
    arg: 'S',
    help: 'self-score for the mislabel ranking: tracin (default, Σ_c η_c ‖g_c‖²)\nor influence (Σ_c η_c g_cᵀ(F_c + λ_c I)⁻¹g_c over every checkpoint)',
  },
  'self-layers': {
    type: 'string',
    arg: 'L',
    help: 'influence self-score: last (default), all, or layer names a,b',
  },
  'self-damping': {
    type: 'string',
    arg: 'R',
    help: 'influence self-score: λ_c = R × mean eigenvalue of F_c (default 0.01)',
  },
  out: { type: 'string', arg: 'FILE', help: 'write the results as JSON' },
  store: storeOption,
} satisfies OptionTable;

const usage = `Usage: tda score --checkpoints KEY --train PREFIX --query PREFIX --method M [options]

Any method on small data in this process, no Temporal (every example's gradients in memory).
Methods: ${IN_MEMORY_METHODS.join(', ')}.
  influenceCG / influenceLiSSA: exact Hessian-vector products (Dense models), solved by
  conjugate gradient or LiSSA; influenceProjected: damped Gauss-Newton in the projected space;
  influenceEkfac: EK-FAC (Kronecker eigenbasis, refitted eigenvalues, true Fisher) per layer;
  dataInf: DataInf's closed form per layer; clusters: k-medoids on TracIn similarity.
Options:
${optionsHelp(options)}`;

export const scoreCommand: Command = {
  name: 'score',
  summary: 'run any method (influence CG/LiSSA, DataInf, clusters, ...) on small data in-process',
  usage,
  options,
  async run({ values }) {
    const method = requireString(values, 'method', usage) as InMemoryMethod;
    if (!IN_MEMORY_METHODS.includes(method))
      throw new UsageError(`unknown method "${method}"\n\n${usage}`);
    const selfKind = (values.self as string | undefined) ?? 'tracin';
    if (selfKind !== 'tracin' && selfKind !== 'influence')
      throw new UsageError(`unknown self-score "${selfKind}" (known: tracin, influence)`);
    const layersArg = (values['self-layers'] as string | undefined) ?? 'last';
    const selfScore: SelfScoreInput =
      selfKind === 'tracin'
        ? { kind: 'tracin' as const }
        : {
            kind: 'influence' as const,
            layers:
              layersArg === 'last' || layersArg === 'all'
                ? layersArg
                : { names: layersArg.split(',') },
            relativeDamping: numberOption(values, 'self-damping', 0.01),
          };
    let projector: ReturnType<typeof projectorSchema.parse> | undefined;
    if (values.projector) {
      const p = projectorSchema.safeParse(JSON.parse(values.projector as string));
      if (!p.success)
        throw new UsageError(
          `--projector: ${p.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
        );
      projector = p.data;
    }
    const damping =
      values.damping === undefined ? undefined : numberOption(values, 'damping', 0.01);
    const config = loadConfig();
    await ensureBackend(config);
    const r = await scoreInMemory(openStore(config, values.store as string | undefined), {
      checkpoints: requireString(values, 'checkpoints', usage),
      train: requireString(values, 'train', usage),
      query: requireString(values, 'query', usage),
      method,
      featurize: projector ? { projector } : undefined,
      topK: numberOption(values, 'top-k', 10),
      // One flag for the damping each method takes: absolute λ, or EK-FAC's relative one.
      damping: method === 'influenceEkfac' ? undefined : damping,
      relativeDamping: method === 'influenceEkfac' ? damping : undefined,
      k: numberOption(values, 'k', 8),
      selfScore,
    });
    console.log(`${method}: ${r.seconds.toFixed(2)} s`);
    if (r.topk) {
      for (let q = 0; q < Math.min(5, r.topk.queries); q++) {
        const fmt = (l: { index: number[]; score: number[] }) =>
          l.index
            .slice(0, 5)
            .map((ix, j) => `${ix} (${l.score[j].toPrecision(3)})`)
            .join(', ');
        console.log(`query ${q}: proponents ${fmt(r.topk.proponents[q])}`);
        console.log(`         opponents  ${fmt(r.topk.opponents[q])}`);
      }
    }
    const top = topIndices(r.selfInfluence, Math.min(10, r.selfInfluence.length));
    console.log(`highest ${selfKind} self-scores (mislabel suspects): ${top.join(', ')}`);
    if (r.clusters) {
      for (const [i, c] of r.clusters.clusters.entries()) {
        console.log(`cluster ${i}: ${c.members.length} members, medoid ${c.medoid}`);
      }
    }
    const out = values.out as string | undefined;
    if (out) {
      await mkdir(dirname(out), { recursive: true });
      await writeFile(
        out,
        JSON.stringify({
          method,
          seconds: r.seconds,
          topk: r.topk,
          selfScore: selfKind,
          selfInfluence: Array.from(r.selfInfluence),
          clusters: r.clusters && { clusters: r.clusters.clusters, cost: r.clusters.cost },
        }),
      );
      console.log(`results: ${out}`);
    }
  },
};
