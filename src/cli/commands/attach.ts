import { DEFAULT_AGENT } from '../../agents/names.js';
import type { Config } from '../../config/schema.js';
import { loadConfig } from '../../config/store.js';
import { allProfiles } from '../../profiles/resolve.js';
import { programDidNotStart, resumeHint } from '../../profiles/resume.js';
import type { Context } from '../context.js';
import { UsageError } from '../errors.js';
import { type SocketChoice, serverTargetOf } from './server.js';

export interface AttachOptions extends SocketChoice {
  agent?: string;
  name?: string;
  readOnly?: boolean;
  program?: string;
}

/**
 * What a new session runs: `-p PROFILE` (claude, codex, ...: its command and no-prompt flags,
 * then the arguments after --), `-p PROGRAM`, or the command after --.
 */
export function sessionCommand(config: Config, program: string | undefined, command: string[]): string[] | undefined {
  if (program === undefined) return command.length > 0 ? command : undefined;
  const profile = allProfiles(config).find((p) => p.name === program);
  if (profile) return [...profile.command, ...command];
  if (command.length > 0) throw new UsageError('give either -p PROGRAM or a command after --');
  return [program];
}

export async function attachCommand(ctx: Context, options: AttachOptions, command: string[]): Promise<number> {
  const sessionArgv = sessionCommand(loadConfig(ctx.configPath), options.program, command);
  const { attachTerminal, DETACH_KEY } = await import('../../client/attach.js');
  const outcome = await attachTerminal(
    {
      server: serverTargetOf(ctx, options),
      session: options.name,
      agent: options.agent ?? DEFAULT_AGENT,
      command: sessionArgv,
      readOnly: Boolean(options.readOnly),
    },
    (welcome) => {
      process.stderr.write(
        `au: session ${welcome.session} (${welcome.created ? 'started' : 'joined'}; agent ${welcome.agent}; you are ${welcome.role}${welcome.role === 'observer' ? ', read-only' : ''}); detach: ${DETACH_KEY}\r\n`,
      );
    },
  );
  if (outcome.detached) return 0;
  const exitCode = outcome.exitCode ?? 0;
  // The session of a profile ended (not detached): au's own line on how to resume it.
  const profile =
    options.program === undefined ? undefined : allProfiles(loadConfig(ctx.configPath)).find((p) => p.name === options.program);
  const hint =
    profile && !programDidNotStart(exitCode) && process.stderr.isTTY
      ? resumeHint(profile, options.agent ?? DEFAULT_AGENT, command, 'session')
      : undefined;
  if (hint) process.stderr.write(`${hint}\n`);
  return exitCode;
}
