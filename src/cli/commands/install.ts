// `au install PROFILE...` / `au update [PROFILE...|--all]`: npm as the agent, in its own prefix,
// every step printed as it runs. First the facts (the agent's Node.js, each package's release
// and the Node.js range it needs), then, when the agent's Node.js is outside a range, a Node.js
// for the agent from the npm registry, then the packages, pinned to the releases checked.
import { loadConfig } from '../../config/store.js';
import { AuError } from '../../errors.js';
import { satisfies, pickNodeRelease } from '../../profiles/node-range.js';
import { allProfiles, findProfile } from '../../profiles/resolve.js';
import type { Profile } from '../../profiles/builtin.js';
import {
  type AgentJob,
  type AgentNode,
  type Manifest,
  agentInstallJob,
  agentNpmJob,
  agentNodeJob,
  manifestJob,
  neededRanges,
  nodePackageFor,
  nodeVersionsJob,
  parseAgentNode,
  parseManifest,
  parseVersionList,
  pinnedSpec,
  specKind,
  specOf,
} from '../../profiles/install.js';
import { runAsAgentCaptured, runAsAgentShown, visibleTail } from '../agent-capture.js';
import type { Context } from '../context.js';
import { UsageError } from '../errors.js';

export interface InstallOptions {
  update: boolean;
  all?: boolean;
  force?: boolean;
}

/** One job as the agent, printed first as the human could type it. */
class AgentJobs {
  constructor(
    private readonly ctx: Context,
    private readonly agentName: string,
  ) {}

  private show(job: AgentJob): void {
    process.stderr.write(`$ au run -a ${this.agentName} -- ${job.shown}\n`);
  }

  /** A read-only question: its output is parsed by the caller. */
  ask(job: AgentJob): { ok: boolean; stdout: string; why: string } {
    this.show(job);
    if (this.ctx.dryRun) return { ok: false, stdout: '', why: 'dry run' };
    const r = runAsAgentCaptured(this.ctx, this.agentName, job.argv, 120_000);
    return { ok: r.status === 0, stdout: r.stdout, why: visibleTail(r.stderr) || `exit status ${r.status}` };
  }

  /** A job that changes the agent's home; its output reaches the human as it comes. */
  run(job: AgentJob): number {
    this.show(job);
    return this.ctx.dryRun ? 0 : runAsAgentShown(this.ctx, this.agentName, job.argv);
  }
}

const note = (text: string): void => {
  process.stderr.write(`au: ${text}\n`);
};

function agentNode(jobs: AgentJobs): AgentNode {
  const r = jobs.ask(agentNodeJob);
  const node = r.ok ? parseAgentNode(r.stdout) : undefined;
  if (!node)
    throw new AuError(`the agent has no working node on its PATH (${r.why}): install Node.js system-wide first (npm comes with it)`);
  return node;
}

interface Planned {
  profile: Profile;
  spec: string;
  manifest?: Manifest;
  ranges: string[];
}

function plan(jobs: AgentJobs, profile: Profile, update: boolean): Planned {
  if (!profile.package)
    throw new AuError(
      `profile ${profile.name} names no npm package to install: set \`package\` in [profiles.${profile.name}] of your config, or install it yourself with au run`,
    );
  const spec = specOf(profile.package, update);
  if (specKind(spec) === 'other') {
    note(`${spec}: au cannot read its manifest before installing, so npm alone checks the Node.js it needs`);
    return { profile, spec, ranges: neededRanges(profile, undefined) };
  }
  const r = jobs.ask(manifestJob(spec));
  const manifest = r.ok ? parseManifest(r.stdout) : undefined;
  if (!manifest)
    throw new AuError(
      `cannot read the manifest of ${spec} as the agent (${r.ok ? 'not a package manifest' : r.why}): check the name and the agent's network access (au net show)`,
    );
  return { profile, spec, manifest, ranges: neededRanges(profile, manifest) };
}

const what = (p: Planned): string => (p.manifest ? `${p.profile.name} (${p.manifest.name} ${p.manifest.version})` : p.profile.name);

