// How a run of the entrypoint ended, as a shell reports it (the launch itself is src/launch/).
import { lazyRequire } from '../system/lazy-require.js';

/** 128+N for a signal, as shells report it. */
export function exitStatusOf(code: number | null, signal: NodeJS.Signals | number | null): number {
  if (code !== null) return code;
  if (signal === null) return 1;
  if (typeof signal === 'number') return 128 + signal;
  const { constants } = lazyRequire('node:os') as typeof import('node:os');
  return 128 + constants.signals[signal];
}
