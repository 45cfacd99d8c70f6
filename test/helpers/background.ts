// A command started without waiting (a server, a squatter, a racer): its output so far, and a
// stop that kills its whole process group. `track` collects the children so that a test's
// after() can kill what a failing test left running.
import { type ChildProcess, spawn } from 'node:child_process';
import { type Human, auArgv } from './system.js';

export interface Background {
  output: () => string;
  stop: () => Promise<string>;
}

export function background(argv: string[], track: ChildProcess[], cwd = '/'): Background {
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], detached: true, cwd });
  track.push(child);
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  return {
    output: () => out,
    stop: async () => {
      try {
        process.kill(-child.pid!, 'SIGTERM');
      } catch {
        // already gone
      }
      await closed;
      return out;
    },
  };
}

/**
 * `au run -a AGENT -d DIR -- bash -c SCRIPT` started as the human in the background, once SCRIPT
 * printed `holding`: a run that holds its shares (review shares lock their stage) while the test
 * acts beside it.
 */
export async function auRunHolding(
  human: Pick<Human, 'asHuman' | 'home'>,
  agent: string,
  dir: string,
  script: string,
  track: ChildProcess[],
): Promise<Background> {
  const holder = background(human.asHuman([...auArgv(), 'run', '-a', agent, '-d', dir, '--', 'bash', '-c', script]), track, human.home);
  const deadline = Date.now() + 30_000;
  while (!/^holding$/m.test(holder.output()) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  if (!/^holding$/m.test(holder.output())) throw new Error(`the run holding ${dir} did not start: ${holder.output()}`);
  return holder;
}
