// The `au` command line: parsing and dispatch only. Each command's code is loaded when that
// command runs, so `au run` does not pay for the others at start-up.
import { Command, CommanderError, Option } from 'commander';
import { DEFAULT_AGENT } from '../agents/names.js';
import { BUILTIN_PROFILES } from '../profiles/builtin.js';
import { COMMAND_NAMES, allProfiles } from '../profiles/resolve.js';
import { defaultConfigPath, loadConfig } from '../config/store.js';
import { parseRunArguments } from './run-fast-path.js';
import type { RunCommandOptions } from './commands/run.js';
import { type GlobalOptions, makeContext } from './context.js';
import { reportFailure } from './errors.js';
import { paint } from './output.js';

declare const __AU_VERSION__: string | undefined;
const VERSION = typeof __AU_VERSION__ === 'string' ? __AU_VERSION__ : '0.0.0-dev';

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** -C and --dry-run are accepted before or after the command name. */
function withGlobals(command: Command): Command {
  return command
    .option('-C, --config <path>', 'config file (default: ~/.config/agent-as-unix-user.toml)')
    .option('--dry-run', 'print every system command without running it');
}

const agentOption = (): Option => new Option('-a, --agent <name>', 'agent name').default(DEFAULT_AGENT);

function globalsOf(command: Command): GlobalOptions {
  const merged: GlobalOptions = {};
  for (let c: Command | null = command; c; c = c.parent) {
    const opts = c.opts<GlobalOptions>();
    merged.config ??= opts.config;
    merged.dryRun ||= opts.dryRun;
  }
  return merged;
}

