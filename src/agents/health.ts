// The health check behind `au info` and `au list`: every way the agent's set-up can be
// broken, each as one line that says what is wrong.
import { statSync } from 'node:fs';
import type { AgentConfig } from '../config/schema.js';
import { entrypointProblems } from '../entrypoint/verify.js';
import { isMember, lookupGroup, lookupUser } from '../system/accounts.js';
import { onPath } from '../system/commands-available.js';
import type { Human } from '../system/human.js';
import type { CommandRunner } from '../system/runner.js';
import { foreignUserReasons } from './identity.js';
import { isPythonToolAgent, migrateHint } from './migrate.js';
import { agentHomeOf } from './names.js';

export interface Health {
  home: string;
  problems: string[];
}

function homeProblems(runner: CommandRunner, agent: AgentConfig, home: string, driverGid: number | undefined): string[] {
  let st;
  try {
    st = statSync(home);
  } catch {
    return [`home ${home} does not exist`];
  }
  const problems: string[] = isPythonToolAgent(agent) ? [migrateHint(agent)] : [];
  if (!st.isDirectory()) return [`home ${home} is not a directory`];
  if (!(st.mode & 0o2000)) problems.push(`home ${home} is not setgid`);
  if (driverGid !== undefined && st.gid !== driverGid) problems.push(`home ${home} is not in group ${agent.group}`);
  if (st.mode & 0o007) problems.push(`home ${home} is accessible by other users (mode ${(st.mode & 0o7777).toString(8)})`);
  const acl = runner.query(['getfacl', '--absolute-names', '--omit-header', home]);
  if (acl.status !== 0) problems.push(`cannot read the ACL of ${home}`);
  else if (!acl.stdout.split('\n').includes(`default:group:${agent.group}:rwx`)) {
    problems.push(`home ${home} lacks the default ACL default:group:${agent.group}:rwx`);
  }
  return problems;
}

export function checkHealth(runner: CommandRunner, agent: AgentConfig, human: Human): Health {
  const home = agentHomeOf(agent.userName);
  const problems: string[] = [];
  if (!agent.bootstrapped) problems.push(`set-up did not finish: run \`au new -a ${agent.userName}\` to complete it`);
  const user = lookupUser(runner, agent.userName);
  if (!user) problems.push(`user ${agent.userName} does not exist`);
  else problems.push(...foreignUserReasons(runner, agent, user).map((reason) => `user ${agent.userName}: ${reason}`));
  const driver = lookupGroup(runner, agent.group);
  if (!driver) problems.push(`group ${agent.group} does not exist`);
  else {
    if (agent.groupGid !== undefined && driver.gid !== agent.groupGid) problems.push(`group ${agent.group} has gid ${driver.gid}, au recorded ${agent.groupGid}`);
    if (!isMember(runner, human, driver)) problems.push(`you (${human.name}) are not in group ${agent.group}`);
  }
  problems.push(...homeProblems(runner, agent, home, driver?.gid));
  problems.push(...entrypointProblems({ path: agent.entrypoint, sha256: agent.entrypointSha256, groupGid: driver?.gid ?? agent.groupGid }));
  for (const tool of ['setfacl', 'getfacl']) if (!onPath(tool)) problems.push(`${tool} is not installed (apt-get install acl)`);
  return { home, problems };
}
