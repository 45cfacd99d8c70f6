// `au doctor` lines for A30: each agent account (and each account `au delete` kept) must not be
// a login account. Root-only facts (/etc/shadow, /etc/at.deny) are read with `sudo -n`, so the
// doctor never prompts; without a sudo timestamp they are a WARN that says how to get one.
import { existsSync } from 'node:fs';
import { JOB_SERVICES, type JobAccess, denyCommand, jobAccess, removeFromAllowCommand } from '../agents/job-denials.js';
import { EXPIRED_ON, lingerFileOf, nologinShell, quietRootQuery, readShadow, refusesLogin } from '../agents/login.js';
import { agentHomeOf } from '../agents/names.js';
import type { Config } from '../config/schema.js';
import { lookupUser } from '../system/accounts.js';
import type { Human } from '../system/human.js';
import type { CommandRunner } from '../system/runner.js';
import type { Check } from './checks.js';

const RETRY = 'sudo -v && au doctor';

export function loginChecks(runner: CommandRunner, human: Human, name: string, label: string): Check[] {
  const s = human.uid === 0 ? '' : 'sudo ';
  const checks: Check[] = [];
  const pass = (check: string, detail: string): void => void checks.push({ status: 'PASS', check: `${label} ${check}`, detail });
  const fail = (check: string, detail: string, fix: string, status: 'WARN' | 'FAIL' = 'FAIL'): void =>
    void checks.push({ status, check: `${label} ${check}`, detail, fix });

  const user = lookupUser(runner, name);
  if (!user) return checks; // reported by the agent's health
  if (refusesLogin(user.shell)) pass('login shell', `${user.shell}: su and sshd give no shell`);
  else
    fail(
      'login shell',
      `${user.shell}: su and sshd (with a key the agent installs) give a shell`,
      `${s}usermod --shell ${nologinShell()} ${name}`,
    );

  const read = quietRootQuery(runner);
  const shadow = readShadow(read, name);
  if (!shadow) {
    fail('password', 'cannot read /etc/shadow (sudo needs a password): password lock and expiry not checked', RETRY, 'WARN');
  } else {
    if (shadow.passwordLocked) pass('password', 'locked');
    else fail('password', 'not locked: a password could log in', `${s}usermod --lock ${name}`);
    if (shadow.expired) pass('expiry', 'expired: PAM refuses sshd (key logins and port forwarding included), cron, at and systemd --user');
    else
      fail(
        'expiry',
        'not expired: sshd with a key the agent installs, cron and at let it in outside any run',
        `${s}usermod --expiredate ${EXPIRED_ON} ${name}`,
      );
  }

  for (const service of JOB_SERVICES) {
    const access: JobAccess = jobAccess(read, service, name);
    if (access === 'absent') pass(service.name, `${service.tool} is not installed`);
    else if (access === 'denied') pass(service.name, `listed in ${service.deny}`);
    else if (access === 'not-allowed') pass(service.name, `${service.allow} does not list ${name}`);
    else if (access === 'allowed') fail(service.name, `${service.tool} accepts jobs of ${name}`, denyCommand(service, name, s));
    else if (access === 'listed-in-allow') fail(service.name, `${service.allow} lists ${name}`, removeFromAllowCommand(service, name, s));
    else fail(service.name, `cannot read ${service.allow} or ${service.deny} (sudo needs a password)`, RETRY, 'WARN');
  }

  if (existsSync(lingerFileOf(name)))
    fail('linger', 'lingering: its user manager starts at boot, outside any run', `${s}loginctl disable-linger ${name}`);
  else pass('linger', 'no lingering');
  return checks;
}

/** One line per account `au delete` kept, plus any of its login checks that do not pass. */
export function keptChecks(runner: CommandRunner, human: Human, config: Config): Check[] {
  const checks: Check[] = [];
  for (const kept of config.kept) {
    const name = kept.userName;
    if (!lookupUser(runner, name)) {
      checks.push({
        status: 'WARN',
        check: `kept ${name}`,
        detail: `the account au delete kept (uid ${kept.uid}) no longer exists`,
        fix: `au delete -H -a ${name}`,
      });
      continue;
    }
    checks.push({
      status: 'PASS',
      check: `kept ${name}`,
      detail: `account kept by au delete (uid ${kept.uid}) with its home ${agentHomeOf(name)}: au new -a ${name} takes it back, au delete -H -a ${name} removes it`,
    });
    checks.push(...loginChecks(runner, human, name, `kept ${name}`).filter((c) => c.status !== 'PASS'));
  }
  return checks;
}
