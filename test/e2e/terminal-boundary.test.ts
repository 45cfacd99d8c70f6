// The terminal boundary (THREAT-MODEL A22, A23) on a real terminal: tmux with set-clipboard on.
// The test plays the hostile agent: clipboard writes and queries in every spelling the output
// filter knows, through `au run` and `au sessions replay`, never reach tmux's clipboard and get
// no answer; the agent never holds the human's terminal, whatever its fds are; pipes and
// redirects behave as without au; a real TUI (vim) draws the same through au as directly.
import assert from 'node:assert/strict';
import { chownSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { before, beforeEach, describe, test } from 'node:test';
import { join } from 'node:path';
import { agentHomeOf } from '../../src/agents/names.js';
import { terminalWithAgent, writeAgentFile } from '../helpers/fixtures.js';
import { type Human, auCommandLine, must } from '../helpers/system.js';
import type { Terminal } from '../helpers/tmux.js';

const B64 = Buffer.from('echo owned').toString('base64');
/** Every spelling of a clipboard write or query, and other requests, in one stream. */
const ATTACKS = [
  `\x1b]52;c;${B64}\x07`,
  `\x1b]052;c;${B64}\x07`,
  `\x1b]5\x012;c;${B64}\x1b\\`,
  `\x9d52;c;${B64}\x9c`,
  `\xc2\x9d52;c;${B64}\xc2\x9c`,
  `\x1bPtmux;\x1b\x1b]52;c;${B64}\x07\x1b\\`,
  '\x1b]52;c;?\x07',
  '\x1b[21t\x1b[>q\x1bP$qm\x1b\\\x1bP+q544e\x1b\\',
].join('');

describe('the terminal boundary (tmux, set-clipboard on)', () => {
  let human: Human;
  let agent: string;
  let terminal: Terminal;
  let au: string;
  let agentHome: string;
  let humanTty: string;
  terminalWithAgent((made) => ({ human, agent, terminal } = made));

  const agentFile = (name: string, content: Buffer | string): void => void writeAgentFile(agent, name, content);
  const clipboard = (): string => terminal.control(['list-buffers']).trim();

  before(() => {
    agentHome = agentHomeOf(agent);
    au = auCommandLine();
    agentFile('attacks.bin', Buffer.from(`before${ATTACKS}after\n`, 'latin1'));
  });
  // Each test starts on an empty command line, whatever an earlier failure left typed there.
  beforeEach(() => terminal?.keys('C-c'));

  test("the control: the human's own shell printing the same bytes does write tmux's clipboard", async () => {
    // Only the plain write: the queries would be answered into the human's own shell.
    writeFileSync(join(human.home, 'write.bin'), `\x1b]52;c;${B64}\x07`);
    await terminal.run('tty > ~/tty.txt; cat ~/write.bin');
    humanTty = readFileSync(join(human.home, 'tty.txt'), 'utf8').trim();
    assert.match(clipboard(), /echo owned/);
    terminal.control(['delete-buffer']);
    assert.equal(clipboard(), '');
  });

  test('A22: through au run, no clipboard write in any spelling reaches tmux, split at every byte', async () => {
    await terminal.run(`${au} run -a ${agent} -- cat attacks.bin`);
    // The same bytes one write at a time (every split point of the stream).
    await terminal.run(
      String.raw`${au} run -a ${agent} -- bash -c 'while IFS= read -r -d "" -n 1 c; do printf %s "$c"; done < attacks.bin'`,
      { timeoutMs: 60_000 },
    );
    assert.equal(clipboard(), '', 'the agent wrote the clipboard');
    assert.match(terminal.screen(), /beforeafter/);
  });

  test('A22: the clipboard query gets no answer into the agent', async () => {
    terminal.control(['set-buffer', 'human-secret-clip']);
    // The agent asks for the clipboard and reads whatever its input gets for two seconds.
    agentFile(
      'ask.sh',
      String.raw`stty -icanon -echo min 0 time 20; printf '\033]52;c;?\007\033]5\0012;c;?\007'; head -c 400 > answer.bin; stty sane`,
    );
    await terminal.run(`${au} run -a ${agent} -- bash ask.sh`);
    const answer = readFileSync(join(agentHome, 'answer.bin'), 'latin1');
    assert.doesNotMatch(answer, /52/);
    assert.ok(!answer.includes(Buffer.from('human-secret-clip').toString('base64')));
    terminal.control(['delete-buffer']);
  });

  test('the answer to a query the agent sent just before it ended is not typed at the human prompt', async () => {
    const screen = await terminal.run(
      String.raw`${au} run -a ${agent} -- printf '\033[c\033[6n\033[>c'; IFS= read -r -t 1 -n 100 late; echo; printf 'late=[%q]\n' "$late"`,
    );
    assert.match(screen, /late=\[''\]/);
  });

  test('A22: au sessions replay filters the recording and re-sends no query', async () => {
    const cast = [
      JSON.stringify({ version: 2, width: 100, height: 30 }),
      JSON.stringify([0.01, 'o', `replayed${ATTACKS}\x1b[c\x1b[6n\x1b]11;?\x07-end`]),
      JSON.stringify([0.02, 'i', 'rm -rf ~\r']),
    ].join('\n');
    writeFileSync(join(human.home, 'attack.cast'), `${cast}\n`);
    // Whatever the terminal answered would be typed at the prompt: read it right after.
    const screen = await terminal.run(
      String.raw`${au} sessions replay x --file ~/attack.cast; IFS= read -r -t 1 -n 200 typed; echo; printf 'typed=[%q]\n' "$typed"`,
    );
    assert.match(screen, /replayed.{0,4}-end/);
    assert.match(screen, /typed=\[''\]/, 'a terminal answer was typed at the prompt');
    assert.equal(clipboard(), '');
  });

  test('A23: with stdin a pipe and stdout the terminal, or --no-pty, no fd of the agent is the human terminal', async () => {
    const probe =
      'exec 3> ~/fds-$MODE.txt; for fd in 0 1 2; do echo "fd$fd=$(readlink /proc/$$/fd/$fd)" >&3; done; printf \'\\033]52;c;%s\\007\' aGk=';
    agentFile('probe.sh', probe);
    await terminal.run(
      `echo | ${au} run -a ${agent} -e MODE=pipe -- bash probe.sh; ${au} run --no-pty -a ${agent} -e MODE=nopty -- bash probe.sh; ${au} run -a ${agent} -e MODE=pty -- bash probe.sh`,
    );
    for (const mode of ['pipe', 'nopty', 'pty']) {
      const fds = readFileSync(join(agentHome, `fds-${mode}.txt`), 'utf8');
      assert.match(fds, /fd2=/, fds);
      assert.ok(!fds.includes(`${humanTty}\n`), `${mode}: the agent holds the human terminal ${humanTty}:\n${fds}`);
    }
    assert.match(readFileSync(join(agentHome, 'fds-pipe.txt'), 'utf8'), /fd0=pipe:.*\nfd1=\/dev\/pts\/\d+/);
    assert.match(readFileSync(join(agentHome, 'fds-nopty.txt'), 'utf8'), /fd0=(pipe|socket):.*\nfd1=(pipe|socket):/);
    assert.equal(clipboard(), '', 'the agent wrote the clipboard');
  });

  test('A23: au profile import never gives a hostile ~/.bash_profile the human terminal or the clipboard', async () => {
    mkdirSync(join(human.home, '.claude'), { recursive: true });
    writeFileSync(join(human.home, '.claude', 'settings.json'), '{}\n');
    must(['chown', '-R', `${human.name}:`, join(human.home, '.claude')]);
    const profile =
      "exec 3> ~/fds-import.txt; for fd in 0 1 2; do echo \"fd$fd=$(readlink /proc/$$/fd/$fd)\" >&3; done; exec 3>&-; printf '\\033]52;c;%s\\007' aGk=; printf '\\033]052;c;%s\\007' aGk= >&2\n";
    agentFile('.bash_profile', profile);
    try {
      await terminal.run(`${au} profile import -a ${agent} claude`);
      // A helper run (tar, no login shell) may not run the login files at all; if it does, without the terminal.
      const fdsFile = join(agentHome, 'fds-import.txt');
      const fds = existsSync(fdsFile) ? readFileSync(fdsFile, 'utf8') : '';
      assert.ok(!fds.includes(`${humanTty}\n`), `the agent holds the human terminal ${humanTty}:\n${fds}`);
      assert.equal(clipboard(), '', 'the agent wrote the clipboard');
    } finally {
      rmSync(join(agentHome, '.bash_profile'), { force: true });
    }
  });

  test('pipes and redirects from the terminal behave as without au; EPIPE ends au with 141 and nothing on stderr', async () => {
    let screen = await terminal.run(`echo "direct=$(ls / | wc -l) au=$(${au} run -a ${agent} -- ls / | wc -l)"`);
    const [, direct, viaAu] = /direct=(\d+) au=(\d+)/.exec(screen)!;
    assert.equal(viaAu, direct);
    screen = await terminal.run(
      `${au} run -a ${agent} -- seq 3 > ~/seq.txt; ${au} run -a ${agent} -- yes 2> ~/yes-err.txt | head -1; echo "yes-rc=\${PIPESTATUS[0]}"`,
    );
    assert.match(screen, /yes-rc=141/);
    assert.equal(readFileSync(join(human.home, 'seq.txt'), 'latin1'), '1\n2\n3\n');
    assert.equal(readFileSync(join(human.home, 'yes-err.txt'), 'utf8'), '');
  });

  test('COLORTERM and TERM_PROGRAM reach the agent', async () => {
    assert.match(
      await terminal.run(`COLORTERM=truecolor TERM_PROGRAM=tmux ${au} run -a ${agent} -- bash -c 'echo "ct=$COLORTERM tp=$TERM_PROGRAM"'`),
      /ct=truecolor tp=tmux/,
    );
  });

  test('vim draws the same screen through au run as directly (byte-compared with escapes)', async () => {
    const text = 'first line\n\tsecond: é ü 日本\nthird\n';
    writeFileSync(join(human.home, 'demo.txt'), text);
    chownSync(join(human.home, 'demo.txt'), human.uid, human.uid);
    agentFile('demo.txt', text);
    const capture = (): string => terminal.control(['capture-pane', '-p', '-e', '-t', 'main']);
    let round = 0;
    const draw = async (command: string): Promise<string> => {
      round++;
      // The shell prints closed-N+100 once vim has exited (the typed line says $((N+100))).
      terminal.type(`clear; ${command}; echo "closed-$((${round}+100))"`);
      await terminal.waitFor(/"demo\.txt" 3L/);
      assert.doesNotMatch(terminal.screen(), /readonly/);
      terminal.keys('j', 'l', 'l');
      await new Promise((r) => setTimeout(r, 500));
      const screen = capture();
      terminal.type(':q');
      await terminal.waitFor(new RegExp(`closed-${round + 100}`));
      return screen;
    };
    const direct = await draw('vim -u NONE -N -i NONE demo.txt');
    const viaAu = await draw(`${au} run -a ${agent} -- vim -u NONE -N -i NONE demo.txt`);
    assert.equal(viaAu, direct);
  });
});