export function buildProgram(setExit: (code: number) => void = () => {}): Command {
  const program = withGlobals(new Command('au'))
    .description('Run AI coding agents as their own UNIX user.')
    .version(VERSION, '--version', 'show the version')
    .helpOption('-h, --help', 'show help')
    .enablePositionalOptions()
    .showHelpAfterError('(see au --help)')
    .addHelpText('after', () => profileHelp());

  withGlobals(program.command('new'))
    .description('create an agent: a UNIX user, its group su-as-NAME and its setuid entrypoint')
    .addOption(agentOption())
    .option('-y, --yes', 'do not ask for confirmation')
    .action(async (opts: { agent: string; yes?: boolean }, cmd: Command) => {
      const { newCommand } = await import('./commands/new.js');
      newCommand(makeContext(globalsOf(cmd)), opts.agent, Boolean(opts.yes));
    });

  withGlobals(program.command('run'))
    .description('run a command as the agent, in its login environment')
    .usage('[options] [--] COMMAND [ARGS...]')
    .addOption(agentOption())
    .option('-e, --env <KEY=VALUE>', 'pass an environment variable (repeatable)', collect, [])
    .option('-d, --directory <dir>', 'working directory (default: the share matching the current directory, else the agent home)')
    .option('--no-pty', 'relay your terminal through pipes instead of a PTY (the agent never gets your terminal either way)')
    .option('--profile <name>', 'run a profile (claude, codex, ...): its command, flags and API keys; COMMAND adds arguments')
    .option('--share <dir[:rw]>', 'share DIR for this run only (read-only unless :rw), with the checks of mount add (repeatable)', collect)
    .option('--lockdown', 'untrusted repository: throw-away home, only the current directory (read-only), no network, no secrets')
    .option('--rw-cwd', 'with --lockdown: share the current directory read-write')
    .option('--net', 'with --lockdown: keep the network')
    .option('--allow-clipboard', "let the agent write your terminal's clipboard (OSC 52); dropped by default")
    .argument('[command...]', 'the command to run')
    .passThroughOptions()
    .action(async (command: string[], opts: RunCommandOptions & { agent: string }, cmd: Command) => {
      if (command.length === 0 && opts.profile === undefined) cmd.error("error: missing required argument 'command'");
      const { runCommand } = await import('./commands/run.js');
      setExit(await runCommand(makeContext(globalsOf(cmd)), opts.agent, command, opts));
    });

  const mount = program.command('mount').description('share folders of yours with an agent (bind-mounted at each run)');
  withGlobals(mount.command('add'))
    .description('share SRC (read-only unless --rw) at TGT in the agent home')
    .addOption(agentOption())
    .option('--rw', 'let the agent write (grants it ACLs on SRC)')
    .option('--review', 'let the agent write, staged: SRC changes only when you accept (au changes, au accept)')
    .argument('<source>', 'a folder under your home')
    .argument('[target]', 'where the agent sees it (default: same path relative to its home)')
    .action(async (source: string, target: string | undefined, opts: { agent: string; rw?: boolean; review?: boolean }, cmd: Command) => {
      if (opts.rw && opts.review) cmd.error('error: --rw and --review do not go together (a review share is writable, its changes staged)');
      const { mountAddCommand } = await import('./commands/mount.js');
      mountAddCommand(makeContext(globalsOf(cmd)), opts.agent, source, target, opts.review ? 'review' : opts.rw ? 'rw' : 'ro');
    });
  withGlobals(mount.command('remove'))
    .description('stop sharing a folder (by source or target) and remove its ACLs')
    .addOption(agentOption())
    .option('-y, --yes', 'do not ask for confirmation (staged changes of a review share are still kept: see --discard-changes)')
    .option('--discard-changes', 'a review share: drop the changes staged in it (au changes lists them)')
    .argument('<path>', 'source or target of the share')
    .action(async (path: string, opts: { agent: string; yes?: boolean; discardChanges?: boolean }, cmd: Command) => {
      const { mountRemoveCommand } = await import('./commands/mount.js');
      mountRemoveCommand(makeContext(globalsOf(cmd)), opts.agent, path, {
        yes: Boolean(opts.yes),
        discardChanges: Boolean(opts.discardChanges),
      });
    });
  withGlobals(mount.command('list'))
    .description('list shares as SRC -> TGT [ro|rw|review]')
    .addOption(agentOption())
    .option('--json', 'machine-readable output')
    .action(async (opts: { agent: string; json?: boolean }, cmd: Command) => {
      const { mountListCommand } = await import('./commands/mount.js');
      mountListCommand(makeContext(globalsOf(cmd)), opts.agent, Boolean(opts.json));
    });

  registerReview(program);

  withGlobals(program.command('info'))
    .description("show an agent's set-up and health (exit 1 when BROKEN)")
    .addOption(agentOption())
    .option('--json', 'machine-readable output')
    .action(async (opts: { agent: string; json?: boolean }, cmd: Command) => {
      const { infoCommand } = await import('./commands/info.js');
      infoCommand(makeContext(globalsOf(cmd)), opts.agent, Boolean(opts.json));
    });

  withGlobals(program.command('list'))
    .description('list agents (default marked)')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const { listCommand } = await import('./commands/list.js');
      listCommand(makeContext(globalsOf(cmd)), Boolean(opts.json));
    });

  withGlobals(program.command('delete'))
    .description('delete an agent: its user, groups, entrypoint and share ACLs')
    .addOption(agentOption())
    .option('-H, --delete-home', 'also delete the agent home')
    .option('-y, --yes', 'do not ask for confirmation (staged changes of review shares are still kept: see --discard-changes)')
    .option('--discard-changes', "drop the changes staged in the agent's review shares (au changes lists them)")
    .action(async (opts: { agent: string; deleteHome?: boolean; yes?: boolean; discardChanges?: boolean }, cmd: Command) => {
      const { deleteCommand } = await import('./commands/delete.js');
      deleteCommand(makeContext(globalsOf(cmd)), opts.agent, {
        deleteHome: Boolean(opts.deleteHome),
        yes: Boolean(opts.yes),
        discardChanges: Boolean(opts.discardChanges),
      });
    });

  withGlobals(program.command('migrate'))
    .description("move an agent made by the Python au to au's layout (entrypoint out of its home, own group, shares)")
    .addOption(agentOption())
    .option('--keep-group-acls', "keep the Python au's group ACLs and setgid bits on shared folders")
    .option('-y, --yes', 'do not ask for confirmation')
    .action(async (opts: { agent: string; keepGroupAcls?: boolean; yes?: boolean }, cmd: Command) => {
      const { migrateCommand } = await import('./commands/migrate.js');
      migrateCommand(makeContext(globalsOf(cmd)), opts.agent, { keepGroupAcls: Boolean(opts.keepGroupAcls), yes: Boolean(opts.yes) });
    });

  withGlobals(program.command('profiles'))
    .description('list agent profiles (built-in and from the config), with the version the agent has of each program')
    .addOption(agentOption())
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean; agent: string }, cmd: Command) => {
      const { profilesCommand } = await import('./commands/profiles.js');
      profilesCommand(makeContext(globalsOf(cmd)), Boolean(opts.json), opts.agent);
    });

  const profile = program.command('profile').description('manage what a profile keeps in the agent home');
  withGlobals(profile.command('import'))
    .description("copy your settings for PROFILE (not credentials unless asked) into the agent's home, written as the agent")
    .addOption(agentOption())
    .option('--with-credentials', 'also copy the credential files')
    .argument('<profile>', 'profile name')
    .action(async (name: string, opts: { agent: string; withCredentials?: boolean }, cmd: Command) => {
      const { profileImportCommand } = await import('./commands/profile-import.js');
      await profileImportCommand(makeContext(globalsOf(cmd)), opts.agent, name, Boolean(opts.withCredentials));
    });

  withGlobals(program.command('install'))
    .description("install each profile's program for the agent (npm, as the agent, in its own ~/.local)")
    .addOption(agentOption())
    .option(
      '--force',
      "keep the agent's Node.js even when it is outside the range the program needs (no Node.js is installed for the agent)",
    )
    .argument('<profile...>', 'profile names (claude, codex, gemini, opencode, pi, ...)')
    .action(async (names: string[], opts: { agent: string; force?: boolean }, cmd: Command) => {
      const { installCommand } = await import('./commands/install.js');
      setExit(installCommand(makeContext(globalsOf(cmd)), opts.agent, names, { update: false, force: opts.force }));
    });
  withGlobals(program.command('update'))
    .description("update each profile's program for the agent to its newest release")
    .addOption(agentOption())
    .option('--all', 'every profile that names a package')
    .option(
      '--force',
      "keep the agent's Node.js even when it is outside the range the program needs (no Node.js is installed for the agent)",
    )
    .argument('[profile...]', 'profile names')
    .action(async (names: string[], opts: { agent: string; all?: boolean; force?: boolean }, cmd: Command) => {
      const { installCommand } = await import('./commands/install.js');
      setExit(installCommand(makeContext(globalsOf(cmd)), opts.agent, names, { update: true, all: opts.all, force: opts.force }));
    });

  withGlobals(program.command('keys'))
    .description("the agent's own SSH keys for git (authentication and commit signing), made in its home if missing")
    .addOption(agentOption())
    .option('--rotate', 'replace both keys with new ones')
    .option('--json', 'machine-readable output')
    .action(async (opts: { agent: string; rotate?: boolean; json?: boolean }, cmd: Command) => {
      const { keysCommand } = await import('./commands/keys.js');
      keysCommand(makeContext(globalsOf(cmd)), opts.agent, { json: Boolean(opts.json), rotate: Boolean(opts.rotate) });
    });

  program
    .command('completions')
    .description('print a completion script: source <(au completions bash)')
    .argument('<shell>', 'bash, zsh or fish')
    .action(async (shell: string) => {
      const { bashCompletion, zshCompletion, fishCompletion } = await import('./completions.js');
      const scripts: Record<string, (p: Command) => string> = { bash: bashCompletion, zsh: zshCompletion, fish: fishCompletion };
      const make = scripts[shell];
      if (!make) program.error(`error: unsupported shell ${JSON.stringify(shell)}: use bash, zsh or fish`);
      else process.stdout.write(make(program));
    });

  const aliases = program.command('aliases').description('short names for the profiles (au-claude, ...)');
  withGlobals(aliases.command('install'))
    .description('write wrappers in ~/.local/bin (default) or a marked block in your shell rc file')
    .option('--mode <mode>', 'wrappers or rc', 'wrappers')
    .option('--shell <shell>', 'bash, zsh or fish (default: from $SHELL)')
    .option('--force', 'replace files au did not write')
    .action(async (opts: { mode: string; shell?: string; force?: boolean }, cmd: Command) => {
      const { aliasesInstallCommand } = await import('./commands/aliases.js');
      aliasesInstallCommand(makeContext(globalsOf(cmd)), { mode: opts.mode, shell: opts.shell, force: Boolean(opts.force) });
    });

  withGlobals(program.command('__complete', { hidden: true }))
    .argument('<what>', 'agents or profiles')
    .action(async (what: string, _opts: unknown, cmd: Command) => {
      const { completionWords } = await import('./commands/complete.js');
      for (const word of completionWords(makeContext(globalsOf(cmd)), what)) process.stdout.write(`${word}\n`);
    });

  registerContainment(program);
  registerSessions(program, setExit);
  return program;
}

