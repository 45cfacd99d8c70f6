// Where each agent's setuid entrypoint lives: a root-owned tree the agent cannot write to
// (unlike the seed, which kept it in the agent's own home where the agent could swap it).
export const ENTRYPOINT_ROOT = '/usr/local/libexec/agent-as-unix-user';
export const REQUIRED_MODE = 0o4750;

export const entrypointDirOf = (agentName: string): string => `${ENTRYPOINT_ROOT}/${agentName}`;
export const entrypointPathOf = (agentName: string): string => `${entrypointDirOf(agentName)}/su_as_agent`;

/** Every directory from `/` down to the one holding `path`, outermost first. */
export function ancestorsOf(path: string): string[] {
  const parts = path.split('/').filter(Boolean);
  const dirs = ['/'];
  for (let i = 1; i < parts.length; i++) dirs.push(`/${parts.slice(0, i).join('/')}`);
  return dirs;
}
