// A command started without waiting (a server, a squatter, a racer): its output so far, and a
// stop that kills its whole process group. `track` collects the children so that a test's
// after() can kill what a failing test left running.
import { type ChildProcess, spawn } from 'node:child_process';

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
