import { parse as parseYaml } from 'yaml';
import { parseRunSpec, type RunSpec, SpecError } from './runSpec';

/** A run spec from a YAML or JSON file's text; errors name the file and the field. */
export function parseSpecFile(text: string, file: string): RunSpec {
  let value: unknown;
  try {
    value = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw new SpecError(
      `${file} is not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${(e as Error).message}`,
    );
  }
  try {
    return parseRunSpec(value);
  } catch (e) {
    throw new SpecError(`${file}: ${(e as Error).message}`);
  }
}
