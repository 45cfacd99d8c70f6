// Where the agent's command starts: -d DIR, else the share target matching the human's
// current directory (so `au run` in ~/proj lands in the agent's view of ~/proj), else home.
import { resolve } from 'node:path';
import type { MountConfig } from '../config/schema.js';

const within = (path: string, dir: string): boolean => path === dir || path.startsWith(`${dir}/`);

/** Maps a path on the human's side to the agent's side through the most specific share. */
export function mapThroughShares(path: string, mounts: readonly MountConfig[]): string | undefined {
  let best: MountConfig | undefined;
  for (const mount of mounts) {
    if (within(path, mount.source) && (!best || mount.source.length > best.source.length)) best = mount;
  }
  return best ? best.target + path.slice(best.source.length) : undefined;
}

export function workingDirectory(requested: string | undefined, cwd: string, mounts: readonly MountConfig[], agentHome: string): string {
  if (requested !== undefined) {
    const absolute = resolve(cwd, requested);
    return mapThroughShares(absolute, mounts) ?? absolute;
  }
  return mapThroughShares(cwd, mounts) ?? agentHome;
}
