// Whether a program is on PATH, without spawning anything.
import { accessSync, constants } from 'node:fs';

export function onPath(program: string, path = process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin'): boolean {
  return path.split(':').some((dir) => {
    if (!dir) return false;
    try {
      accessSync(`${dir}/${program}`, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}