/** `au changes`, `au accept`, `au discard` (review shares). */
function registerReview(program: Command): void {
  withGlobals(program.command('changes'))
    .description(
      "list what the agent staged in its review shares (all, or SHARE's): added, modified, deleted, renamed, modes, symlinks, risky ones flagged",
    )
    .addOption(agentOption())
    .option('--json', 'machine-readable output')
    .option('--diff', 'also show a unified diff of the text files')
    .option('--count', 'print only how many changes are staged (the web observer shows it)')
    .argument('[share]', 'source or target of a review share')
    .action(async (share: string | undefined, opts: { agent: string; json?: boolean; diff?: boolean; count?: boolean }, cmd: Command) => {
      const { changesCommand } = await import('./commands/review.js');
      changesCommand(makeContext(globalsOf(cmd)), opts.agent, share, opts);
    });
  withGlobals(program.command('accept'))
    .description(
      'apply staged changes to your folder (all, or the PATHs as au changes shows them); risky ones only when named or with --include-risky',
    )
    .usage('[options] [SHARE] [--] [PATH...]')
    .addOption(agentOption())
    .option('--include-risky', 'also apply the risky changes')
    .option('--overwrite', 'apply the named conflicting changes over your version')
    .option('--expect <digest>', 'apply nothing unless the staged changes are those au changes listed with this digest')
    .argument('[share-and-paths...]', 'a review share (source or target), then paths relative to it')
    .action(async (args: string[], opts: { agent: string; includeRisky?: boolean; overwrite?: boolean; expect?: string }, cmd: Command) => {
      const { acceptCommand } = await import('./commands/review.js');
      acceptCommand(makeContext(globalsOf(cmd)), opts.agent, args, opts);
    });
  withGlobals(program.command('discard'))
    .description('drop staged changes (all, or the PATHs); your folder is not touched')
    .usage('[options] [SHARE] [--] [PATH...]')
    .addOption(agentOption())
    .argument('[share-and-paths...]', 'a review share (source or target), then paths relative to it')
    .action(async (args: string[], opts: { agent: string }, cmd: Command) => {
      const { discardCommand } = await import('./commands/review.js');
      discardCommand(makeContext(globalsOf(cmd)), opts.agent, args);
    });
}

