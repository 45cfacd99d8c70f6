import { loadConfig } from '../../config/store.js';
import { allProfiles } from '../../profiles/resolve.js';
import { describeSource } from '../../secrets/sources.js';
import { shellQuote } from '../../system/shell-quote.js';
import type { Context } from '../context.js';
import { printJson, say } from '../output.js';

export function profilesCommand(ctx: Context, json: boolean): void {
  const profiles = allProfiles(loadConfig(ctx.configPath));
  if (json) {
    printJson(
      profiles.map((p) => ({
        name: p.name,
        command: p.command,
        env: p.env,
        secrets: Object.fromEntries(Object.entries(p.secrets).map(([k, s]) => [k, describeSource(s)])),
        state_dirs: p.stateDirs,
      })),
    );
    return;
  }
  for (const p of profiles) {
    const vars = [...p.env, ...Object.keys(p.secrets)];
    say(`${p.name}: ${shellQuote(p.command)}${vars.length > 0 ? `  (passes ${vars.join(', ')})` : ''}`);
  }
}
