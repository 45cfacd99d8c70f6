// cron and at must never run anything as an agent (A30): outside a run a job has none of the
// run's namespaces, limits or network check. Both read an allow file (when it exists, only the
// users it lists may use them) or else a deny file. `au new` adds the agent to the deny file
// (creating it when the tool is installed and there is no allow file) and `au delete -H` removes
// exactly that line again; other lines are never touched.
import { existsSync, readFileSync } from 'node:fs';
import { onPath } from '../system/commands-available.js';
import type { CommandRunner, StepResult } from '../system/runner.js';

export interface JobService {
  name: 'cron' | 'at';
  /** The command users schedule jobs with (it checks the allow/deny files). */
  tool: string;
  allow: string;
  deny: string;
}

export const JOB_SERVICES: readonly JobService[] = [
  { name: 'cron', tool: 'crontab', allow: '/etc/cron.allow', deny: '/etc/cron.deny' },
  { name: 'at', tool: 'at', allow: '/etc/at.allow', deny: '/etc/at.deny' },
];

const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Runs a read-only command as root (`/etc/at.deny` is not world-readable on Debian). */
export type RootQuery = (argv: readonly string[]) => StepResult;

/**
 * - `absent`: neither the tool nor its files exist: nothing can schedule a job.
 * - `denied`: listed in the deny file (and there is no allow file).
 * - `not-allowed`: an allow file exists and does not list the agent.
 * - `allowed`: no allow file and not in the deny file: the tool accepts the agent.
 * - `listed-in-allow`: the allow file lists the agent (someone else's line: au does not remove it).
 * - `unknown`: a file could not be read.
 */
export type JobAccess = 'absent' | 'denied' | 'not-allowed' | 'allowed' | 'listed-in-allow' | 'unknown';

export const serviceInstalled = (service: JobService): boolean =>
  onPath(service.tool, SYSTEM_PATH) || existsSync(service.allow) || existsSync(service.deny);

/** The names a list file holds, `missing`, or `unreadable`. */
function readList(read: RootQuery, path: string): string[] | 'missing' | 'unreadable' {
  if (!existsSync(path)) return 'missing';
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    const result = read(['cat', path]);
    if (result.status !== 0) return 'unreadable';
    text = result.stdout;
  }
  return text.split('\n').map((line) => line.trim());
}

export function jobAccess(read: RootQuery, service: JobService, name: string): JobAccess {
  if (!serviceInstalled(service)) return 'absent';
  const allow = readList(read, service.allow);
  if (allow === 'unreadable') return 'unknown';
  if (allow !== 'missing') return allow.includes(name) ? 'listed-in-allow' : 'not-allowed';
  const deny = readList(read, service.deny);
  if (deny === 'unreadable') return 'unknown';
  return deny !== 'missing' && deny.includes(name) ? 'denied' : 'allowed';
}

/** The command that denies `name` (printed by `au doctor` as the fix, run by `au new`). */
export const denyCommand = (service: JobService, name: string, sudo: string): string => `echo ${name} | ${sudo}tee -a ${service.deny}`;
/** A sed script that removes exactly the line `name` (escaped, though au's names have no metacharacters). */
const removeLineScript = (name: string): string => `/^${name.replace(/[.[\]*^$\\/]/g, '\\$&')}$/d`;
export const removeFromAllowCommand = (service: JobService, name: string, sudo: string): string =>
  `${sudo}sed -i '${removeLineScript(name)}' ${service.allow}`;

/** Denies `name` wherever the tool would accept it. Returns warnings for what au leaves to the admin. */
export function denyJobs(runner: CommandRunner, read: RootQuery, name: string): string[] {
  const warnings: string[] = [];
  for (const service of JOB_SERVICES) {
    const access = jobAccess(read, service, name);
    if (access === 'allowed') {
      if (!existsSync(service.deny)) runner.change(['install', '-m', '644', '/dev/null', service.deny], { privileged: true });
      runner.change(['tee', '-a', service.deny], { privileged: true, input: `${name}\n`, showInput: true });
    } else if (access === 'listed-in-allow') {
      warnings.push(
        `${service.allow} lists ${name}: ${service.tool} accepts its jobs; fix: ${removeFromAllowCommand(service, name, 'sudo ')}`,
      );
    } else if (access === 'unknown') {
      warnings.push(`cannot read ${service.allow} or ${service.deny}: check that ${name} may not use ${service.tool}`);
    }
  }
  return warnings;
}

/** Removes the line `au new` added, for an account that is going away. */
export function undenyJobs(runner: CommandRunner, read: RootQuery, name: string): void {
  for (const service of JOB_SERVICES) {
    const deny = readList(read, service.deny);
    if (Array.isArray(deny) && deny.includes(name)) {
      runner.change(['sed', '-i', removeLineScript(name), service.deny], { privileged: true });
    }
  }
}
