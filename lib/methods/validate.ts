/** Input checks shared by the methods: clear errors instead of silent NaN scores. */
import { allFinite } from '../allFinite';
import type { CheckpointInfo, ExampleFeatures, GradientMatrix } from '../features';
import { checkSameLayout } from './factoredFeatures';

/**
 * What a check covers: shapes and layouts always; every value's finiteness unless `values` is
 * false (for a caller that reads none of them: exact self-influence reads only the norms).
 */
export interface CheckOptions {
  allowEmpty?: boolean;
  values?: boolean;
}

export function checkMatrix(
  m: GradientMatrix,
  what: string,
  { allowEmpty = false, values = true }: CheckOptions = {},
): void {
  if (!m?.data) throw new Error(`${what}: missing gradient matrix`);
  if (!Number.isInteger(m.rows) || !Number.isInteger(m.dim) || m.rows < 0 || m.dim <= 0) {
    throw new Error(`${what}: bad shape rows=${m.rows} dim=${m.dim}`);
  }
  if (m.data.length !== m.rows * m.dim) {
    throw new Error(
      `${what}: data has length ${m.data.length}, expected rows × dim = ${m.rows} × ${m.dim}`,
    );
  }
  if (!allowEmpty && m.rows === 0) throw new Error(`${what}: empty set (0 rows)`);
  const d = m.data;
  if (values && !allFinite(d)) {
    // Found: now name the first one.
    for (let k = 0; k < d.length; k++) {
      if (!Number.isFinite(d[k])) {
        const row = Math.floor(k / m.dim);
        throw new Error(
          `${what}: non-finite gradient value ${d[k]} at row ${row}, column ${k % m.dim}`,
        );
      }
    }
  }
  checkSlices(m, what);
}

function checkSlices(m: GradientMatrix, what: string): void {
  let end = 0;
  for (const l of m.layers ?? []) {
    if (l.offset !== end || l.size <= 0) {
      throw new Error(`${what}: layer slices must tile the vector in order (at ${l.name})`);
    }
    end += l.size;
  }
  if ((m.layers?.length ?? 0) > 0 && end !== m.dim) {
    throw new Error(`${what}: layer slices cover ${end} columns, vector has ${m.dim}`);
  }
}

export function checkFeatures(f: ExampleFeatures, what: string, options: CheckOptions = {}): void {
  if (!f?.grads) throw new Error(`${what}: missing features`);
  checkMatrix(f.grads, what, options);
  if (f.sqNorm && f.sqNorm.length !== f.grads.rows) {
    throw new Error(`${what}: sqNorm has length ${f.sqNorm.length}, expected ${f.grads.rows}`);
  }
}

export function checkSameDim(a: GradientMatrix, b: GradientMatrix, what: string): void {
  if (a.dim !== b.dim) {
    throw new Error(`${what}: train dim ${a.dim} does not match query dim ${b.dim}`);
  }
  checkSameLayout(a, b, what);
}

/**
 * Checks a per-checkpoint list of features against the checkpoints. `values` may name the
 * checkpoints whose values are scanned (a caller that checks the others another way).
 */
export function checkCheckpoints(
  train: ExampleFeatures[],
  query: ExampleFeatures[] | null,
  checkpoints: CheckpointInfo[],
  what: string,
  { values = true }: { values?: boolean | ((checkpoint: number) => boolean) } = {},
): void {
  if (checkpoints.length === 0) throw new Error(`${what}: no checkpoints`);
  if (train.length !== checkpoints.length) {
    throw new Error(
      `${what}: ${train.length} train feature sets for ${checkpoints.length} checkpoints`,
    );
  }
  if (query && query.length !== checkpoints.length) {
    throw new Error(
      `${what}: ${query.length} query feature sets for ${checkpoints.length} checkpoints`,
    );
  }
  for (const c of checkpoints) {
    if (!Number.isFinite(c.learningRate)) {
      throw new Error(`${what}: checkpoint ${c.step} has non-finite learning rate`);
    }
  }
  train.forEach((f, c) => {
    const options = { values: typeof values === 'function' ? values(c) : values };
    checkFeatures(f, `${what} train[checkpoint ${c}]`, options);
    if (f.grads.rows !== train[0].grads.rows) {
      throw new Error(`${what}: train row count differs between checkpoints`);
    }
    if (query) {
      checkFeatures(query[c], `${what} query[checkpoint ${c}]`, options);
      checkSameDim(f.grads, query[c].grads, what);
      if (query[c].grads.rows !== query[0].grads.rows) {
        throw new Error(`${what}: query row count differs between checkpoints`);
      }
    }
  });
}
