// Ctrl-Z under `au run` on a real terminal (tmux): a stop of the agent's command becomes a stop
// of au, so the human's shell shows the job as stopped with its terminal given back, and `fg`
// continues the agent with its screen. vim stops itself with kill(0, SIGTSTP); Claude Code
// reads Ctrl-Z as a key in raw mode and stops itself with SIGSTOP (the stand-in below).
import assert from 'node:assert/strict';
import { chownSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import { type Human, createHuman, packageForHumans, uidOf } from '../helpers/system.js';
import { Terminal } from '../helpers/tmux.js';

/** Claude Code's Ctrl-Z as it does it: raw mode, the key read as a byte, a message, SIGSTOP. */
const STAND_IN = String.raw`
let keys = 0;
const draw = () => process.stdout.write('\x1b[2J\x1b[Hstand-in keys=' + keys + '\r\n');
const suspend = () => {
  process.stdout.write('suspended, run fg\r\n');
  process.stdin.setRawMode(false);
  process.kill(process.pid, 'SIGSTOP');
};
process.on('SIGTSTP', suspend);
process.on('SIGCONT', () => {
  process.stdin.setRawMode(true);
  draw();
});
process.stdin.setRawMode(true);
process.stdin.on('data', (data) => {
  for (const byte of data) {
    if (byte === 0x1a) suspend();
    else if (byte === 0x71) process.exit(7);
    else {
      keys++;
      draw();
    }
  }
});
draw();
`;

describe('Ctrl-Z under au run (tmux)', () => {
  let human: Human;
  let agent: string;
  let terminal: Terminal;
  let au: string;

  const agentFile = (name: string, content: string): void => {
    const path = join('/home', agent, name);
    writeFileSync(path, content);
    chownSync(path, uidOf(agent), uidOf(agent));
  };
  /** The human's shell lists au as a stopped job (asked after the stop, so the list is settled). */
  const stoppedJob = async (round: string): Promise<string> => {
    terminal.type(`jobs; echo "jobs-listed-${round}"`);
    return terminal.waitFor(new RegExp(`^jobs-listed-${round}`, 'm'));
  };

  before(() => {
    human = createHuman();
    agent = human.newAgent();
    au = `${process.execPath} ${join(packageForHumans(), 'bin', 'au')}`;
    agentFile('demo.txt', 'first line\nsecond line\n');
    agentFile('stand-in.js', STAND_IN);
  });
  // A terminal of its own for each test: a stopped job left by a failure does not type into the next.
  beforeEach(() => {
    terminal = new Terminal(human, 200, 30);
  });
  afterEach(() => terminal.close());
  after(() => human.cleanup());

  test('vim: Ctrl-Z stops it and au (the shell lists the stopped job), fg brings vim back', async () => {
    // The status is asked for after `fg`: a shell goes on with the rest of a line when a job stops.
    terminal.type(`clear; ${au} run -a ${agent} -- vim -u NONE -N -i NONE demo.txt`);
    await terminal.waitFor(/"demo\.txt" 2L/);
    terminal.keys('C-z');
    await terminal.waitFor(/Stopped/);
    let screen = await stoppedJob('vim');
    assert.match(screen, /\[1\]\+\s+Stopped\s+.*au run -a \S+ -- vim -u NONE/);
    terminal.type('clear; fg; echo "vim-rc=$?"');
    screen = await terminal.waitFor(/^first line\s*\n^second line/m);
    assert.doesNotMatch(screen, /jobs-listed/, "the screen is not vim's again");
    // vim runs and reads keys again.
    terminal.keys('G', 'o');
    terminal.type('added after fg', false);
    terminal.keys('Escape');
    terminal.type(':wq');
    screen = await terminal.waitFor(/vim-rc=\d+/);
    assert.match(screen, /vim-rc=0/);
  });

  test('a Claude Code stand-in: Ctrl-Z stops it, fg continues it and it answers a key', async () => {
    terminal.type(`clear; ${au} run -a ${agent} -- ${process.execPath} stand-in.js`);
    await terminal.waitFor(/stand-in keys=0/);
    terminal.keys('C-z');
    await terminal.waitFor(/Stopped/);
    let screen = await stoppedJob('claude');
    assert.match(screen, /suspended, run fg/);
    assert.match(screen, /\[1\]\+\s+Stopped\s+.*au run -a \S+ -- .*stand-in\.js/);
    terminal.type('clear; fg; echo "stand-in-rc=$?"');
    await terminal.waitFor(/stand-in keys=0/);
    terminal.keys('x');
    await terminal.waitFor(/stand-in keys=1/);
    terminal.keys('q');
    screen = await terminal.waitFor(/stand-in-rc=\d+/);
    assert.match(screen, /stand-in-rc=7/);
  });

  test("attack: an agent stopping itself in a server session stops neither the server (a job of the human's shell) nor its session", async () => {
    const socket = join(human.home, `ctrlz-${process.pid}.sock`);
    terminal.type(`clear; ${au} server run -s ${socket}`);
    const pid = Number(/listening on .* \(pid (\d+)\)/.exec(await terminal.waitFor(/listening on .* \(pid \d+\)/))![1]);
    const r = human.au(['attach', '-s', socket, '-a', agent, '--', 'sh', '-c', 'kill -STOP $$; echo went-on; exit 3'], {
      timeoutMs: 30_000,
    });
    assert.equal(r.status, 3, r.stderr);
    assert.match(r.stdout, /went-on/);
    const state = /\) (\S) /.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'))![1];
    assert.notEqual(state, 'T', 'the server was stopped');
  });

  test('where no one does job control, an agent stopping itself goes on at once (no hang)', async () => {
    // stdin a pipe: the entrypoint is in a session of its own, an orphaned process group.
    terminal.type(`clear; echo | ${au} run -a ${agent} -- sh -c 'kill -STOP $$; echo went-on'; echo "pipe-rc=$?"`);
    const screen = await terminal.waitFor(/pipe-rc=\d+/);
    assert.match(screen, /went-on\s*\npipe-rc=0/);
  });
});
