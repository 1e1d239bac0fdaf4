import type { Progress } from '../lib/pipeline/types';

/** A one-line progress bar on a terminal; plain periodic lines when output is not a TTY. */
export function progressLine(p: Progress, seconds: number): string {
  const width = 30;
  const frac = p.shardsTotal > 0 ? p.shardsDone / p.shardsTotal : 0;
  const filled = Math.round(frac * width);
  const bar = `${'#'.repeat(filled)}${'-'.repeat(width - filled)}`;
  return (
    `[${bar}] ${p.stage.padEnd(17)} shards ${p.shardsDone}/${p.shardsTotal}  ` +
    `${Math.round(p.examplesPerSecond)} ex/s  ${seconds.toFixed(0)} s`
  );
}

export function createProgressPrinter(stream: NodeJS.WriteStream = process.stderr) {
  let lastPlain = 0;
  return {
    update(p: Progress, seconds: number) {
      const line = progressLine(p, seconds);
      if (stream.isTTY) stream.write(`\r${line}`);
      else if (seconds - lastPlain >= 5 || p.stage === 'done') {
        lastPlain = seconds;
        stream.write(`${line}\n`);
      }
    },
    done() {
      if (stream.isTTY) stream.write('\n');
    },
  };
}
