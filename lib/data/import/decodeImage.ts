import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { ImportInputError } from './inputError';

/** An image's size and whether it is grey (1 channel) or colour (3; alpha dropped). */
/** sharp (libvips, native) loaded on first use, so that code that never decodes images does not load it. */
async function sharp() {
  return (await import('sharp')).default;
}

export async function imageInfo(
  bytes: Uint8Array,
  where: string,
): Promise<{ height: number; width: number; channels: 1 | 3 }> {
  try {
    const m = await (await sharp())(bytes).metadata();
    const grey = m.channels !== undefined && m.channels <= 2;
    return { height: m.height!, width: m.width!, channels: grey ? 1 : 3 };
  } catch (e) {
    throw new ImportInputError(`${where}: not a readable image: ${(e as Error).message}`);
  }
}

/**
 * Decodes an image (PNG, JPEG, anything sharp reads) to height × width × channels floats in
 * [0, 1], row-major and channel-last like the other image data sets; an image of another size is
 * resized to fill.
 */
export async function decodeImage(
  bytes: Uint8Array,
  shape: { height: number; width: number; channels: 1 | 3 },
  out: Float32Array,
  where: string,
): Promise<void> {
  let data: Buffer;
  try {
    const decode = await sharp();
    let img = decode(bytes).removeAlpha().resize(shape.width, shape.height, { fit: 'fill' });
    img = shape.channels === 1 ? img.greyscale() : img.toColourspace('srgb');
    const r = await img.raw().toBuffer({ resolveWithObject: true });
    if (r.info.channels !== shape.channels) {
      throw new Error(`decoded to ${r.info.channels} channels, expected ${shape.channels}`);
    }
    data = r.data;
  } catch (e) {
    throw new ImportInputError(`${where}: not a readable image: ${(e as Error).message}`);
  }
  for (let i = 0; i < data.length; i++) out[i] = data[i] / 255;
}

/**
 * An image column's value as encoded bytes: the bytes themselves, a {bytes} struct (as Hugging
 * Face's Parquet image columns hold), or a path relative to the local table file's folder.
 */
export async function imageBytesOf(
  value: unknown,
  file: string,
  where: string,
): Promise<Uint8Array> {
  if (value instanceof Uint8Array) return value;
  const inner = (value as { bytes?: unknown } | null)?.bytes;
  if (inner instanceof Uint8Array) return inner;
  if (typeof value === 'string' && value !== '') {
    if (file.startsWith('s3://')) {
      throw new ImportInputError(
        `${where}: an image path in a table on S3 is not supported; store the bytes`,
      );
    }
    try {
      return new Uint8Array(await readFile(resolve(dirname(file), value)));
    } catch (e) {
      throw new ImportInputError(`${where}: cannot read image "${value}": ${(e as Error).message}`);
    }
  }
  throw new ImportInputError(`${where}: no image (expected bytes or a file path)`);
}
