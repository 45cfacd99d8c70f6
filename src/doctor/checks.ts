// `au doctor`: what this machine and each agent offer for containment, as PASS/WARN/FAIL lines,
// each WARN/FAIL with the one command that fixes it. Read-only: it changes nothing.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { checkAgent } from '../agents/health-facts.js';
import type { Area, Finding } from '../agents/health.js';
import { keptChecks, loginChecks } from './account-checks.js';
import { landlockCheck } from './landlock.js';
import { driverGroupOf } from '../agents/names.js';
import type { AgentConfig, Config } from '../config/schema.js';
import { type CgroupSupport, detectCgroups, limitMechanism } from '../limits/cgroups.js';
import { enforced } from '../net/policy.js';
import { isMember, lookupGroup } from '../system/accounts.js';
import { onPath } from '../system/commands-available.js';
import type { Human } from '../system/human.js';
import type { CommandRunner } from '../system/runner.js';

export type Status = 'PASS' | 'WARN' | 'FAIL';

export interface Check {
  status: Status;
  /** What was checked: a sysctl name, a tool, `agent NAME: ...`. */
  check: string;
  detail: string;
  /** The one command that fixes a WARN or FAIL. */
  fix?: string;
}

const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const sudo = (human: Human): string => (human.uid === 0 ? '' : 'sudo ');

