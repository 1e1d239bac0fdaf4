import type { ColumnBatch, FormatReader, ReadOptions } from './columnBatch';
import { ImportInputError } from './inputError';
import type { SourceFile } from './source';

export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg'];

/**
 * A folder of `class_name/*.png|jpg` as a table of three columns: `path` (relative to the
 * folder), `label` (the class folder's name) and `image` (the encoded bytes, decoded later by the
 * image column's encoder). Files in sorted order, so the row order is the same on every run.
 */
async function* readImageFolder(
  files: SourceFile[],
  opts: ReadOptions,
): AsyncGenerator<ColumnBatch> {
  const images = files.filter((f) =>
    IMAGE_EXTENSIONS.some((e) => f.relative.toLowerCase().endsWith(e)),
  );
  if (images.length === 0) throw new ImportInputError('the image folder has no .png or .jpg files');
  const names = ['path', 'label', 'image'];
  const batchRows = Math.max(1, Math.min(opts.batchRows, 256));
  for (let start = 0; start < images.length; start += batchRows) {
    const part = images.slice(start, start + batchRows);
    const path: string[] = [];
    const label: string[] = [];
    const image: Uint8Array[] = [];
    for (const f of part) {
      const segments = f.relative.split('/');
      if (segments.length < 2) {
        throw new ImportInputError(
          `${f.name}: an image folder holds one folder per class (class_name/*.png); this image is not in one`,
        );
      }
      path.push(f.relative);
      label.push(segments[segments.length - 2]);
      image.push(await f.bytes());
    }
    yield {
      file: part[0].name,
      firstRow: start + 1,
      rows: part.length,
      names,
      columns: new Map<string, ArrayLike<unknown>>([
        ['path', path],
        ['label', label],
        ['image', image],
      ]),
      types: new Map([
        ['path', 'string'],
        ['label', 'string'],
        ['image', 'binary'],
      ]),
    };
  }
}

export const imageFolderReader: FormatReader = {
  name: 'images',
  summary: 'a folder of class_name/*.png|jpg (decoded by sharp)',
  extensions: IMAGE_EXTENSIONS,
  read: readImageFolder,
};
