// `au attach` owns the human's terminal like `au run` (src/terminal/): the session's output is
// filtered (no clipboard write or query reaches tmux with set-clipboard on), notices are never
// written into a full-screen program's drawing, and on detach every mode the agent set is undone.
import assert from 'node:assert/strict';
import { chownSync, writeFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { uidOf } from '../helpers/system.js';
import { type SharedServer, sharedServer } from '../helpers/session-server.js';
import { Terminal } from '../helpers/tmux.js';

const B64 = Buffer.from('echo owned').toString('base64');
const ATTACKS = [
  `\x1b]52;c;${B64}\x07`,
  `\x1b]052;c;${B64}\x07`,
  `\x1b]5\x012;c;${B64}\x1b\\`,
  `\xc2\x9d52;c;${B64}\xc2\x9c`,
  `\x1bPtmux;\x1b\x1b]52;c;${B64}\x07\x1b\\`,
  '\x1b]52;c;?\x07',
].join('');

describe('au attach on a real terminal', () => {
  let s: SharedServer;
  let owner: Terminal;
  let operator: Terminal;

  before(() => {
    s = sharedServer();
    const file = `/home/${s.agent}/attacks.bin`;
    writeFileSync(file, Buffer.from(`clip${ATTACKS}-end\n`, 'latin1'));
    chownSync(file, uidOf(s.agent), uidOf(s.agent));
    owner = new Terminal(s.owner, 100, 30);
    owner.control(['set-option', '-g', 'set-clipboard', 'on']);
    operator = new Terminal(s.operator, 100, 30);
  });
  after(() => {
    owner?.close();
    operator?.close();
    s?.cleanup();
  });

  test('A22: clipboard writes and queries in the session output never reach tmux', async () => {
    owner.type(`clear; ${s.au} attach -s ${s.socket} -a ${s.agent} -n clip -- bash -c 'cat ~/attacks.bin; echo; echo clip-done'`);
    await owner.waitFor(/session clip ended/);
    assert.match(owner.screen(), /clip-end/);
    assert.equal(owner.control(['list-buffers']).trim(), '', 'the agent wrote the clipboard');
  });

  test('notices wait while the TUI draws, and detach restores every mode the agent set', async () => {
    const tui = String.raw`printf '\033[?1049h\033[?25l\033[?1000h\033[?1006h\033[?2004h\033[?1004h\033='; echo "tui-ready-$((40+2))"; sleep 1000`;
    owner.type(`clear; ${s.au} attach -s ${s.socket} -a ${s.agent} -n modes -- bash -c "${tui}"`);
    await owner.waitFor(/tui-ready-42/); // printed, not typed
    const flags = (): string =>
      owner.control(['display', '-p', '-t', 'main', '#{alternate_on} #{cursor_flag} #{mouse_any_flag} #{keypad_flag}']).trim();
    assert.equal(flags(), '1 0 1 1', 'the TUI set its modes');

    operator.type(`${s.au} attach -s ${s.socket} --of ${s.owner.name} -n modes`);
    await operator.waitFor(/you are operator/);
    operator.keys('C-]', 'd');
    await operator.waitFor(/detached from session modes/);
    await new Promise((r) => setTimeout(r, 500));
    assert.doesNotMatch(owner.screen(), /\[au:/, 'a notice was written into the TUI');

    owner.keys('C-]', 'd');
    const screen = await owner.waitFor(/detached from session modes/);
    assert.equal(flags(), '0 1 0 0', 'modes left set after detach');
    assert.match(screen, /joined as operator/, 'the held notices are shown after the TUI');
    s.owner.au(['sessions', 'kill', '-s', s.socket, 'modes']);
  });
});
