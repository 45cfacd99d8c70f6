import { findAgent } from '../../config/schema.js';
import { loadConfig } from '../../config/store.js';
import { installedProgramsCommand, parseInstalledPrograms } from '../../profiles/install.js';
import { allProfiles } from '../../profiles/resolve.js';
import { describeSource } from '../../secrets/sources.js';
import { shellQuote } from '../../system/shell-quote.js';
import { runAsAgentCaptured } from '../agent-capture.js';
import type { Context } from '../context.js';
import { printJson, say } from '../output.js';

/** `au profiles [-a NAME]`: the profiles, and which version of each program the agent has (when the agent exists). */
export function profilesCommand(ctx: Context, json: boolean, agentName?: string): void {
  const config = loadConfig(ctx.configPath);
  const profiles = allProfiles(config);
  const agent = agentName ? findAgent(config, agentName) : undefined;
  const versions =
    agent?.bootstrapped && !ctx.dryRun
      ? parseInstalledPrograms(runAsAgentCaptured(ctx, agent.userName, installedProgramsCommand(profiles)).stdout, profiles).versions
      : new Map<string, string>();
  const shown = (name: string): string | undefined => {
    const v = versions.get(name);
    return v === undefined ? undefined : v === '-' ? 'not installed' : v === '?' ? 'installed' : v;
  };
  if (json) {
    printJson(
      profiles.map((p) => ({
        name: p.name,
        command: p.command,
        env: p.env,
        secrets: Object.fromEntries(Object.entries(p.secrets).map(([k, s]) => [k, describeSource(s)])),
        state_dirs: p.stateDirs,
        package: p.package ?? null,
        installed: agent ? (shown(p.name) ?? null) : null,
      })),
    );
    return;
  }
  for (const p of profiles) {
    const vars = [...p.env, ...Object.keys(p.secrets)];
    const installed = shown(p.name);
    say(
      `${p.name}: ${shellQuote(p.command)}${vars.length > 0 ? `  (passes ${vars.join(', ')})` : ''}${installed ? `  [${agent!.userName}: ${installed}]` : ''}`,
    );
  }
}
