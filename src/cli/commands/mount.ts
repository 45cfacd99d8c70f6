import { agentHomeOf } from '../../agents/names.js';
import { loadConfig, updateConfig } from '../../config/store.js';
import { grantShareAccess, revokeShareAccess } from '../../mounts/acl.js';
import { ShareError, findConflict, findMount, resolveShareSource, resolveShareTarget } from '../../mounts/shares.js';
import { MAX_SHARES } from '../../launch/entrypoint-limits.js';
import type { Context } from '../context.js';
import { printJson, say, warn } from '../output.js';
import { requireAgent } from './lookup.js';

export function mountAddCommand(ctx: Context, name: string, sourceInput: string, targetInput: string | undefined, readWrite: boolean): void {
  updateConfig(ctx.configPath, ctx.dryRun, (config, save) => {
    const agent = requireAgent(config, name);
    // The entrypoint mounts at most MAX_SHARES in a run: one more would make every run fail.
    if (agent.mounts.length >= MAX_SHARES) throw new ShareError(`agent ${name} already has ${agent.mounts.length} shares, the most one run can mount (${MAX_SHARES}): remove one first (au mount remove)`);
    const source = resolveShareSource(sourceInput, ctx.human.home, ctx.human.uid);
    const target = resolveShareTarget(targetInput, source, ctx.human.home, agentHomeOf(name));
    const conflict = findConflict(agent, source, target);
    if (conflict) throw new ShareError(`${source} -> ${target} conflicts with the existing share ${conflict.source} -> ${conflict.target}`);
    if (readWrite) {
      warn(`${name} may write anything in ${source}: code it writes there runs as you if you run it (scripts, git hooks, node_modules)`);
    }
    grantShareAccess(ctx.runner, name, ctx.human, source, readWrite);
    agent.mounts.push({ source, target, readOnly: !readWrite });
    save();
    process.stderr.write(`Added ${name} ${readWrite ? 'read-write' : 'read-only'} access to ${source} (mounted at ${target})\n`);
  });
}

export function mountRemoveCommand(ctx: Context, name: string, path: string): void {
  updateConfig(ctx.configPath, ctx.dryRun, (config, save) => {
    const agent = requireAgent(config, name);
    const mount = findMount(agent, path);
    if (!mount) throw new ShareError(`agent ${name} has no share with source or target ${path}`);
    revokeShareAccess(ctx.runner, name, ctx.human.uid, mount.source);
    agent.mounts = agent.mounts.filter((m) => m !== mount);
    save();
    process.stderr.write(`Removed ${name} access ${mount.source} -> ${mount.target}\n`);
  });
}

export function mountListCommand(ctx: Context, name: string, json: boolean): void {
  const agent = requireAgent(loadConfig(ctx.configPath), name);
  if (json) {
    printJson(agent.mounts.map((m) => ({ source: m.source, target: m.target, mode: m.readOnly ? 'ro' : 'rw' })));
    return;
  }
  if (agent.mounts.length === 0) {
    say(`No access bind mount configured for agent ${name}.`);
    return;
  }
  for (const m of agent.mounts) say(`${m.source} -> ${m.target} [${m.readOnly ? 'ro' : 'rw'}]`);
}