/** Installs, for the agent, the registry's Node.js build that fits every range; returns its version. */
function installAgentNode(jobs: AgentJobs, node: AgentNode, ranges: readonly string[]): string {
  const nodePackage = nodePackageFor(node.platform);
  const r = jobs.ask(nodeVersionsJob(nodePackage));
  const versions = r.ok ? parseVersionList(r.stdout) : [];
  if (versions.length === 0)
    throw new AuError(
      `the npm registry has no Node.js build for ${node.platform} (${nodePackage}: ${r.ok ? 'no releases' : r.why}): install Node.js ${ranges.join(' and ')} system-wide, or pass --force`,
    );
  const release = pickNodeRelease(versions, ranges);
  if (!release)
    throw new AuError(`no release of ${nodePackage} is in ${ranges.join(' and ')}: install a fitting Node.js system-wide, or pass --force`);
  note(
    `installing Node.js ${release} for the agent (npm package ${nodePackage}, into its ~/.local: ~/.local/bin/node comes first on its PATH, so its programs run on it)`,
  );
  const spec = `${nodePackage}@${release}`;
  const status = jobs.run(agentInstallJob([spec]));
  if (status !== 0) throw new AuError(`installing Node.js ${release} for the agent failed (exit status ${status}; npm's message is above)`);
  let now: AgentNode;
  try {
    now = agentNode(jobs);
  } catch (error) {
    // A Node.js that does not run on this machine must not stay first on the agent's PATH.
    jobs.run(agentNpmJob(['uninstall', '--global', '--loglevel=error', nodePackage]));
    throw new AuError(
      `the Node.js just installed for the agent does not run here (${error instanceof Error ? error.message : String(error)}); it was removed again: install Node.js ${ranges.join(' and ')} system-wide, or pass --force`,
    );
  }
  if (now.version !== release)
    throw new AuError(
      `the agent's login shell still finds Node.js ${now.version} (${now.path}), not the one just installed in ~/.local/bin: put ~/.local/bin first on its PATH (its ~/.profile)`,
    );
  note(`the agent's programs now get Node.js ${now.version} (${now.path})`);
  return release;
}

export function installCommand(ctx: Context, agentName: string, names: string[], options: InstallOptions): number {
  const config = loadConfig(ctx.configPath);
  if (options.all && names.length > 0) throw new UsageError('--all updates every profile with a package: name no profile with it');
  const profiles = options.all ? allProfiles(config).filter((p) => p.package) : names.map((name) => findProfile(config, name));
  if (profiles.length === 0) throw new UsageError(`name a profile to ${options.update ? 'update' : 'install'} (see \`au profiles\`)`);
  const jobs = new AgentJobs(ctx, agentName);
  if (ctx.dryRun) {
    // The questions only read, but their answers decide the rest: show what would be asked.
    const specs = profiles.map((p) => specOf(p.package ?? '?', options.update));
    jobs.ask(agentNodeJob);
    for (const spec of specs.filter((s) => specKind(s) !== 'other')) jobs.ask(manifestJob(spec));
    note("then, when the agent's Node.js is outside a range the packages need, a Node.js for the agent from the npm registry, and:");
    jobs.run(agentInstallJob(specs));
    return 0;
  }
  const node = agentNode(jobs);
  note(`the agent's programs get Node.js ${node.version} (${node.path})`);
  const planned = profiles.map((p) => plan(jobs, p, options.update));
  const ranges = planned.flatMap((p) => p.ranges);
  const unmet: string[] = [];
  for (const p of planned) {
    for (const range of p.ranges) {
      const fits = satisfies(node.version, range);
      if (fits === undefined) note(`cannot read the Node.js range ${JSON.stringify(range)} of ${what(p)}: npm checks it`);
      else if (fits) note(`${what(p)} needs Node.js ${range}: ${node.version} fits`);
      else unmet.push(`${what(p)} needs Node.js ${range}`);
    }
  }
  if (unmet.length > 0) {
    note(`${unmet.join('; ')}; the agent's Node.js is ${node.version} (${node.path})`);
    if (options.force) note('--force: installing with it anyway (the program may not run)');
    else
      installAgentNode(
        jobs,
        node,
        ranges.filter((r) => satisfies('0.0.0', r) !== undefined),
      );
  }
  const specs = planned.map((p) => pinnedSpec(p.spec, p.manifest));
  return jobs.run(agentInstallJob(specs));
}
