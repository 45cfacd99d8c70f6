// au doctor's look at the programs au installed for an agent: which Node.js they get (the
// agent's login PATH: ~/.local/bin first, then the system's), and, for each installed
// profile whose package states `engines.node`, whether that Node.js is in the range. What
// comes in was printed by the agent (src/profiles/install.ts parses it strictly).
import type { InstalledPrograms } from '../profiles/install.js';
import { satisfies } from '../profiles/node-range.js';
import type { Profile } from '../profiles/builtin.js';
import type { Check } from './checks.js';

export function agentProgramChecks(agentName: string, programs: InstalledPrograms, profiles: readonly Profile[]): Check[] {
  const node = programs.node;
  const checks: Check[] = [
    node
      ? { status: 'PASS', check: `agent ${agentName} node`, detail: `its programs get Node.js ${node.version} (${node.path})` }
      : {
          status: 'WARN',
          check: `agent ${agentName} node`,
          detail: "no node on the agent's PATH: npm-installed agents (Claude Code, Codex, Gemini CLI...) cannot be installed or run",
          fix: 'install Node.js system-wide (npm comes with it)',
        },
  ];
  for (const profile of profiles) {
    const version = programs.versions.get(profile.name);
    if (version === undefined || version === '-') continue;
    const floor = profile.nodeMajor ? [`>=${profile.nodeMajor}`] : [];
    const engines = programs.engines.get(profile.name);
    const ranges = [...(engines ? [engines] : []), ...floor];
    if (ranges.length === 0) continue;
    const check = `agent ${agentName} ${profile.name}`;
    const needs = `${profile.name} ${version} needs Node.js ${ranges.join(' and ')}`;
    const fits = node ? ranges.map((r) => satisfies(node.version, r)) : [false];
    if (fits.every((f) => f === true)) checks.push({ status: 'PASS', check, detail: `${needs}: ${node!.version} fits` });
    else if (fits.some((f) => f === false))
      checks.push({
        status: 'WARN',
        check,
        detail: `${needs}, the agent's programs get ${node ? `Node.js ${node.version} (${node.path})` : 'no Node.js'}`,
        fix: `au install -a ${agentName} ${profile.name} (installs a fitting Node.js for the agent from the npm registry)`,
      });
    else
      checks.push({ status: 'WARN', check, detail: `${needs}: au cannot read that range to tell whether Node.js ${node!.version} fits` });
  }
  return checks;
}