/** `au limit`, `au net`, `au doctor` (containment). */
function registerContainment(program: Command): void {
  const limit = program.command('limit').description("an agent's resource limits, applied on every run");
  const limitValues = (c: Command): Command =>
    c
      .option('--memory <size>', 'memory for all its processes (e.g. 512M, 16G)')
      .option('--cpu <percent>', 'CPU time, in percent of one CPU (e.g. 150%)')
      .option('--pids <n>', 'processes and threads')
      .option('--nofile <n>', 'open files per process');
  limitValues(withGlobals(limit.command('set')).description('set limits (the others are kept)').addOption(agentOption())).action(
    async (opts: { agent: string; memory?: string; cpu?: string; pids?: string; nofile?: string }, cmd: Command) => {
      const { limitSetCommand } = await import('./commands/limit.js');
      limitSetCommand(makeContext(globalsOf(cmd)), opts.agent, opts);
    },
  );
  withGlobals(limit.command('show'))
    .description('show limits and what enforces them')
    .addOption(agentOption())
    .option('--json', 'machine-readable output')
    .action(async (opts: { agent: string; json?: boolean }, cmd: Command) => {
      const { limitShowCommand } = await import('./commands/limit.js');
      limitShowCommand(makeContext(globalsOf(cmd)), opts.agent, Boolean(opts.json));
    });
  withGlobals(limit.command('clear'))
    .description('remove the given limits (all when none is given)')
    .addOption(agentOption())
    .option('--memory', 'the memory limit')
    .option('--cpu', 'the CPU limit')
    .option('--pids', 'the process limit')
    .option('--nofile', 'the open-file limit')
    .action(async (opts: { agent: string; memory?: boolean; cpu?: boolean; pids?: boolean; nofile?: boolean }, cmd: Command) => {
      const { limitClearCommand } = await import('./commands/limit.js');
      limitClearCommand(makeContext(globalsOf(cmd)), opts.agent, opts);
    });

  const net = program.command('net').description("an agent's network policy (nftables on its uid), checked at every run");
  withGlobals(net.command('set'))
    .description('set the policy: allow, deny, allowlist (--allow) or domains (--domain, through a proxy), and load it (sudo)')
    .addOption(agentOption())
    .argument('<policy>', 'allow | deny | allowlist | domains')
    .option('--port <port>', 'a loopback TCP port the agent may connect to (repeatable)', collect, [])
    .option('--allow <host[:port]|cidr[:port]>', 'an address the agent may reach (repeatable)', collect, [])
    .option('--domain <name>', 'a domain reachable through the proxy, *.name for subdomains (repeatable)', collect, [])
    .option(
      '--listen <port>',
      'a TCP port on which the agent may accept connections from loopback (repeatable; none by default)',
      collect,
      [],
    )
    .option('--force', "end the agent's live processes (they would keep the old policy) instead of refusing")
    .action(
      async (
        policy: string,
        opts: { agent: string; port: string[]; allow: string[]; domain: string[]; listen: string[]; force?: boolean },
        cmd: Command,
      ) => {
        const { netSetCommand } = await import('./commands/net.js');
        await netSetCommand(makeContext(globalsOf(cmd)), opts.agent, policy, opts);
      },
    );
  withGlobals(net.command('show'))
    .description('show the policy, whether it is loaded, its rules and the refused packets')
    .addOption(agentOption())
    .option('--json', 'machine-readable output')
    .action(async (opts: { agent: string; json?: boolean }, cmd: Command) => {
      const { netShowCommand } = await import('./commands/net.js');
      netShowCommand(makeContext(globalsOf(cmd)), opts.agent, Boolean(opts.json));
    });
  withGlobals(net.command('clear'))
    .description('back to allow: remove the policy and its rules')
    .addOption(agentOption())
    .option('--force', "end the agent's live processes (they would keep the old policy) instead of refusing")
    .action(async (opts: { agent: string; force?: boolean }, cmd: Command) => {
      const { netClearCommand } = await import('./commands/net.js');
      await netClearCommand(makeContext(globalsOf(cmd)), opts.agent, Boolean(opts.force));
    });
  withGlobals(net.command('apply'))
    .description('load the configured policy into the kernel (after a reboot, say)')
    .addOption(agentOption())
    .option('--force', "end the agent's live processes (they would keep the old policy) instead of refusing")
    .action(async (opts: { agent: string; force?: boolean }, cmd: Command) => {
      const { netApplyCommand } = await import('./commands/net.js');
      await netApplyCommand(makeContext(globalsOf(cmd)), opts.agent, Boolean(opts.force));
    });
  withGlobals(net.command('proxy', { hidden: true }))
    .description('run the HTTP CONNECT proxy of a domains policy (au run starts it)')
    .addOption(agentOption())
    .action(async (opts: { agent: string }, cmd: Command) => {
      const { netProxyCommand } = await import('./commands/net.js');
      await netProxyCommand(makeContext(globalsOf(cmd)), opts.agent);
    });

  withGlobals(program.command('doctor'))
    .description('check this machine and every agent: PASS/WARN/FAIL lines, each with its fix (exit 1 on FAIL)')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const { doctorCommand } = await import('./commands/doctor.js');
      await doctorCommand(makeContext(globalsOf(cmd)), Boolean(opts.json));
    });
}

