// The agent's BROWSER: a link it wants opened is shown to the human (on the run's terminal, else
// on stderr), never opened; an OAuth-style loopback callback works under the default policy.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { humanWithAgent } from '../helpers/fixtures.js';
import { type Human, packageForHumans } from '../helpers/system.js';
import { Terminal } from '../helpers/tmux.js';

describe('BROWSER: links the agent wants the human to open', () => {
  let human: Human;
  let agent: string;
  let terminal: Terminal | undefined;
  const au = `${process.execPath} ${join(packageForHumans(), 'bin', 'au')}`;

  after(() => terminal?.close()); // before the human goes
  humanWithAgent((made) => ({ human, agent } = made));

  test("without a terminal the link goes to stderr, and BROWSER is the runtime directory's shim", () => {
    const r = human.au([
      'run',
      '-a',
      agent,
      '--',
      'bash',
      '-c',
      'echo "browser=$BROWSER"; "$BROWSER" "https://example.invalid/login?state=1"',
    ]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^browser=\/run\/user\/\d+\/au-browser$/m);
    assert.match(r.stderr, /\[au\] the agent asks you to open: https:\/\/example\.invalid\/login\?state=1/);
  });

  test("on au run's terminal the link is shown to the human as a line of its own", async () => {
    terminal = new Terminal(human, 120, 30);
    const screen = await terminal.run(`${au} run -a ${agent} -- bash -c '"$BROWSER" https://example.invalid/device?code=XY'`, {
      timeoutMs: 30_000,
    });
    assert.match(screen, /\[au\] the agent asks you to open: https:\/\/example\.invalid\/device\?code=XY/);
  });

  test("an OAuth loopback callback: the agent listens and prints the URL, the human's browser side reaches it", async () => {
    // The stand-in login: listen on a loopback port, hand the URL to $BROWSER, wait for the code.
    const login = [
      "const http = require('http');",
      "const s = http.createServer((q, r) => { r.end('ok'); console.log('got ' + new URL(q.url, 'http://x').searchParams.get('code')); s.close(); });",
      "s.listen(0, '127.0.0.1', () => require('child_process').execFileSync(process.env.BROWSER, ['http://127.0.0.1:' + s.address().port + '/callback?code=abc123'], { stdio: 'inherit' }));",
    ].join(' ');
    const run = spawn(
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
        '--',
        process.execPath,
        '-e',
        login,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    run.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no link from the agent: ${stderr}`)), 30_000);
      run.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        const m = /open: (http:\/\/127\.0\.0\.1:\d+\/callback\?code=\w+)/.exec(stderr);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
    });
    const response = human.run(['curl', '-s', '--max-time', '10', url]);
    assert.equal(response.stdout, 'ok', response.stderr);
    const status = await new Promise<number | null>((resolve) => run.once('exit', resolve));
    assert.equal(status, 0, stderr);
    assert.match(stdout, /got abc123/);
  });
});
