import { z } from 'zod';
import { zodIssues } from '../zodIssues';

/**
 * A further-training gold-standard job (the `tda gold` job file, the furtherTraining workflow's
 * input). The schema fixes the fields and their types; the checks that need the model and the
 * data (label ranges, shapes, distinct seeds...) stay in lib/gold/runInputs.ts, which names each.
 */
const optimizerSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('sgd') }).strict(),
  z
    .object({ kind: z.literal('momentum'), momentum: z.number(), nesterov: z.boolean().optional() })
    .strict(),
  z
    .object({
      kind: z.literal('adam'),
      beta1: z.number().optional(),
      beta2: z.number().optional(),
      epsilon: z.number().optional(),
    })
    .strict(),
]);

const testFunctionSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('loss') }).strict(),
  z
    .object({
      kind: z.enum(['logit', 'probability']),
      classes: z.union([z.number().int(), z.array(z.number().int())]),
    })
    .strict(),
]);

const modeSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('remove') }).strict(),
  z.object({ kind: z.literal('upweight'), epsilon: z.number() }).strict(),
]);

export const goldJobSchema = z
  .object({
    /** A TF.js LayersModel (model.json + weights.bin) saved with lib/model/storeIO. */
    modelPrefix: z.string().min(1),
    /**
     * Data sets: the prefix `tda import` writes (a partitioned data set), or the key of one Arrow
     * file in the project's format (lib/data/datasetRef.ts).
     */
    trainKey: z.string().min(1),
    queryKey: z.string().min(1),
    /** Runs go under <outputPrefix>/runs/<runId>, the gold standard under <outputPrefix>/gold. */
    outputPrefix: z.string().min(1),
    /** Optimizer (SGD when absent), learning rate, batch size, loss normalisation. */
    training: z
      .object({
        optimizer: optimizerSchema.optional(),
        learningRate: z.number(),
        batchSize: z.number(),
        normalize: z.enum(['batchSize', 'weightSum']).optional(),
      })
      .strict(),
    /** Step counts T at which the test function is recorded. */
    steps: z.array(z.number()),
    testFunction: testFunctionSchema.optional(),
    /** Save a run's state every N steps (0: never). */
    checkpointEvery: z.number().optional(),
    /** Training-example indices to perturb; all rows when absent. */
    examples: z.array(z.number()).optional(),
    seeds: z.array(z.number()),
    /** remove (default) or upweight by ε. */
    mode: modeSchema.optional(),
    /** Runs in flight at once per child workflow (default 8). */
    window: z.number().int().min(1).optional(),
    /** Runs per child workflow (default 500), so no history grows past a few thousand events. */
    runsPerChild: z.number().int().min(1).optional(),
    /** Child workflows in flight at once (default 4). */
    childWindow: z.number().int().min(1).optional(),
    /** A run's heartbeat timeout: how soon a crashed worker's run is retried (default 1 minute). */
    heartbeatTimeout: z.string().optional(),
    /** A run's start-to-close timeout (default 12 hours). */
    runTimeout: z.string().optional(),
    /** Task queue of the training runs (e.g. a GPU queue); defaults to the workflow's. */
    taskQueue: z.string().optional(),
    /** Set by continue-as-new: where the parent stopped. */
    resume: z
      .object({ nextRun: z.number(), runsDone: z.number(), trainRows: z.number() })
      .strict()
      .optional(),
  })
  .strict();

export type GoldJobInput = z.input<typeof goldJobSchema>;
export type GoldJobSpec = z.output<typeof goldJobSchema>;

/** Parses a job; a bad one throws naming each field (the caller makes it an InputError). */
export function parseGoldJob(input: unknown): GoldJobSpec {
  const r = goldJobSchema.safeParse(input);
  if (!r.success) throw new Error(`invalid gold job:\n${zodIssues(r.error, '(job)')}`);
  return r.data;
}