/** The profile shortcuts, for `au --help`: they are not commands, so commander cannot list them. */
function profileHelp(): string {
  let names: string[] = [];
  try {
    names = allProfiles(loadConfig(defaultConfigPath())).map((p) => p.name);
  } catch {
    names = BUILTIN_PROFILES.map((p) => p.name);
  }
  return `\nProfile shortcuts (au PROFILE [ARGS] = au run --profile PROFILE -- ARGS):\n  ${names.join(', ')}\n`;
}

/** `au claude ...` is `au run --profile claude ...` when claude is a profile. */
async function runProfileShortcut(argv: readonly string[]): Promise<number | undefined> {
  const [first, ...rest] = argv;
  if (!first || first.startsWith('-') || (COMMAND_NAMES as readonly string[]).includes(first)) return undefined;
  const invocation = parseRunArguments(['--profile', first, ...rest], true);
  if (!invocation) return undefined;
  const ctx = makeContext(invocation.globals);
  const { isProfileName, completionWords } = await import('./commands/complete.js');
  if (!isProfileName(ctx, first)) {
    if (/^[a-z][a-z0-9_-]*$/.test(first)) {
      const { closest } = await import('./suggest.js');
      const meant = closest(first, [...COMMAND_NAMES, ...completionWords(ctx, 'profiles')]);
      if (meant !== undefined) {
        process.stderr.write(`au: error: unknown command or profile '${first}': did you mean '${meant}'?\n(see au --help)\n`);
        return 2;
      }
    }
    return undefined;
  }
  const { runCommand } = await import('./commands/run.js');
  return runCommand(ctx, invocation.agent, invocation.command, invocation.options);
}

