// `au doctor`: PASS/WARN/FAIL lines for the machine and every agent; exit 1 on FAIL.
import { loadConfig } from '../../config/store.js';
import { type Check, agentChecks, formatCheck, machineChecks } from '../../doctor/checks.js';
import type { Context } from '../context.js';
import { ExitCode } from '../errors.js';
import { paint, printJson, say } from '../output.js';

const COLOUR = { PASS: 'green', WARN: 'yellow', FAIL: 'red' } as const;

export async function doctorCommand(ctx: Context, json: boolean): Promise<void> {
  const config = loadConfig(ctx.configPath);
  const { recordChecks } = await import('../../server/record-health.js');
  const checks: Check[] = [...machineChecks(ctx.runner, ctx.human), ...agentChecks(ctx.runner, ctx.human, config), ...recordChecks()];
  if (json) printJson(checks.map((c) => ({ ...c, fix: c.fix ?? null })));
  else for (const c of checks) say(formatCheck(c).replace(c.status, paint(c.status, COLOUR[c.status])));
  if (checks.some((c) => c.status === 'FAIL')) throw new ExitCode(1);
}
