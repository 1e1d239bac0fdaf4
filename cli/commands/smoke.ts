import { loadConfig } from '../../lib/config';
import type { Command } from '../command';

export const smoke: Command = {
  name: 'smoke',
  summary: 'prove the stack end to end (an Arrow file to S3 and back through Temporal)',
  usage:
    'Usage: tda smoke\n\nRuns the smoke workflow with an in-process worker and prints what came back.',
  async run() {
    const { runSmoke } = await import('../smoke');
    await runSmoke(loadConfig());
  },
};
