import { DEFAULT_AGENT } from '../../agents/names.js';
import type { Context } from '../context.js';
import { UsageError } from '../errors.js';
import { type SocketChoice, socketPathOf } from './server.js';

export interface AttachOptions extends SocketChoice {
  agent?: string;
  name?: string;
  readOnly?: boolean;
  program?: string;
}

export async function attachCommand(_ctx: Context, options: AttachOptions, command: string[]): Promise<number> {
  if (options.program && command.length > 0) throw new UsageError('give either -p PROGRAM or a command after --');
  const { attachTerminal, DETACH_KEY } = await import('../../server/attach.js');
  const outcome = await attachTerminal(
    {
      socketPath: socketPathOf(options),
      session: options.name,
      agent: options.agent ?? DEFAULT_AGENT,
      command: options.program ? [options.program] : command.length > 0 ? command : undefined,
      readOnly: Boolean(options.readOnly),
    },
    (welcome) => {
      process.stderr.write(
        `au: session ${welcome.session} (${welcome.created ? 'started' : 'joined'}; agent ${welcome.agent}; you are ${welcome.role}${welcome.role === 'observer' ? ', read-only' : ''}); detach: ${DETACH_KEY}\r\n`,
      );
    },
  );
  return outcome.detached ? 0 : (outcome.exitCode ?? 0);
}
