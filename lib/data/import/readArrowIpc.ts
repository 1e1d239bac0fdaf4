import { open } from 'node:fs/promises';
import { RecordBatchReader } from 'apache-arrow';
import { arrowTypes, fromArrowBatch } from './arrowBatch';
import type { ColumnBatch, FormatReader } from './columnBatch';
import { perFile } from './columnBatch';
import { ImportInputError } from './inputError';
import type { SourceFile } from './source';

const MAGIC = 'ARROW1';

/**
 * Arrow IPC, file or stream format (told apart by the file's first bytes, whatever its name): a
 * file is read batch by batch through random access to its footer, a stream as it arrives.
 */
async function* readIpc(file: SourceFile): AsyncGenerator<ColumnBatch> {
  const { path, release } = await file.localPath();
  const handle = await open(path);
  try {
    const head = new Uint8Array(6);
    const { bytesRead } = await handle.read(head, 0, 6, 0);
    if (bytesRead === 0) throw new ImportInputError(`${file.name} is empty`);
    const isFile = bytesRead === 6 && new TextDecoder().decode(head) === MAGIC;
    let reader: AsyncIterable<import('apache-arrow').RecordBatch> & {
      schema: import('apache-arrow').Schema;
    };
    try {
      reader = isFile
        ? await RecordBatchReader.from(handle)
        : await RecordBatchReader.from(handle.createReadStream({ start: 0, autoClose: false }));
      await (reader as unknown as { open(): Promise<unknown> }).open();
    } catch (e) {
      throw new ImportInputError(
        `${file.name} is not a readable Arrow IPC ${isFile ? 'file' : 'stream'} (truncated or corrupt?): ${(e as Error).message}`,
      );
    }
    let row = 1;
    let types: ReturnType<typeof arrowTypes> | undefined;
    let any = false;
    try {
      for await (const batch of reader) {
        types ??= arrowTypes(reader.schema);
        any = true;
        yield fromArrowBatch(batch, file.name, row, types);
        row += batch.numRows;
      }
    } catch (e) {
      if (e instanceof ImportInputError) throw e;
      throw new ImportInputError(
        `${file.name}: Arrow IPC data is truncated or corrupt after row ${row - 1}: ${(e as Error).message}`,
      );
    }
    if (!any) throw new ImportInputError(`${file.name} has no record batches (no rows)`);
  } finally {
    await handle.close();
    await release();
  }
}

export const arrowReader: FormatReader = {
  name: 'arrow',
  summary: 'Apache Arrow IPC, file or stream format',
  extensions: ['.arrow', '.arrows', '.feather', '.ipc'],
  read: perFile(readIpc),
};
