// Right after `au new`, the human is in su-as-NAME in the group database but not yet in this
// shell's credentials (that needs a new login). Only then do we re-run `au` once under
// `sg su-as-NAME`; every later shell takes the direct path, with no extra process.
import { lazyRequire } from '../system/lazy-require.js';
import { quoteWord } from '../system/shell-quote.js';
import { exitStatusOf } from './launch.js';
import { forwardTerminatingSignals } from './signals.js';

const REEXEC_MARK = 'AU_REEXEC_UNDER_SG';

export function holdsGroup(gid: number): boolean {
  if (process.getuid?.() === 0) return true;
  return process.getgid?.() === gid || (process.getgroups?.() ?? []).includes(gid);
}

/** Re-runs this very `au` command under `sg GROUP`; resolves with its exit status. */
export function rerunUnderGroup(group: string): Promise<number> | undefined {
  if (process.env[REEXEC_MARK]) return undefined;
  const script = process.argv[1];
  if (!script) return undefined;
  const command = ['exec', process.execPath, script, ...process.argv.slice(2)].map(quoteWord).join(' ');
  const { spawn } = lazyRequire('node:child_process') as typeof import('node:child_process');
  return new Promise((resolvePromise, reject) => {
    const child = spawn('sg', [group, '-c', command], { stdio: 'inherit', env: { ...process.env, [REEXEC_MARK]: '1' } });
    const stop = forwardTerminatingSignals((signal) => child.kill(signal));
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      stop();
      resolvePromise(exitStatusOf(code, signal));
    });
  });
}

/**
 * Reads a file only su-as-NAME may read (the 4750 entrypoint) in a shell that does not hold the
 * group yet: through `sg`, the path `au run` takes. Called only when the group database lists the
 * human as a member, so sg asks no password; setsid takes the terminal away should it ever ask.
 */
export function readUnderGroup(group: string, path: string): Buffer {
  const { spawnSync } = lazyRequire('node:child_process') as typeof import('node:child_process');
  const child = spawnSync('setsid', ['sg', group, '-c', `exec cat -- ${quoteWord(path)}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 10_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  if (child.error) throw child.error;
  if (child.status !== 0) {
    const error: NodeJS.ErrnoException = new Error(`sg ${group}: ${child.stderr.toString().trim() || `exit ${child.status}`}`);
    error.code = 'EACCES';
    throw error;
  }
  return child.stdout;
}
