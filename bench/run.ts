// npm run bench: start-up cost of `au run`, measured side by side with its reference in one
// run, on a real agent (needs root to create the throwaway human and agent, like the e2e tests).
// Each figure is printed next to its reference and target.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { packageForHumans } from '../test/helpers/system.js';
import { withBenchAgent } from './fixture.js';

const ROUNDS = Number(process.env.AU_BENCH_ROUNDS ?? 40);

function timeOnce(argv: readonly string[]): number {
  const [file, ...args] = argv;
  const start = process.hrtime.bigint();
  const r = spawnSync(file!, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}: ${r.stderr.toString()}`);
  return ms;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

/** Runs the commands interleaved (a, b, a, b, ...) so drift affects them alike; returns medians. */
function compare(commands: Record<string, readonly string[]>): Record<string, number> {
  const samples: Record<string, number[]> = Object.fromEntries(Object.keys(commands).map((k) => [k, []]));
  for (const argv of Object.values(commands)) for (let i = 0; i < 3; i++) timeOnce(argv); // warm-up
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, argv] of Object.entries(commands)) samples[name]!.push(timeOnce(argv));
  }
  return Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)]));
}

async function main(): Promise<void> {
  await withBenchAgent((human, agent) => {
    const au = join(packageForHumans(), 'bin', 'au');
    const entrypoint = `/usr/local/libexec/agent-as-unix-user/${agent}/su_as_agent`;
    // All commands start as the human through runuser, so its cost is in every figure alike.
    // Two environments: a bare one, and this machine's own (whose NODE_EXTRA_CA_CERTS, when
    // set, makes every Node start load the CA bundle: node -e 0 pays it as au does).
    const environments: Record<string, string[]> = {
      'bare environment': [`HOME=${human.home}`, 'PATH=/usr/bin:/bin'],
      "this machine's environment": [
        ...Object.entries(process.env)
          .filter(([k]) => !['HOME', 'USER', 'LOGNAME', 'PATH'].includes(k))
          .map(([k, v]) => `${k}=${v}`),
        `HOME=${human.home}`,
        'PATH=/usr/bin:/bin',
      ],
    };
    for (const [label, env] of Object.entries(environments)) {
      const asHuman = (argv: readonly string[]): string[] => ['runuser', '-u', human.name, '--', 'env', '-i', ...env, ...argv];
      const startup = compare({
        node: asHuman([process.execPath, '-e', '0']),
        au: asHuman([process.execPath, au, 'run', '-a', agent, '--', 'true']),
      });
      const ratio = startup.au! / startup.node!;
      console.log(
        `au run -- true (${label}): ${startup.au!.toFixed(1)} ms median vs node -e 0: ${startup.node!.toFixed(1)} ms -> ratio ${ratio.toFixed(3)} (target <= 1.25, 1.15 if it can be reached; seed's Python au ~1.2)`,
      );
    }
    const asHuman = (argv: readonly string[]): string[] => [
      'runuser',
      '-u',
      human.name,
      '--',
      'env',
      '-i',
      `HOME=${human.home}`,
      'PATH=/usr/bin:/bin',
      ...argv,
    ];

    // Containment: the same command on a second agent with limits and a deny policy (the
    // entrypoint writes the cgroup limits and asks the kernel for the nftables table).
    const contained = human.newAgent();
    for (const args of [
      ['limit', 'set', '--memory', '1G', '--cpu', '200%', '--pids', '256', '--nofile', '1024'],
      ['net', 'set', 'deny'],
    ]) {
      const r = human.au([args[0]!, args[1]!, '-a', contained, ...args.slice(2)]);
      if (r.status !== 0) throw new Error(`au ${args.join(' ')}: ${r.stderr}`);
    }
    const containment = compare({
      plain: asHuman([process.execPath, au, 'run', '-a', agent, '--', 'true']),
      contained: asHuman([process.execPath, au, 'run', '-a', contained, '--', 'true']),
    });
    const signed = (ms: number): string => `${ms >= 0 ? '+' : ''}${ms.toFixed(2)}`;
    console.log(
      `au run -- true with limits + a deny policy: ${signed(containment.contained! - containment.plain!)} ms over without (${containment.plain!.toFixed(1)} ms) (target < 3 ms)`,
    );
    // The same, on the entrypoint alone (less noise): the options au run passes, from --dry-run.
    const dry = human.au(['run', '--dry-run', '-a', contained, '--', 'true']).stderr;
    const options = /su_as_agent (.*) --chdir /.exec(dry)?.[1]?.split(' ') ?? [];
    const containedEntrypoint = `/usr/local/libexec/agent-as-unix-user/${contained}/su_as_agent`;
    const direct = compare({
      plain: asHuman([containedEntrypoint, '--', '/bin/true']),
      contained: asHuman([containedEntrypoint, ...options, '--', '/bin/true']),
    });
    console.log(
      `entrypoint with ${options.join(' ')}: ${signed(direct.contained! - direct.plain!)} ms over without (${direct.plain!.toFixed(2)} ms) (target < 3 ms)`,
    );

    // The entrypoint next to the usual other ways to run a command as another user or boxed:
    // `sudo -u AGENT` (the human has sudo, as on a developer's machine) and bubblewrap when
    // installed (a sandbox of the human's own, unprivileged: user namespaces).
    const others: Record<string, readonly string[]> = { 'sudo -u AGENT': asHuman(['sudo', '-n', '-u', agent, '/bin/true']) };
    const bwrap = ['bwrap', '--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc', '--unshare-all', '--die-with-parent', '/bin/true'];
    if (spawnSync(asHuman(bwrap)[0]!, asHuman(bwrap).slice(1), { stdio: 'ignore' }).status === 0)
      others['bubblewrap (bwrap --unshare-all)'] = asHuman(bwrap);
    else console.log('bubblewrap: not installed (or not usable by the human here): not measured');
    const entry = compare({
      bare: asHuman(['/bin/true']),
      entrypoint: asHuman([entrypoint, '--', '/bin/true']),
      login: asHuman([entrypoint, '--', 'bash', '--login', '-c', 'true']),
      ...others,
    });
    console.log(
      `entrypoint alone: +${(entry.entrypoint! - entry.bare!).toFixed(2)} ms over /bin/true (${entry.bare!.toFixed(2)} ms) (target < 5 ms)`,
    );
    for (const name of Object.keys(others)) console.log(`${name} true: +${(entry[name]! - entry.bare!).toFixed(2)} ms over /bin/true`);
    console.log(`agent login shell (bash --login -c true) through the entrypoint: +${(entry.login! - entry.entrypoint!).toFixed(2)} ms`);
  });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