function sysctl(name: string): string | undefined {
  try {
    return readFileSync(`/proc/sys/${name.replace(/\./g, '/')}`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** Mount options of /proc (the super-block options, where hidepid lives). */
function procOptions(): string {
  try {
    for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
      const fields = line.split(' ');
      if (fields[4] !== '/proc') continue;
      const dash = fields.indexOf('-');
      return `${fields[5] ?? ''},${fields[dash + 3] ?? ''}`;
    }
  } catch {
    // unknown
  }
  return '';
}

/** Sets a sysctl now and in /etc/sysctl.d, so that it survives a reboot. */
export function persistentSysctl(s: string, name: string, value: number): string {
  return `${s}sysctl -w ${name}=${value} && echo '${name} = ${value}' | ${s}tee /etc/sysctl.d/60-au-${name}.conf >/dev/null`;
}

export function machineChecks(runner: CommandRunner, human: Human): Check[] {
  const checks: Check[] = [];
  const s = sudo(human);
  const add = (status: Status, check: string, detail: string, fix?: string): void => {
    checks.push({ status, check, detail, ...(status === 'PASS' ? {} : { fix }) });
  };

  const aclTools = onPath('setfacl', SYSTEM_PATH) && onPath('getfacl', SYSTEM_PATH);
  if (!aclTools) add('FAIL', 'acl', 'setfacl/getfacl are not installed', `${s}apt-get install acl`);
  else if (runner.query(['getfacl', '--absolute-names', '--omit-header', human.home]).status !== 0) {
    add(
      'FAIL',
      'acl',
      `ACLs do not work on ${human.home}`,
      `${s}mount -o remount,acl ${human.home}  # and add acl to its options in /etc/fstab to keep it after a reboot`,
    );
  } else add('PASS', 'acl', `setfacl/getfacl installed, ACLs readable on ${human.home}`);

  if (onPath('cc', SYSTEM_PATH)) add('PASS', 'cc', 'a C compiler is installed (au new builds the entrypoint)');
  else add('FAIL', 'cc', 'no C compiler: au new cannot build the entrypoint', `${s}apt-get install gcc libc6-dev`);

  if (human.uid === 0) add('PASS', 'sudo', 'running as root: no sudo needed');
  else if (onPath('sudo', SYSTEM_PATH)) add('PASS', 'sudo', 'sudo is installed (privileged set-up steps)');
  else add('FAIL', 'sudo', 'sudo is not installed: au cannot run its privileged set-up steps', 'su -c "apt-get install sudo"');

  try {
    const mode = statSync(human.home).mode & 0o7777;
    const text = mode.toString(8).padStart(4, '0');
    if (mode & 0o007)
      add('FAIL', 'home', `${human.home} is accessible by other users, agents included (mode ${text})`, `chmod o-rwx ${human.home}`);
    else add('PASS', 'home', `${human.home} is private (mode ${text})`);
  } catch {
    add('WARN', 'home', `cannot stat ${human.home}`, `ls -ld ${human.home}`);
  }

  const tiocsti = sysctl('dev.tty.legacy_tiocsti');
  if (tiocsti === undefined)
    add(
      'WARN',
      'dev.tty.legacy_tiocsti',
      'not available on this kernel (< 6.2): TIOCSTI works; au run relies on its own PTY',
      'uname -r  # upgrade to Linux >= 6.2',
    );
  else if (tiocsti === '0') add('PASS', 'dev.tty.legacy_tiocsti', '0: TIOCSTI is disabled');
  else
    add(
      'WARN',
      'dev.tty.legacy_tiocsti',
      `${tiocsti}: TIOCSTI works (au run gives agents their own PTY; disabling it is defence in depth)`,
      persistentSysctl(s, 'dev.tty.legacy_tiocsti', 0),
    );

  // Every run has its own pid namespace and its own /proc (the entrypoint mounts it), so an agent
  // sees only its run's processes, whatever the host's /proc says. hidepid only hides the
  // processes of the host's users from each other.
  const hidepid = /(?:^|,)hidepid=([^,]+)/.exec(procOptions())?.[1];
  add(
    'PASS',
    'proc.hidepid',
    `each run has its own pid namespace and /proc: agents see only their run's processes (host /proc: ${hidepid ? `hidepid=${hidepid}` : 'no hidepid'})`,
  );

  const ptrace = sysctl('kernel.yama.ptrace_scope');
  if (ptrace !== undefined) {
    if (Number(ptrace) >= 1) add('PASS', 'kernel.yama.ptrace_scope', `${ptrace}`);
    else
      add(
        'WARN',
        'kernel.yama.ptrace_scope',
        `${ptrace}: any process may ptrace others of its uid`,
        persistentSysctl(s, 'kernel.yama.ptrace_scope', 1),
      );
  }

  for (const [name, want] of [
    ['fs.protected_symlinks', 1],
    ['fs.protected_regular', 1],
  ] as const) {
    const value = sysctl(name);
    if (value === undefined) add('WARN', name, 'not available on this kernel', 'uname -r  # upgrade the kernel');
    else if (Number(value) >= want) add('PASS', name, value);
    else add('WARN', name, `${value}: links and files planted in shared sticky folders are followed`, persistentSysctl(s, name, want));
  }

  const cg = detectCgroups();
  const missing = ['memory', 'cpu', 'pids'].filter((c) => !cg.controllers.includes(c));
  if (!cg.version)
    add(
      'WARN',
      'cgroup',
      'no cgroup filesystem: memory, cpu and pids limits cannot be enforced',
      `${s}mount -t cgroup2 none /sys/fs/cgroup  # and add it to /etc/fstab to keep it after a reboot`,
    );
  else if (missing.length > 0) {
    add(
      'WARN',
      'cgroup',
      `cgroup v${cg.version}, controllers: ${cg.controllers.join(', ') || 'none'} (missing ${missing.join(', ')})`,
      `${s}mount -t cgroup -o ${missing[0]} none /sys/fs/cgroup/${missing[0]}  # and add it to /etc/fstab to keep it after a reboot`,
    );
  } else add('PASS', 'cgroup', `cgroup v${cg.version}, controllers: ${cg.controllers.join(', ')}`);

  if (existsSync('/usr/sbin/nft') || onPath('nft', SYSTEM_PATH)) add('PASS', 'nftables', 'nft is installed (network policies)');
  else add('WARN', 'nftables', 'nft is not installed: network policies other than allow cannot be applied', `${s}apt-get install nftables`);
  checks.push(landlockCheck());
  return checks;
}

const AREA_LABEL: Record<Area, (name: string) => string> = {
  agent: (name) => `agent ${name}`,
  limits: (name) => `agent ${name} limits`,
  network: (name) => `agent ${name} network`,
  launch: (name) => `agent ${name} launch`,
  membership: (name) => `group ${driverGroupOf(name)}`,
};

/** What a PASS line of each area says (the findings say what is wrong). */
function passDetail(area: Area, agent: AgentConfig, human: Human, cg: CgroupSupport): string {
  if (area === 'agent') return 'healthy';
  if (area === 'limits') return limitMechanism(cg, agent.limits);
  if (area === 'launch') return `the entrypoint accepts a run with its ${agent.mounts.length} share(s)`;
  if (area === 'membership') return `${human.name} is a member`;
  return enforced(agent.net)
    ? `policy ${agent.net.policy} loaded (nftables table inet au-${agent.userName})`
    : 'policy allow (no filtering)';
}

/** The health model's findings of one agent as doctor lines: one PASS per sound area, one line per finding. */
export function findingChecks(
  agent: AgentConfig,
  findings: readonly Finding[],
  human: Human,
  cg: CgroupSupport,
  areas: readonly Area[],
): Check[] {
  const checks: Check[] = [];
  for (const area of areas) {
    const check = AREA_LABEL[area](agent.userName);
    const mine = findings.filter((f) => f.area === area);
    if (mine.length === 0) checks.push({ status: 'PASS', check, detail: passDetail(area, agent, human, cg) });
    for (const f of mine) {
      const detail = area === 'membership' ? `${human.name} is not a member: au run -a ${agent.userName} is refused` : f.detail;
      checks.push({ status: f.severity === 'fail' ? 'FAIL' : 'WARN', check, detail, fix: f.fix });
    }
  }
  return checks;
}

export function agentChecks(runner: CommandRunner, human: Human, config: Config): Check[] {
  const checks: Check[] = [];
  const memberships: Check[] = [];
  const cg = detectCgroups();
  const s = sudo(human);
  for (const agent of config.agents) {
    const findings = checkAgent(runner, agent, human, cg);
    checks.push(...findingChecks(agent, findings, human, cg, ['agent', 'limits']));
    checks.push(...loginChecks(runner, human, agent.userName, `agent ${agent.userName}`));
    checks.push(...findingChecks(agent, findings, human, cg, ['network', 'launch']));
    // A missing group is the agent's finding; membership is about a group that exists.
    if (lookupGroup(runner, agent.group)) memberships.push(...findingChecks(agent, findings, human, cg, ['membership']));
  }
  checks.push(...keptChecks(runner, human, config));
  checks.push(...memberships);
  // Any other su-as-* group the human is in: it may drive an account that is not an agent here.
  const names = new Set([...config.agents, ...config.kept].map((a) => a.userName));
  const groups = runner
    .query(['getent', 'group'])
    .stdout.split('\n')
    .filter((line) => line.startsWith('su-as-'))
    .map((line) => line.split(':')[0]!);
  for (const group of groups) {
    if (names.has(group.slice('su-as-'.length))) continue;
    const entry = lookupGroup(runner, group);
    if (entry && isMember(runner, human, entry)) {
      checks.push({
        status: 'WARN',
        check: `group ${group}`,
        detail: `${human.name} may drive ${group.slice(6)}, which is not an agent in this config`,
        fix: `${s}gpasswd -d ${human.name} ${group}`,
      });
    }
  }
  return checks;
}

export const formatCheck = (c: Check): string => `${c.status}  ${c.check}: ${c.detail}${c.fix ? `\n      fix: ${c.fix}` : ''}`;
