// How a run of the entrypoint ended, as a shell reports it (the launch itself is src/launch/).
import { constants } from 'node:os';

/** 128+N for a signal, as shells report it. */
export function exitStatusOf(code: number | null, signal: NodeJS.Signals | number | null): number {
  if (code !== null) return code;
  if (signal === null) return 1;
  return 128 + (typeof signal === 'number' ? signal : constants.signals[signal]);
}
