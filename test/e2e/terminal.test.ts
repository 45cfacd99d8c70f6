// `au run` on a real terminal (tmux): the agent's own PTY, raw mode, window size, Ctrl-C,
// a full-screen program, exit codes, and use right after `au new` without a new login.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { join } from 'node:path';
import { type Human, createHuman, packageForHumans, uniqueName } from '../helpers/system.js';
import { Terminal } from '../helpers/tmux.js';

describe('au run on a terminal', () => {
  let human: Human;
  let agent: string;
  let terminal: Terminal;
  let au: string;

  before(() => {
    human = createHuman();
    agent = uniqueName();
    human.track(agent);
    au = `${process.execPath} ${join(packageForHumans(), 'bin', 'au')}`;
    // The shell starts before the agent exists: its credentials lack su-as-NAME.
    terminal = new Terminal(human, 120, 40);
  });
  after(() => {
    terminal.close();
    human.cleanup();
  });

  test('works in the same shell right after au new (no re-login)', async () => {
    terminal.type(`${au} new -y -a ${agent} 2>/dev/null && ${au} run -a ${agent} -- id -un; echo "done-$?"`);
    const screen = await terminal.waitFor(/done-\d+/, 60_000);
    assert.match(screen, new RegExp(`^${agent}\\s*$`, 'm'));
    assert.match(screen, /done-0/);
  });

  test('the agent gets its own PTY with the window size, and follows resizes', async () => {
    await terminal.run('tty > /tmp/human-tty-$USER');
    terminal.type(`clear; ${au} run -a ${agent} -- bash`);
    terminal.type('PS1="agent$ "; echo "pty=$(tty) size=$(stty size)"');
    let screen = await terminal.waitFor(/pty=\/dev\/pts\/\d+ size=\d+ \d+/);
    const agentTty = /pty=(\/dev\/pts\/\d+)/.exec(screen)![1];
    const humanTty = readFileSync(`/tmp/human-tty-${human.name}`, 'utf8').trim();
    assert.notEqual(agentTty, humanTty, 'the agent must not be on the human terminal');
    assert.match(screen, /size=40 120/);
    terminal.resize(100, 30);
    terminal.type('echo "resized=$(stty size)"');
    screen = await terminal.waitFor(/resized=\d+ \d+/);
    assert.match(screen, /resized=30 100/);
  });

  test('Ctrl-C reaches the agent command, not au', async () => {
    terminal.type('sleep 100');
    await new Promise((r) => setTimeout(r, 500));
    terminal.keys('C-c');
    // An interactive shell abandons the rest of the line on Ctrl-C, so ask for the status after.
    terminal.type('echo "sleep-rc=$?"');
    const screen = await terminal.waitFor(/sleep-rc=\d+/, 10_000);
    assert.match(screen, /sleep-rc=130/);
  });

  test('a full-screen program (vi) works and the exit code comes back', async () => {
    terminal.type('clear; vi /home/$USER/vi-test.txt');
    await terminal.waitFor(/vi-test\.txt"/); // vi's message line quotes the name; the typed line does not
    terminal.keys('i');
    terminal.type('written in vi', false);
    terminal.keys('Escape');
    terminal.type(':wq');
    terminal.type('cat /home/$USER/vi-test.txt; exit 3');
    terminal.type('echo "au-rc=$?"');
    const screen = await terminal.waitFor(/au-rc=\d+/);
    assert.match(screen, /au-rc=3/);
    assert.equal(readFileSync(`/home/${agent}/vi-test.txt`, 'utf8'), 'written in vi\n');
  });
  test('A19: the agent cannot write the clipboard of the human terminal (OSC 52)', async () => {
    terminal.control(['set-option', '-g', 'set-clipboard', 'on']);
    const osc52 = (text: string): string => String.raw`printf '\033]52;c;%s\007' "$(printf '${text}' | base64)"`;
    // Control: the same bytes written by the human's own shell do reach tmux's clipboard.
    await terminal.run(osc52('human-clip'));
    assert.match(terminal.control(['show-buffer']), /human-clip/);
    terminal.control(['delete-buffer']);
    // The shell's marker comes after the agent's bytes: tmux has parsed them all when it shows.
    await terminal.run(`${au} run -a ${agent} -- sh -c "${osc52('rm -rf ~').replaceAll('"', '\\"')}"`);
    assert.equal(terminal.control(['list-buffers']).trim(), '', 'the agent wrote the clipboard');
  });
});
