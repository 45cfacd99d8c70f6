// kill -9 at every printed step of a system-changing command (each step is printed before it
// runs): after the next command, the system and the config agree. Driven by the printed steps,
// so a new step is covered without changing the test.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Human, AU_ENV_PATH, createHuman, groupExists, packageForHumans, sh, uniqueName, userExists } from '../helpers/system.js';

/** Runs `au ARGS` as the human and kills it (the whole process group) right after its k-th `$ ` step line. */
async function auKilledAtStep(human: Human, args: readonly string[], k: number): Promise<{ killed: boolean; steps: number }> {
  const env = Object.entries(human.env()).map(([key, value]) => `${key}=${value}`);
  const child = spawn(
    'runuser',
    ['-u', human.name, '--', 'env', '-i', ...env, process.execPath, join(packageForHumans(), 'bin', 'au'), ...args],
    {
      cwd: human.home,
      detached: true,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { PATH: AU_ENV_PATH },
    },
  );
  let steps = 0;
  let killed = false;
  let buffer = '';
  child.stderr.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    const lines = buffer.split('\n');
    buffer = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.startsWith('$ ')) continue;
      steps++;
      if (steps === k && !killed) {
        killed = true;
        process.kill(-child.pid!, 'SIGKILL');
      }
    }
  });
  await new Promise((resolve) => child.on('exit', resolve));
  return { killed, steps };
}

const configOf = (human: Human): string => readFileSync(`${human.home}/.config/agent-as-unix-user.toml`, 'utf8');
const tableLoaded = (agent: string): boolean => sh(['nft', 'list', 'table', 'inet', `au-${agent}`]).status === 0;

describe('kill -9 at every step', () => {
  let human: Human;
  before(() => {
    human = createHuman();
  });
  after(() => human.cleanup());

  for (const [label, args, enforcedAfter] of [
    ['au net set deny', ['net', 'set', 'deny', '--port', '8123'], true],
    ['au net clear', ['net', 'clear'], false],
  ] as const) {
    test(`${label}: after a kill at any step, au net apply makes the kernel match the config`, async () => {
      const agent = human.newAgent(uniqueName());
      if (!enforcedAfter) assert.equal(human.au(['net', 'set', '-a', agent, 'deny']).status, 0);
      for (let k = 1; ; k++) {
        const { killed } = await auKilledAtStep(human, [...args.slice(0, 2), '-a', agent, ...args.slice(2)], k);
        if (!killed) break;
        const next = human.au(['net', 'apply', '-a', agent]);
        assert.equal(next.status, 0, `after a kill at step ${k}: ${next.stderr}`);
        assert.doesNotMatch(configOf(human), /net_change_pending/, `the record of the change is settled (step ${k})`);
        const show = JSON.parse(human.au(['net', 'show', '-a', agent, '--json']).stdout) as { policy: string; state: string };
        if (show.policy === 'allow') assert.equal(tableLoaded(agent), false, `no table for allow (step ${k})`);
        else assert.equal(show.state, 'loaded', `the kernel has the configured policy (step ${k})`);
        // Back to the starting point for the next step.
        assert.equal(human.au(enforcedAfter ? ['net', 'clear', '-a', agent] : ['net', 'set', '-a', agent, 'deny']).status, 0);
      }
      const show = JSON.parse(human.au(['net', 'show', '-a', agent, '--json']).stdout) as { policy: string; state: string };
      assert.equal(show.policy, enforcedAfter ? 'deny' : 'allow');
      assert.equal(tableLoaded(agent), enforcedAfter);
    });
  }

  test('au delete: after a kill at any step, the next au delete leaves nothing of the agent', async () => {
    for (let k = 1; ; k++) {
      const agent = human.newAgent(uniqueName());
      assert.equal(human.au(['net', 'set', '-a', agent, 'deny']).status, 0);
      const { killed } = await auKilledAtStep(human, ['delete', '-y', '-H', '-a', agent], k);
      if (killed) {
        const next = human.au(['delete', '-y', '-H', '-a', agent]);
        assert.equal(next.status, 0, `after a kill at step ${k}: ${next.stderr}`);
      }
      assert.equal(userExists(agent), false, `user gone (step ${k})`);
      assert.equal(groupExists(agent) || groupExists(`su-as-${agent}`), false, `groups gone (step ${k})`);
      assert.equal(tableLoaded(agent), false, `nft table gone (step ${k})`);
      assert.equal(sh(['test', '-e', `/home/${agent}`]).status, 1, `home gone (step ${k})`);
      assert.equal(sh(['test', '-e', `/usr/local/libexec/agent-as-unix-user/${agent}`]).status, 1, `entrypoint gone (step ${k})`);
      assert.doesNotMatch(configOf(human), new RegExp(`"${agent}"`), `config entry gone (step ${k})`);
      if (!killed) break;
    }
  });
});
