// The set-ups most e2e files share, as node:test hooks of the enclosing describe (or of the
// file): what they make is handed to `use` once made, and removed after the tests even when a
// test or the set-up itself failed. The caller's own before() hooks, registered after the call,
// run after the fixture's.
import assert from 'node:assert/strict';
import { chownSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { agentHomeOf } from '../../src/agents/names.js';
import { type Human, createHuman, uidOf } from './system.js';
import { Terminal } from './tmux.js';

export interface HumanWithAgent {
  human: Human;
  agent: string;
}

/** A fresh human (with sudo) and one agent it made with `au new`; both deleted after the tests. */
export function humanWithAgent(use: (made: HumanWithAgent) => void): void {
  let human: Human | undefined;
  before(() => {
    human = createHuman();
    use({ human, agent: human.newAgent() });
  });
  after(() => human?.cleanup());
}

/**
 * Undo steps for what tests make outside the human and its agents (directories, mounts,
 * processes), pushed on the list returned: run after the tests, last first, each one whatever the
 * others did. Call it before humanWithAgent so that the steps run while the human and agent exist.
 */
export function undoSteps(): (() => void)[] {
  const steps: (() => void)[] = [];
  after(() => {
    for (const step of [...steps].reverse()) {
      try {
        step();
      } catch (error) {
        process.stderr.write(`cleanup step failed: ${String(error)}\n`);
      }
    }
  });
  return steps;
}

/**
 * The attack files' set-up: as root (they create users and setuid files), a human with an agent;
 * returns the list to push undo steps on (see undoSteps): they run before the human and agent go.
 */
export function attackFixture(use: (made: HumanWithAgent) => void): (() => void)[] {
  before(() => assert.equal(process.getuid?.(), 0, 'these tests run as root (they create users and setuid files)'));
  const undo = undoSteps();
  humanWithAgent(use);
  return undo;
}

export interface TerminalWithAgent extends HumanWithAgent {
  terminal: Terminal;
}

/**
 * A human with an agent, and a real terminal of the human's: tmux with set-clipboard on, so
 * that an OSC 52 that got through would write tmux's clipboard (list-buffers shows it). The
 * terminal closes before the human goes.
 */
export function terminalWithAgent(use: (made: TerminalWithAgent) => void, size = { cols: 100, rows: 30 }): void {
  let human: Human | undefined;
  let terminal: Terminal | undefined;
  before(() => {
    human = createHuman();
    const agent = human.newAgent();
    terminal = new Terminal(human, size.cols, size.rows);
    terminal.control(['set-option', '-g', 'set-clipboard', 'on']);
    use({ human, agent, terminal });
  });
  after(() => {
    terminal?.close();
    human?.cleanup();
  });
}

/** Writes a file in the agent's home, here as root, owned by the agent (what the agent would have written). */
export function writeAgentFile(agent: string, name: string, content: Buffer | string): string {
  const path = join(agentHomeOf(agent), name);
  writeFileSync(path, content);
  const uid = uidOf(agent);
  chownSync(path, uid, uid);
  return path;
}
