// Words for shell completion (`au __complete agents|profiles`) and the profile shortcut check.
// Never fails loudly: a broken config just completes nothing.
import { loadConfig } from '../../config/store.js';
import { BUILTIN_PROFILES } from '../../profiles/builtin.js';
import { allProfiles } from '../../profiles/resolve.js';
import type { Context } from '../context.js';

export function completionWords(ctx: Context, what: string): string[] {
  try {
    const config = loadConfig(ctx.configPath);
    if (what === 'agents') return config.agents.map((a) => a.userName);
    if (what === 'profiles') return allProfiles(config).map((p) => p.name);
  } catch {
    // nothing to offer
  }
  return [];
}

/** A built-in profile is always one (a broken config then reports itself when it runs). */
export function isProfileName(ctx: Context, name: string): boolean {
  return BUILTIN_PROFILES.some((p) => p.name === name) || completionWords(ctx, 'profiles').includes(name);
}
