import { loadConfig } from '../../lib/config';
import type { Command } from '../command';
import { AUDIT_OPTIONS, AUDIT_USAGE } from './auditUsage';

export const audit: Command = {
  name: 'audit',
  summary:
    'nightly self-influence audits on Temporal Schedules (schedule|list|pause|trigger|delete)',
  usage: `Usage: tda audit <verb> [options]\n\n${AUDIT_USAGE}`,
  rawArgs: true,
  verbOptions: AUDIT_OPTIONS,
  async run({ positionals }) {
    const { runAuditCommand } = await import('./auditCommand');
    await runAuditCommand(loadConfig(), positionals);
  },
};
