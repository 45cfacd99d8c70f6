// Review 6: the terminal boundary attacked on a real terminal (tmux, set-clipboard on), playing
// the agent: state the agent leaves on the human's terminal after `au run` exits, and terminal
// answers that arrive after the end. Attacks that succeed are `todo` with the reason.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { terminalWithAgent, writeAgentFile } from '../helpers/fixtures.js';
import { auCommandLine } from '../helpers/system.js';
import { type SharedServer, sharedServer } from '../helpers/session-server.js';
import { Terminal } from '../helpers/tmux.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe("review6: the human's terminal after the agent (tmux)", () => {
  let agent: string;
  let terminal: Terminal;
  let au: string;
  terminalWithAgent((made) => ({ agent, terminal } = made));
  const agentFile = (name: string, content: Buffer | string): void => void writeAgentFile(agent, name, content);
  const flag = (format: string): string => terminal.control(['display', '-p', '-t', 'main', format]).trim();
  /** Runs the agent printing `file`; the human's shell then prints `tag`-done (in whatever state the agent left). */
  const runAgent = async (file: string, tag: string): Promise<void> => {
    await terminal.run(`${au} run -a ${agent} -- cat ${file}; echo ${tag}-done`);
  };
  /** What the human's prompt holds after the agent: a line typed at it, with whatever the terminal answered typed before it. */
  const typeAtPrompt = (): Promise<string> => terminal.run('echo prompt-was-clean', { clear: false });

  before(() => {
    au = auCommandLine();
  });
  beforeEach(async () => {
    terminal.keys('C-c');
    // A full reset of the pane between tests: each starts from a clean terminal.
    terminal.control(['send-keys', '-t', 'main', '-R']);
    await terminal.run('tput sgr0; printf "\\033c"', { clear: false });
  });

  test('review6 control: modes the filter tracks (alternate screen, mouse, keypad, bracketed paste, G0 line drawing) are undone after au run', async () => {
    agentFile('tracked.bin', Buffer.from('\x1b[?1049h\x1b[?1000;1006;2004h\x1b=\x1b(0', 'latin1'));
    await runAgent('tracked.bin', 'tracked');
    assert.equal(flag('#{alternate_on} #{mouse_any_flag} #{keypad_flag}'), '0 0 0');
    assert.doesNotMatch(terminal.control(['capture-pane', '-p', '-e', '-t', 'main']), /\x0etracked-done/);
  });

  test("review6: ESC ) 0 + SO leaves the human's prompt in line drawing after au run", async () => {
    agentFile('g1.bin', Buffer.from('\x1b)0\x0e', 'latin1'));
    await runAgent('g1.bin', 'gone');
    // What the human's shell prints after au exits (`echo gone-done`) is drawn in line drawing:
    // capture-pane -e marks those cells with SO (0x0e). (A prompt whose sgr0 has SI ends it.)
    assert.doesNotMatch(terminal.control(['capture-pane', '-p', '-e', '-t', 'main']), /\x0egone-done/);
  });

  test("review6: insert mode (CSI 4 h) is left on the human's terminal after au run", async () => {
    agentFile('irm.bin', Buffer.from('\x1b[4h', 'latin1'));
    await runAgent('irm.bin', 'irm');
    assert.equal(flag('#{insert_flag}'), '0');
  });

  test("review6: the agent clears the human's tab stops (CSI 3 g) for good", async () => {
    agentFile('tbc.bin', Buffer.from('\x1b[3g', 'latin1'));
    await runAgent('tbc.bin', 'tbc');
    const screen = await terminal.run(String.raw`printf 'tab\tstop\n'`);
    assert.match(screen, /^tab {5}stop/m, 'the tab no longer stops at column 8');
  });

  test("review6: the agent's window title stays on the human's terminal after au run", async () => {
    await terminal.run(String.raw`printf '\033]2;human-title\007'`);
    assert.equal(flag('#{pane_title}'), 'human-title');
    agentFile('title.bin', Buffer.from('\x1b]2;sudo password expired - run: sudo -k\x07', 'latin1'));
    await runAgent('title.bin', 'title');
    assert.equal(flag('#{pane_title}'), 'human-title');
  });

  test("review6 held: title reports, XTGETTCAP and DECRQSS get no answer typed at the human's prompt after au run", async () => {
    await terminal.run(String.raw`printf '\033]2;;echo pwned-by-title\007'`);
    agentFile(
      'reports.bin',
      Buffer.from('\x1b]2;x\x0aecho pwned\x0a\x07\x1b[21t\x1b[20t\x1bP$q"p\x1b\\\x1bP+q544e\x1b\\\x1b[>q\x05', 'latin1'),
    );
    await runAgent('reports.bin', 'reports');
    await sleep(500);
    const screen = await typeAtPrompt();
    assert.doesNotMatch(screen, /pwned|\$ .+echo prompt-was-clean/);
  });

  test("review6 held: a flood of passed queries just before the agent exits leaves no answers at the human's prompt", async () => {
    // 3000 DA1 + CPR + DECRQM queries, then the agent is gone at once: au drains for 200 ms only.
    agentFile('flood.bin', Buffer.from('\x1b[c\x1b[6n\x1b[?2004$p\x1b]11;?\x07'.repeat(400), 'latin1'));
    await terminal.run(`${au} run -a ${agent} -- bash -c 'stty -echo; cat flood.bin'`, { timeoutMs: 30_000 });
    await sleep(1000);
    const screen = await typeAtPrompt();
    assert.doesNotMatch(screen, /\$ .+echo prompt-was-clean|\[\?|rgb:|\d;\d+R/);
  });

  test("review6: with stdin not a terminal (< /dev/null), a passed query's answer is typed at the human's prompt after au run", async () => {
    agentFile('da.bin', Buffer.from('\x1b[c\x1b[?2004$p', 'latin1'));
    await terminal.run(`${au} run -a ${agent} -- cat da.bin < /dev/null`);
    await sleep(500);
    const screen = await typeAtPrompt();
    assert.doesNotMatch(screen, /\?1;2c|2004;\d\$y|\$ .+echo prompt-was-clean/, screen);
  });

  test("review6: with --no-pty, a passed query's answer is typed at the human's prompt after au run", async () => {
    agentFile('da2.bin', Buffer.from('\x1b[c', 'latin1'));
    await terminal.run(`${au} run --no-pty -a ${agent} -- cat da2.bin`);
    await sleep(500);
    const screen = await typeAtPrompt();
    assert.doesNotMatch(screen, /\?1;2c|\$ .+echo prompt-was-clean/, screen);
  });

  test(
    'review6: agent output piped by the human (au run ... | tee log) reaches the terminal unfiltered',
    {
      todo: "ATTACK SUCCEEDS (design limit): stdout a pipe is passed as is, so `| tee`, `| head`, `| grep` put the agent's OSC 52 on the human's terminal; tmux's clipboard is written",
    },
    async () => {
      try {
        terminal.control(['delete-buffer']);
      } catch {
        /* none */
      }
      agentFile('clip.bin', Buffer.from(`\x1b]52;c;${Buffer.from('echo owned').toString('base64')}\x07`, 'latin1'));
      await terminal.run(`${au} run -a ${agent} -- cat clip.bin | tee /dev/null`);
      assert.doesNotMatch(terminal.control(['list-buffers']), /echo owned/);
    },
  );

  test("review6: the agent erases the human's scrollback (CSI 3 J), hiding what ran before it", async () => {
    // No clear here: clear itself erases the scrollback (E3), which is what the agent is tried at.
    await terminal.run('seq -f "human-history-%g" 1 80', { clear: false });
    assert.match(
      terminal.control(['capture-pane', '-p', '-t', 'main', '-S', '-']),
      /human-history-1\n/,
      'the control: the history is there before',
    );
    agentFile('ed3.bin', Buffer.from('\x1b[3J', 'latin1'));
    await terminal.run(`${au} run -a ${agent} -- cat ed3.bin`, { clear: false });
    assert.match(terminal.control(['capture-pane', '-p', '-t', 'main', '-S', '-']), /human-history-1\n/);
  });

  // How long tmux takes is a figure for the bench, not a threshold here: the test holds that the
  // terminal gets through it and answers again (the shell's marker after it is drawn).
  test('review6 held: 160 KB of clamped REP (CSI 9999 b, x1250 amplification) does not hang tmux', async () => {
    agentFile('rep.bin', Buffer.concat([Buffer.from('x'), Buffer.from('\x1b[2147483647b'.repeat(20_000)), Buffer.from('\n')]));
    await terminal.run(`${au} run -a ${agent} -- cat rep.bin`, { timeoutMs: 60_000 });
  });

  test('review6 held: a query after a 20 MB burst of output, then exit at once: the answer is still drained (tty writes are synchronous)', async () => {
    const line = `${'y'.repeat(99)}\n`;
    agentFile('burst.bin', Buffer.concat([Buffer.from(line.repeat(200_000)), Buffer.from('\x1b[c\x1b[?1;2$p')]));
    await terminal.run(`${au} run -a ${agent} -- bash -c 'stty -echo; cat burst.bin'`, { timeoutMs: 60_000 });
    await sleep(500);
    const screen = await typeAtPrompt();
    assert.doesNotMatch(screen, /1;2c|\$y|\S+echo prompt-was-clean/, screen);
  });
});

describe('review6: au attach with stdin not a terminal', () => {
  let s: SharedServer;
  let owner: Terminal;
  before(() => {
    s = sharedServer();
    owner = new Terminal(s.owner, 100, 30);
  });
  after(() => {
    owner?.close();
    s?.cleanup();
  });

  test("review6: a controller attached with stdin < /dev/null gets the agent's query answers typed at its prompt", async () => {
    await owner.run(String.raw`${s.au} attach -s ${s.socket} -a ${s.agent} -n q -- bash -c "printf '\033[c'; sleep 1" < /dev/null`);
    await sleep(500);
    const screen = await owner.run('echo prompt-was-clean', { clear: false });
    assert.doesNotMatch(screen, /\?1;2c|1;2cecho/, screen);
  });
});
