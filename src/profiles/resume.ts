// After an interactive run of a profile that can resume its last conversation, au prints its
// own one-line hint with the au command that does it (`au claude --resume`): the agent's own
// hint (`claude --resume`) names a program the human does not run directly. au never rewrites
// what the agent prints (its output stream reaches the terminal as it is); it only adds a line
// of its own after the run, on stderr, when that is a terminal.
import { DEFAULT_AGENT } from '../agents/names.js';
import type { Profile } from './builtin.js';

/** Arguments after which the program ran a one-shot (no conversation to resume). */
const ONE_SHOT = new Set(['-p', '--print', '-v', '--version', '-h', '--help']);

/**
 * The hint for a run of `profile` with the human's own `args`, or undefined when there is
 * nothing to resume: the profile declares no resume arguments, or the run was a one-shot.
 */
export function resumeHint(profile: Profile, agent: string, args: readonly string[], via: 'run' | 'session' = 'run'): string | undefined {
  if (!profile.resume || profile.resume.length === 0) return undefined;
  if (args.some((arg) => ONE_SHOT.has(arg))) return undefined;
  const agentOption = agent === DEFAULT_AGENT ? '' : ` -a ${agent}`;
  const resume = profile.resume.join(' ');
  return via === 'run'
    ? `au: resume with: au ${profile.name}${agentOption} ${resume}`
    : `au: resume with: au attach${agentOption} -p ${profile.name} -- ${resume}`;
}

/** Exit codes of a run whose program never started (not found, not executable): nothing to resume. */
export const programDidNotStart = (code: number): boolean => code === 126 || code === 127;
