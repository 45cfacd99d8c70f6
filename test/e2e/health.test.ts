// The one health model end to end: au run, au info, au list and au doctor agree, in the very
// login shell that ran `au new` (which does not hold the new su-as-NAME group yet), on an
// entrypoint from an older au (which `au new` rebuilds), and on a real breakage.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { compileFlagsFor } from '../../src/entrypoint/install.js';
import entrypointSource from '../../src/entrypoint/su_as_agent.c';
import { type Human, createHuman, must, packageForHumans, sh, uniqueName } from '../helpers/system.js';

interface Check {
  status: 'PASS' | 'WARN' | 'FAIL';
  check: string;
  detail: string;
  fix: string | null;
}

const DESTRUCTIVE = /au delete|userdel|groupdel|rm -/;
const entrypointOf = (agent: string): string => `/usr/local/libexec/agent-as-unix-user/${agent}/su_as_agent`;

/** The agent's lines of `au doctor --json` (its own, its limits, network, launch, group, logins). */
function agentLines(checks: Check[], agent: string): Check[] {
  return checks.filter((c) => c.check === `group su-as-${agent}` || c.check === `agent ${agent}` || c.check.startsWith(`agent ${agent} `));
}

describe('one health model', () => {
  let human: Human;
  before(() => {
    human = createHuman();
  });
  after(() => human.cleanup());

  const au = `${process.execPath} ${packageForHumans()}/bin/au`;

  test('in the login shell that ran au new: info, list, doctor and run all say healthy; no fix shown is destructive', () => {
    const agent = uniqueName();
    human.track(agent);
    // A real login shell of the human: its credentials are fixed at login, before au new adds the group.
    const script = [
      `${au} new -y -a ${agent} >/dev/null 2>&1 || exit 90`,
      `echo "groups: $(id -Gn)"`,
      `${au} info -a ${agent}; echo "info-status: $?"`,
      `${au} list; echo "list-status: $?"`,
      `${au} doctor --json > doctor.json; echo "doctor-status: $?"`,
      `${au} doctor; echo`,
      `${au} run -a ${agent} -- id -un; echo "run-status: $?"`,
    ].join('\n');
    const r = sh(['runuser', '-l', human.name, '-c', script]);
    const out = r.stdout;
    assert.notEqual(r.status, 90, `au new failed: ${r.stderr}`);
    assert.doesNotMatch(
      /^groups: (.*)$/m.exec(out)?.[1] ?? '',
      new RegExp(`su-as-${agent}`),
      'the premise: this shell does not hold the new group',
    );
    assert.match(out, /^info-status: 0$/m, out);
    assert.match(out, /^list-status: 0$/m, out);
    assert.doesNotMatch(out, /BROKEN|EACCES/, out);
    assert.match(out, new RegExp(`^${agent}$`, 'm'), 'au list shows the agent without a mark');
    assert.match(out, /^run-status: 0$/m, out);
    assert.match(out, new RegExp(`^${agent}$`, 'm'));
    const checks = JSON.parse(readFileSync(`${human.home}/doctor.json`, 'utf8')) as Check[];
    const mine = agentLines(checks, agent);
    assert.deepEqual(
      mine.find((c) => c.check === `agent ${agent}`),
      { status: 'PASS', check: `agent ${agent}`, detail: 'healthy', fix: null },
    );
    assert.equal(mine.find((c) => c.check === `group su-as-${agent}`)?.status, 'PASS');
    assert.deepEqual(
      mine.filter((c) => c.status === 'FAIL'),
      [],
      JSON.stringify(mine, null, 1),
    );
    for (const c of checks) if (c.fix) assert.doesNotMatch(c.fix, DESTRUCTIVE, `${c.check}: ${c.fix}`);
    assert.doesNotMatch(out, /fix: .*au delete/);
  });

  test('an entrypoint from an older au is reported by all four with the fix au new; au new -y rebuilds it and runs work', () => {
    const agent = human.newAgent();
    const path = entrypointOf(agent);
    const configPath = `${human.home}/.config/agent-as-unix-user.toml`;
    const original = readFileSync(configPath, 'utf8');
    // This agent's table of the config (the human has others).
    const table = original.split(/(?=^\[\[agents\]\])/m).find((t) => t.includes(`user_name = "${agent}"`))!;
    const currentSha = /entrypoint_sha256 = "([0-9a-f]+)"/.exec(table)![1]!;
    assert.match(table, /entrypoint_build = "[0-9a-f]{64}"/, 'au new records what the entrypoint was built from');

    // What an older au left: a different binary (built with other flags), recorded with its own
    // hash and without a build stamp, as au recorded agents before the stamp existed.
    const work = mkdtempSync(join(tmpdir(), 'aut-old-entry-'));
    try {
      writeFileSync(join(work, 'old.c'), entrypointSource);
      const ids = (flag: string): number => Number(must(['id', flag, agent]).trim());
      const driverGid = Number(must(['getent', 'group', `su-as-${agent}`]).split(':')[2]);
      const flags = compileFlagsFor({
        agentName: agent,
        agentUid: ids('-u'),
        agentGid: ids('-g'),
        driverGroup: `su-as-${agent}`,
        driverGid,
        agentHome: `/home/${agent}`,
      }).map((f) => (f === '-O2' ? '-O1' : f));
      must(['cc', ...flags, '-o', join(work, 'old'), join(work, 'old.c')]);
      must(['install', '-o', 'root', '-g', `su-as-${agent}`, '-m', '4750', join(work, 'old'), path]);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
    const oldSha = must(['sha256sum', path]).split(' ')[0]!;
    assert.notEqual(oldSha, currentSha);
    writeFileSync(configPath, original.replace(table, table.replace(/^entrypoint_build = .*\n/m, '').replace(currentSha, oldSha)));

    const info = human.au(['info', '-a', agent]);
    assert.equal(info.status, 1, info.stdout);
    assert.match(info.stdout, /BROKEN/);
    assert.match(info.stdout, /built by an older au/);
    assert.match(info.stdout, new RegExp(`fix: au new -a ${agent}$`, 'm'));
    assert.doesNotMatch(info.stdout, /tampered/, 'the recorded hash matches: it is out of date, not altered');
    assert.match(human.au(['list']).stdout, new RegExp(`^${agent} \\(BROKEN\\)$`, 'm'));
    const doctor = JSON.parse(human.au(['doctor', '--json']).stdout) as Check[];
    const line = doctor.find((c) => c.check === `agent ${agent}` && c.status === 'FAIL');
    assert.ok(line, JSON.stringify(agentLines(doctor, agent)));
    assert.match(line.detail, /built by an older au/);
    assert.equal(line.fix, `au new -a ${agent}`);
    const run = human.au(['run', '-a', agent, '--', 'true']);
    assert.equal(run.status, 1);
    assert.match(run.stderr, new RegExp(`refusing to run: .*built by an older au.*au new -a ${agent}`));

    const rebuild = human.au(['new', '-y', '-a', agent]);
    assert.equal(rebuild.status, 0, rebuild.stderr);
    assert.match(rebuild.stderr, /\$ sudo install -o root -g su-as-\S+ -m 4750 /, 'the reinstall is printed before it runs');
    assert.match(rebuild.stderr, /Rebuilt and reinstalled the entrypoint/);
    const newSha = must(['sha256sum', path]).split(' ')[0]!;
    assert.notEqual(newSha, oldSha);
    assert.match(readFileSync(configPath, 'utf8'), new RegExp(`entrypoint_sha256 = "${newSha}"`));
    assert.equal(human.au(['info', '-a', agent]).status, 0);
    const ran = human.au(['run', '-a', agent, '--', 'id', '-un']);
    assert.equal(ran.status, 0, ran.stderr);
    assert.equal(ran.stdout.trim(), agent);

    const again = human.au(['new', '-y', '-a', agent]);
    assert.equal(again.status, 0);
    assert.match(again.stderr, /already exists: nothing to do/, 'up to date: left as it is');
    assert.doesNotMatch(again.stderr, /\$ /);
  });

  test('an entrypoint whose mode root changed is BROKEN for all four, and au new repairs it', () => {
    const agent = human.newAgent();
    const path = entrypointOf(agent);
    must(['chmod', '0755', path]);
    const info = human.au(['info', '-a', agent]);
    assert.equal(info.status, 1);
    assert.match(info.stdout, /BROKEN/);
    assert.match(info.stdout, /mode 0755, expected 4750/);
    assert.match(human.au(['list']).stdout, new RegExp(`^${agent} \\(BROKEN\\)$`, 'm'));
    const doctor = human.au(['doctor']);
    assert.equal(doctor.status, 1);
    assert.match(doctor.stdout, new RegExp(`^FAIL  agent ${agent}: entrypoint .* has mode 0755, expected 4750`, 'm'));
    const run = human.au(['run', '-a', agent, '--', 'true']);
    assert.equal(run.status, 1);
    assert.match(run.stderr, /refusing to run: .*mode 0755/);
    assert.equal(human.au(['new', '-y', '-a', agent]).status, 0);
    assert.equal(human.au(['info', '-a', agent]).status, 0);
  });

  test("au delete does not pass on userdel's complaint about a mail spool agents never have", () => {
    const agent = human.newAgent();
    const r = human.au(['delete', '-y', '-H', '-a', agent]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /\$ sudo userdel --remove /);
    assert.doesNotMatch(r.stderr, /mail spool/);
  });
});
