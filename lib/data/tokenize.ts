/**
 * A deterministic word tokenizer and vocabulary for text datasets. Same input, same ids, on every
 * machine: no locale-dependent case folding, ties in frequency broken by the token's spelling.
 */

export const PAD_ID = 0;
export const UNK_ID = 1;
const MAX_TOKEN_CHARS = 30;

/** The Subject line and the body of an RFC 822 message; the other headers are routing noise. */
export function stripEmailHeaders(raw: string): string {
  const m = /\r?\n\r?\n/.exec(raw);
  if (!m) return raw;
  const head = raw.slice(0, m.index);
  const body = raw.slice(m.index + m[0].length);
  const subject = /^subject:[ \t]*(.*(?:\r?\n[ \t].*)*)/im.exec(head)?.[1] ?? '';
  return `${subject.replace(/\s+/g, ' ').trim()}\n${body}`;
}

/** Undoes quoted-printable soft breaks and escapes, drops HTML tags and entities. */
export function cleanText(text: string): string {
  return text
    .replace(/=\r?\n/g, '')
    .replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(Number.parseInt(h, 16)))
    .replace(/<(script|style)[^>]*>[\s\S]*?<\/\1>/gi, ' ')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&[a-z]+;|&#\d+;/gi, ' ');
}

/** Lowercase word tokens (ASCII letters/digits, inner apostrophes kept); overlong runs (base64, hashes) dropped. */
export function tokenize(text: string): string[] {
  const out: string[] = [];
  for (const m of text.toLowerCase().matchAll(/[a-z0-9]+(?:'[a-z]+)*/g)) {
    if (m[0].length <= MAX_TOKEN_CHARS) out.push(m[0]);
  }
  return out;
}

/**
 * The vocabulary: index 0 is padding, 1 unknown, then the (size - 2) most frequent tokens of the
 * given documents (ties by spelling).
 */
export function buildVocab(docs: Iterable<string[]>, size: number): string[] {
  const counts = new Map<string, number>();
  for (const doc of docs) countTokens(counts, doc);
  return vocabFromCounts(counts, size);
}

/** Adds a document's tokens to running counts (for a vocabulary built while streaming). */
export function countTokens(counts: Map<string, number>, doc: string[]): void {
  for (const t of doc) counts.set(t, (counts.get(t) ?? 0) + 1);
}

/** buildVocab's vocabulary from token counts. */
export function vocabFromCounts(counts: Map<string, number>, size: number): string[] {
  if (!Number.isInteger(size) || size < 3)
    throw new Error(`vocabulary size must be >= 3, got ${size}`);
  const ranked = [...counts].sort(
    (a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0),
  );
  return ['<pad>', '<unk>', ...ranked.slice(0, size - 2).map(([t]) => t)];
}

/** Token ids for the first `length` tokens, padded with 0; unknown tokens map to 1. */
export function encodeTokens(
  tokens: string[],
  index: Map<string, number>,
  length: number,
  out = new Int32Array(length),
): Int32Array {
  const n = Math.min(tokens.length, length);
  for (let i = 0; i < n; i++) out[i] = index.get(tokens[i]) ?? UNK_ID;
  out.fill(PAD_ID, n, length);
  return out;
}

export function vocabIndex(vocab: string[]): Map<string, number> {
  return new Map(vocab.map((t, i) => [t, i]));
}
