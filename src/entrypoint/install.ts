// Compiles the entrypoint for one agent (its ids compiled in) as the human, in a private
// temporary directory, then installs it as root into the root-owned location.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CommandRunner } from '../system/runner.js';
import { ENTRYPOINT_ROOT, entrypointDirOf, entrypointPathOf } from './location.js';
import { currentBuildStamp } from './build-stamp.js';
import { COMPILER_FLAGS } from './flags.js';
import { sha256Of } from './verify.js';
import entrypointSource from './su_as_agent.c';
export { COMPILER_FLAGS };

export interface EntrypointIdentity {
  agentName: string;
  agentUid: number;
  agentGid: number;
  driverGroup: string;
  driverGid: number;
  agentHome: string;
}

const cString = (value: string): string => JSON.stringify(value);

export function compileFlagsFor(identity: EntrypointIdentity): string[] {
  return [
    ...COMPILER_FLAGS,
    `-DAGENT_NAME=${cString(identity.agentName)}`,
    `-DAGENT_UID=${identity.agentUid}`,
    `-DAGENT_GID=${identity.agentGid}`,
    `-DDRIVER_GID=${identity.driverGid}`,
    `-DAGENT_HOME=${cString(identity.agentHome)}`,
  ];
}

export interface InstalledEntrypoint {
  path: string;
  sha256: string;
  /** What it was built from (build-stamp.ts), recorded so that an older build is recognised. */
  build: string;
}

/** Builds and installs the entrypoint; returns its path, SHA-256 and build stamp. */
export function installEntrypoint(runner: CommandRunner, identity: EntrypointIdentity): InstalledEntrypoint {
  if (!runner.dryRun && (identity.agentUid < 1000 || identity.agentGid < 1000)) {
    throw new Error(`refusing to build an entrypoint for uid ${identity.agentUid} / gid ${identity.agentGid}: not an agent account`);
  }
  const path = entrypointPathOf(identity.agentName);
  // Named after the agent, so that `au delete` can remove one a kill left (agents/traces.ts).
  const workDir = mkdtempSync(join(tmpdir(), `au-entrypoint-${identity.agentName}-`));
  try {
    const source = join(workDir, 'su_as_agent.c');
    const binary = join(workDir, 'su_as_agent');
    writeFileSync(source, entrypointSource, { mode: 0o600 });
    runner.change(['cc', ...compileFlagsFor(identity), '-o', binary, source]);
    const sha256 = runner.dryRun ? '' : sha256Of(readFileSync(binary));
    runner.change(['install', '-d', '-o', 'root', '-g', 'root', '-m', '0755', ENTRYPOINT_ROOT, entrypointDirOf(identity.agentName)], {
      privileged: true,
    });
    runner.change(['install', '-o', 'root', '-g', identity.driverGroup, '-m', '4750', binary, path], { privileged: true });
    return { path, sha256, build: currentBuildStamp() };
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

export function removeEntrypoint(runner: CommandRunner, agentName: string): void {
  runner.change(['rm', '-rf', '--', entrypointDirOf(agentName)], { privileged: true });
  // The shared parent goes with the last agent.
  runner.change(['rmdir', '--ignore-fail-on-non-empty', ENTRYPOINT_ROOT], { privileged: true, allowFailure: true });
}
