// `au run --share DIR[:rw]`: a folder shared for one run only, checked as `mount add` checks
// it, with its ACLs granted for the run and gone after it, however the run ends.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Human, createHuman, must, packageForHumans, sh } from '../helpers/system.js';

describe('au run --share: per-run shares', () => {
  let human: Human;
  let agent: string;
  let dir: string;

  /** The agent's ACL entries on the human's files under PATH (files the agent made are its own anyway). */
  const agentAcls = (path: string): string =>
    sh(['find', '-P', path, '-user', human.name, '-exec', 'getfacl', '-p', '--skip-base', '{}', '+'])
      .stdout.split('\n')
      .filter((l) => l.includes(`user:${agent}:`))
      .join('\n');

  before(() => {
    human = createHuman();
    agent = human.newAgent();
    dir = `${human.home}/work/proj`;
    mkdirSync(`${dir}/sub`, { recursive: true });
    writeFileSync(`${dir}/file.txt`, 'hello\n');
    must(['chown', '-R', `${human.name}:${human.name}`, `${human.home}/work`]);
  });
  after(() => human.cleanup());

  test('read-only by default, :rw writable; visible for that run only; no ACL left after it', () => {
    const ro = human.au([
      'run',
      '-a',
      agent,
      '--share',
      dir,
      '--',
      'bash',
      '-c',
      `cat /home/${agent}/work/proj/file.txt; touch /home/${agent}/work/proj/x 2>/dev/null && echo wrote || echo read-only`,
    ]);
    assert.equal(ro.status, 0, ro.stderr);
    assert.match(ro.stdout, /^hello\nread-only\n$/);
    assert.equal(agentAcls(dir), '', 'no ACL after a read-only run');
    const rw = human.au([
      'run',
      '-a',
      agent,
      '--share',
      `${dir}:rw`,
      '--',
      'bash',
      '-c',
      `echo agent > /home/${agent}/work/proj/from-agent && echo wrote`,
    ]);
    assert.equal(rw.status, 0, rw.stderr);
    assert.match(rw.stdout, /wrote/);
    assert.equal(agentAcls(dir), '', 'no ACL after a read-write run');
    const next = human.au(['run', '-a', agent, '--', 'bash', '-c', `cat /home/${agent}/work/proj/file.txt 2>&1 || true`]);
    assert.match(next.stdout, /No such file or directory/, 'the next run does not see it');
  });

  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    test(`au killed with ${signal} mid-run: no ACL of the agent stays (SIGKILL: the next au command removes it)`, async () => {
      const au = spawn(
        'runuser',
        [
          '-u',
          human.name,
          '--',
          'env',
          '-i',
          ...Object.entries(human.env()).map(([k, v]) => `${k}=${v}`),
          process.execPath,
          join(packageForHumans(), 'bin', 'au'),
          'run',
          '-a',
          agent,
          '--share',
          `${dir}:rw`,
          '--',
          'bash',
          '-c',
          'echo started; exec sleep 60',
        ],
        { stdio: ['ignore', 'pipe', 'pipe'], cwd: human.home },
      );
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('the run did not start')), 30_000);
        au.stdout.on('data', (d: Buffer) => {
          if (d.toString().includes('started')) {
            clearTimeout(timer);
            resolve();
          }
        });
      });
      assert.notEqual(agentAcls(dir), '', 'granted during the run');
      // runuser is au's parent: signal au itself.
      const auPid = Number(
        must(['pgrep', '-P', String(au.pid), '-f', 'bin/au'])
          .trim()
          .split('\n')[0],
      );
      process.kill(auPid, signal);
      await new Promise((resolve) => au.once('exit', resolve));
      if (signal === 'SIGKILL') {
        assert.notEqual(agentAcls(dir), '', 'a SIGKILLed au could not revoke');
        const next = human.au(['run', '-a', agent, '--', 'true']);
        assert.equal(next.status, 0, next.stderr);
        assert.match(next.stderr, /ended without removing its per-run shares/);
      }
      assert.equal(agentAcls(dir), '', `no ACL after ${signal}`);
    });
  }

  test('every bad input of mount add is refused the same way', () => {
    mkdirSync(`${human.home}/real`);
    symlinkSync(`${human.home}/real`, `${human.home}/link`);
    must(['chown', '-R', '-h', `${human.name}:${human.name}`, `${human.home}/real`, `${human.home}/link`]);
    for (const bad of [`${human.home}/link`, '/etc', `${human.home}/nonexistent`, `${dir}/file.txt`]) {
      const viaRun = human.au(['run', '-a', agent, '--share', bad, '--', 'true']);
      const viaMount = human.au(['mount', 'add', '-a', agent, bad]);
      assert.equal(viaRun.status, 2, `${bad}: ${viaRun.stderr}`);
      assert.equal(viaMount.status, 2, `${bad}: ${viaMount.stderr}`);
      assert.equal(viaRun.stderr.replace(/^au: error: /, ''), viaMount.stderr.replace(/^au: error: /, ''), bad);
    }
    assert.equal(human.au(['run', '-a', agent, '--lockdown', '--share', dir, '--', 'true']).status, 2);
  });
});