/** `au server`, `au attach`, `au sessions` (the session server). */
function registerSessions(program: Command, setExit: (code: number) => void): void {
  const socketOptions = (c: Command): Command =>
    c
      .option('-s, --socket <path>', 'the server socket (default: $XDG_RUNTIME_DIR/agent-as-unix-user/server.sock)')
      .option('--of <user>', 'the shared server of this user (see au server init)');
  const server = program.command('server').description('the session server: agents in shared PTY sessions');
  withGlobals(server.command('run'))
    .description('run the session server (foreground unless -d)')
    .option('-s, --socket <path>', 'socket path (default: $XDG_RUNTIME_DIR/agent-as-unix-user/server.sock)')
    .option('--shared', 'listen on the shared socket directory made by au server init')
    .option('-d, --daemon', 'start in the background and return once it listens')
    .option('--web <[addr:]port>', 'also serve the web observer (a page to watch and steer sessions) on this address (default 127.0.0.1)')
    .option('--web-public', 'allow --web on a non-loopback address (plain HTTP: prefer an SSH tunnel)')
    .action(async (opts: { socket?: string; shared?: boolean; daemon?: boolean; web?: string; webPublic?: boolean }, cmd: Command) => {
      const { serverRunCommand } = await import('./commands/server.js');
      setExit(await serverRunCommand(makeContext(globalsOf(cmd)), opts));
    });
  withGlobals(server.command('token'))
    .description("print the web observer's links with their tokens (observer: read-only; operator: may type)")
    .option('--json', 'as JSON')
    .option('--observer', 'print only the observer token')
    .option('--operator', 'print only the operator token')
    .option('--rotate', 'make new tokens (a running server keeps the old ones until it restarts)')
    .action(async (opts: { json?: boolean; observer?: boolean; operator?: boolean; rotate?: boolean }) => {
      const { serverTokenCommand } = await import('./commands/server.js');
      await serverTokenCommand(opts);
    });
  withGlobals(server.command('init'))
    .description('one-time root set-up: a group and a socket directory so other humans can reach your server')
    .option('-g, --group <name>', 'group of the humans who may connect (default: au-sessions)')
    .option('--dir <path>', 'shared socket directory (default: /run/agent-as-unix-user)')
    .argument('[users...]', 'humans to add to the group')
    .action(async (users: string[], opts: { group?: string; dir?: string }, cmd: Command) => {
      const { serverInitCommand } = await import('./commands/server.js');
      serverInitCommand(makeContext(globalsOf(cmd)), { ...opts, users });
    });
  withGlobals(server.command('allow'))
    .description('give users or @groups a role on your sessions')
    .option('--operator', 'may type and resize')
    .option('--observer', 'read-only')
    .argument('<names...>', 'user names or @group names')
    .action(async (names: string[], opts: { operator?: boolean; observer?: boolean }, cmd: Command) => {
      const { serverAllowCommand } = await import('./commands/server.js');
      const { UsageError } = await import('./errors.js');
      if (opts.operator && opts.observer) throw new UsageError('give --operator or --observer, not both');
      serverAllowCommand(makeContext(globalsOf(cmd)), opts.operator ? 'operators' : opts.observer ? 'observers' : undefined, names);
    });
  withGlobals(server.command('deny'))
    .description('remove the role of users or @groups')
    .argument('<names...>', 'user names or @group names')
    .action(async (names: string[], _opts: unknown, cmd: Command) => {
      const { serverDenyCommand } = await import('./commands/server.js');
      serverDenyCommand(makeContext(globalsOf(cmd)), names);
    });

  socketOptions(withGlobals(program.command('attach')))
    .description('start a session, or join one (-n); detach with Ctrl-] d')
    .usage('[options] [-- COMMAND [ARGS...]]')
    .option('-a, --agent <name>', 'agent of a new session', DEFAULT_AGENT)
    .option('-n, --name <session>', 'join this session (or start it under this id)')
    .option('-r, --read-only', 'join as an observer')
    .option('-p, --program <program|profile>', 'program of a new session, or a profile (claude, codex, ...; default: bash)')
    .argument('[command...]', 'command of a new session')
    .passThroughOptions()
    .action(
      async (
        command: string[],
        opts: { agent?: string; name?: string; readOnly?: boolean; program?: string; socket?: string; of?: string },
        cmd: Command,
      ) => {
        const { attachCommand } = await import('./commands/attach.js');
        setExit(await attachCommand(makeContext(globalsOf(cmd)), opts, command));
      },
    );

  const sessions = program.command('sessions').description('list, kill and replay sessions');
  socketOptions(withGlobals(sessions.command('list')))
    .description('list the sessions of a server')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean; socket?: string; of?: string }, cmd: Command) => {
      const { sessionsListCommand } = await import('./commands/sessions.js');
      await sessionsListCommand(makeContext(globalsOf(cmd)), opts);
    });
  socketOptions(withGlobals(sessions.command('kill')))
    .description("end a session and its agent's whole process tree")
    .argument('<id>', 'session id')
    .action(async (id: string, opts: { socket?: string; of?: string }, cmd: Command) => {
      const { sessionsKillCommand } = await import('./commands/sessions.js');
      await sessionsKillCommand(makeContext(globalsOf(cmd)), id, opts);
    });
  withGlobals(sessions.command('prune'))
    .description('remove audit logs and recordings older than [server] keep_days (default 30)')
    .option('--older-than <days>', 'another age, in days')
    .action(async (opts: { olderThan?: string }, cmd: Command) => {
      const { sessionsPruneCommand } = await import('./commands/sessions.js');
      await sessionsPruneCommand(makeContext(globalsOf(cmd)), opts);
    });
  withGlobals(sessions.command('replay'))
    .description("play a session's recording (asciicast v2) in the terminal")
    .argument('<id>', 'session id')
    .option('--speed <factor>', 'playback speed', '1')
    .option('--file <path>', 'play this .cast file instead')
    .action(async (id: string, opts: { speed?: string; file?: string }, cmd: Command) => {
      const { sessionsReplayCommand } = await import('./commands/sessions.js');
      await sessionsReplayCommand(makeContext(globalsOf(cmd)), id, opts);
    });
}

function configureErrors(command: Command): void {
  command.exitOverride();
  command.configureOutput({
    writeErr: (text) => process.stderr.write(text),
    outputError: (text, write) => write(`${paint('au: error:', 'red', process.stderr)} ${text.replace(/^error: /, '')}`),
  });
  for (const sub of command.commands) configureErrors(sub);
}

export async function main(argv: readonly string[]): Promise<number> {
  let exitCode = 0;
  const program = buildProgram((code) => {
    exitCode = code;
  });
  configureErrors(program);
  try {
    const shortcut = await runProfileShortcut(argv);
    if (shortcut !== undefined) return shortcut;
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version exit 0; every parse error is a usage error.
      return error.exitCode === 0 ? 0 : 2;
    }
    return reportFailure(error);
  }
}
