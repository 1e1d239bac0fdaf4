import type * as tfl from '@tensorflow/tfjs-layers';
import { z } from 'zod';
import type { CheckpointInfo } from '../features';
import { NotFoundError, type ObjectStore, putJson } from '../store/objectStore';
import { artifactsHash, modelHash } from './modelHash';
import { loadModelArtifacts, MODEL_JSON, modelKey, saveModel } from './storeIO';

/**
 * The checkpoint manifest: which saved models a run's checkpoints are, at which training step,
 * with the learning rate in force over the interval each stands for (TracIn weighs each
 * checkpoint by it). Keys are model prefixes (folders holding model.json) relative to the
 * manifest's own folder, so a manifest and its checkpoints move together.
 */
const need = (what: string, type: string) => ({
  error: (iss: { input?: unknown }) =>
    iss.input === undefined
      ? `missing ${what}`
      : `${what} must be ${type}, got ${JSON.stringify(iss.input)}`,
});

const fitSchema = z.object({
  loss: z.number(),
  accuracy: z.number().min(0).max(1),
  rows: z.number().int().min(1),
});

export const checkpointSchema = z.object({
  step: z
    .number(need('step', 'an integer >= 0'))
    .int('step must be an integer')
    .min(0, 'step must be >= 0'),
  learningRate: z
    .number(need('learning rate', 'a positive number'))
    .positive('learning rate must be > 0')
    .finite('learning rate must be finite'),
  key: z.string(need('key', 'a string')).min(1, 'key must not be empty'),
  hash: z
    .string(need('hash', 'a string'))
    .regex(/^[0-9a-f]{64}$/, 'hash must be a sha256 hex digest (64 lowercase hex digits)')
    .optional(),
  /**
   * How well this checkpoint fits its training set and, if one was held out, a validation set
   * (tda train records them; lib/model/learned.ts reads them to say whether the model learned).
   */
  metrics: z
    .object({
      train: fitSchema,
      validation: fitSchema.optional(),
    })
    .optional(),
});

export const checkpointManifestSchema = z
  .object({
    model: z.string(need('model name', 'a string')).min(1, 'model name must not be empty'),
    checkpoints: z
      .array(checkpointSchema, need('checkpoints', 'a list'))
      .min(1, 'a manifest needs at least one checkpoint'),
  })
  .superRefine((m, ctx) => {
    for (let i = 1; i < m.checkpoints.length; i++) {
      if (m.checkpoints[i].step <= m.checkpoints[i - 1].step) {
        ctx.addIssue({
          code: 'custom',
          path: ['checkpoints', i, 'step'],
          message: `steps must be strictly increasing: step ${m.checkpoints[i].step} follows step ${m.checkpoints[i - 1].step}`,
        });
      }
    }
  });

export type Checkpoint = z.infer<typeof checkpointSchema>;
export type CheckpointManifest = z.infer<typeof checkpointManifestSchema>;

/** Validates a parsed manifest, naming each problem with its place (e.g. checkpoints[1].learningRate). */
export function parseCheckpointManifest(
  value: unknown,
  what = 'checkpoint manifest',
): CheckpointManifest {
  const r = checkpointManifestSchema.safeParse(value);
  if (!r.success) {
    const problems = r.error.issues.map((iss) => {
      const path = iss.path
        .map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`))
        .join('');
      return path ? `${path}: ${iss.message}` : iss.message;
    });
    throw new Error(`${what} is invalid: ${problems.join('; ')}`);
  }
  return r.data;
}

function manifestDir(manifestKey: string): string {
  const i = manifestKey.lastIndexOf('/');
  return i >= 0 ? manifestKey.slice(0, i) : '';
}

/** Where a checkpoint's model lives in the store (its key is relative to the manifest's folder). */
export function checkpointPrefix(manifestKey: string, c: Checkpoint): string {
  return modelKey(manifestDir(manifestKey), c.key);
}

/**
 * Reads and validates a manifest, and checks every checkpoint's model.json is in the store. With
 * `verifyHashes`, loads each checkpoint and checks (or, where absent, fills in) its hash.
 */
export async function readCheckpointManifest(
  store: ObjectStore,
  manifestKey: string,
  opts: { verifyHashes?: boolean } = {},
): Promise<CheckpointManifest> {
  const what = `checkpoint manifest ${manifestKey} in ${store.uri}`;
  const bytes = await store.get(manifestKey);
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new Error(`${what} is not valid JSON: ${(e as Error).message}`);
  }
  const m = parseCheckpointManifest(value, what);
  for (const c of m.checkpoints) {
    const key = modelKey(checkpointPrefix(manifestKey, c), MODEL_JSON);
    if (!(await store.exists(key))) {
      throw new Error(
        `${what}: checkpoint at step ${c.step} names key "${c.key}" but there is no ${key} in the store`,
      );
    }
    if (opts.verifyHashes) {
      const actual = artifactsHash(
        await loadModelArtifacts(store, checkpointPrefix(manifestKey, c)),
      );
      if (c.hash && c.hash !== actual) {
        throw new Error(
          `${what}: checkpoint at step ${c.step} has hash ${actual}, manifest says ${c.hash}`,
        );
      }
      c.hash = actual;
    }
  }
  return m;
}

export async function writeCheckpointManifest(
  store: ObjectStore,
  manifestKey: string,
  manifest: CheckpointManifest,
): Promise<void> {
  await putJson(store, manifestKey, parseCheckpointManifest(manifest));
}

/**
 * Saves `model` as the checkpoint at `step` (under `<manifest folder>/step-<step>/`) and adds it to
 * the manifest, creating the manifest if needed. Returns the updated manifest.
 */
export async function saveCheckpoint(
  model: tfl.LayersModel,
  store: ObjectStore,
  manifestKey: string,
  c: { model: string; step: number; learningRate: number; metrics?: Checkpoint['metrics'] },
): Promise<CheckpointManifest> {
  const key = `step-${c.step}`;
  const entry = checkpointSchema.parse({
    step: c.step,
    learningRate: c.learningRate,
    key,
    metrics: c.metrics,
  });
  let m: CheckpointManifest | undefined;
  try {
    m = await readCheckpointManifest(store, manifestKey);
  } catch (e) {
    if (!(e instanceof NotFoundError)) throw e;
  }
  if (m && m.model !== c.model)
    throw new Error(`manifest ${manifestKey} is for model "${m.model}", not "${c.model}"`);
  await saveModel(model, store, modelKey(manifestDir(manifestKey), key));
  entry.hash = await modelHash(model);
  const checkpoints = [...(m?.checkpoints ?? []).filter((x) => x.step !== c.step), entry].sort(
    (a, b) => a.step - b.step,
  );
  const next = { model: c.model, checkpoints };
  await writeCheckpointManifest(store, manifestKey, next);
  return parseCheckpointManifest(next);
}

/** What the attribution methods need: steps and learning rates, in step order. */
export function checkpointInfos(m: CheckpointManifest): CheckpointInfo[] {
  return m.checkpoints.map((c) => ({ step: c.step, learningRate: c.learningRate }));
}
