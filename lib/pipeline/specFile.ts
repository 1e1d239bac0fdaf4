import { parse as parseYaml } from 'yaml';
import { parseRunSpec, type RunSpec, SpecError } from './runSpec';

/**
 * A spec from a YAML or JSON file's text (a run spec unless another schema's parser is given);
 * errors name the file and the field.
 */
export function parseSpecFile(text: string, file: string): RunSpec;
export function parseSpecFile<T>(text: string, file: string, parse: (value: unknown) => T): T;
export function parseSpecFile<T>(
  text: string,
  file: string,
  parse: (value: unknown) => T | RunSpec = parseRunSpec,
): T | RunSpec {
  let value: unknown;
  try {
    value = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw new SpecError(
      `${file} is not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${(e as Error).message}`,
    );
  }
  try {
    return parse(value);
  } catch (e) {
    throw new SpecError(`${file}: ${(e as Error).message}`);
  }
}
