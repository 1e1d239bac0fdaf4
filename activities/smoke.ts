import { readColumn, readTable, writeColumns } from '../lib/arrow/columns';
import { readCommitted, readManifest, sha256, Transaction } from '../lib/store/commit';
import type { ObjectStore } from '../lib/store/objectStore';

export interface SmokeWriteInput {
  prefix: string;
  rows: number;
  dim: number;
  seed: number;
}

/** Deterministic test vectors, so a reader can check what it got without a second copy. */
export function smokeVectors(rows: number, dim: number, seed: number): Float32Array {
  const out = new Float32Array(rows * dim);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < out.length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = (s >>> 0) / 2 ** 32 - 0.5;
  }
  return out;
}

/** The stack's end-to-end check: write an Arrow file to the store, read it back zero-copy. */
export function createSmokeActivities(store: ObjectStore) {
  return {
    async writeSmokeVectors(input: SmokeWriteInput): Promise<{ key: string; bytes: number }> {
      const existing = await readManifest(store, input.prefix);
      if (existing) {
        const f = existing.files['vectors.arrow'];
        return { key: f.key, bytes: f.bytes };
      }
      const ids = Int32Array.from({ length: input.rows }, (_, i) => i);
      const bytes = writeColumns(input.rows, {
        id: { values: ids },
        vector: { values: smokeVectors(input.rows, input.dim, input.seed), width: input.dim },
      });
      const tx = new Transaction(store, input.prefix);
      const file = await tx.put('vectors.arrow', bytes);
      await tx.commit({ rows: input.rows, dim: input.dim, seed: input.seed });
      return { key: file.key, bytes: file.bytes };
    },

    async readSmokeVectors(
      prefix: string,
    ): Promise<{ rows: number; sum: number; sha256: string; zeroCopy: boolean }> {
      const bytes = await readCommitted(store, prefix, 'vectors.arrow');
      const table = readTable(bytes, `${prefix}/vectors.arrow`);
      const { values } = readColumn<Float32Array>(table, 'vector', 'float32');
      let sum = 0;
      for (let i = 0; i < values.length; i++) sum += values[i];
      return {
        rows: table.numRows,
        sum,
        sha256: sha256(new Uint8Array(values.buffer, values.byteOffset, values.byteLength)),
        zeroCopy: values.buffer === bytes.buffer,
      };
    },
  };
}
