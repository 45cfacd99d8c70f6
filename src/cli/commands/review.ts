// `au changes`, `au accept`, `au discard`: what the agent staged in its review shares, applied to
// the human's folder or dropped (src/review/*). Names in the output are the agent's to choose:
// text output escapes them (printable) and goes through the terminal output filter on a
// terminal; JSON escapes every character outside printable ASCII, so names that differ only in
// invisible ways (Unicode normalisation, a newline) are told apart.
import { resolve } from 'node:path';
import type { AgentConfig, MountConfig } from '../../config/schema.js';
import { loadConfig } from '../../config/store.js';
import { findMount } from '../../mounts/shares.js';
import { type Outcome, acceptChanges, discardChanges, selectChanges } from '../../review/accept.js';
import { type Change, type OpenLayers, type ShareStage, publicChange, shareStageOf, withLayers } from '../../review/changes.js';
import { DiffWriter, writeDiff } from '../../review/diff.js';
import { changeHashes, digestOf, listingDigest } from '../../review/digest.js';
import { AuError } from '../../errors.js';
import { lockStage } from '../../review/stage-lock.js';
import { noteStage } from '../../review/base.js';
import { TerminalOutputFilter } from '../../terminal/output-filter.js';
import type { Context } from '../context.js';
import { ExitCode, UsageError } from '../errors.js';
import { paint, printable } from '../output.js';
import { runsAsYou } from '../../review/risky.js';
import { requireAgent } from './lookup.js';

interface ReviewShare {
  agent: string;
  mount: MountConfig;
  where: ShareStage;
}

function reviewShares(ctx: Context, agent: AgentConfig): ReviewShare[] {
  const shares: ReviewShare[] = [];
  for (const mount of agent.mounts) {
    const where = shareStageOf(agent.userName, mount, ctx.human);
    if (where) shares.push({ agent: agent.userName, mount, where });
  }
  return shares;
}

/**
 * SHARE and PATHs from the positional arguments: the first is the share when it names the
 * source or target of a review share; else the share is the one holding the current
 * directory, or the agent's only one.
 */
function pickShare(ctx: Context, agentName: string, args: readonly string[]): { share: ReviewShare; paths: string[] } {
  const agent = requireAgent(loadConfig(ctx.configPath), agentName);
  const shares = reviewShares(ctx, agent);
  if (shares.length === 0) throw new UsageError(`agent ${agentName} has no review share (add one with au mount add --review)`);
  const [first, ...rest] = args;
  if (first !== undefined) {
    const named = findMount(agent, first);
    const share = shares.find((s) => s.mount === named);
    if (share) return { share, paths: rest };
    if (named) throw new UsageError(`${first} is not a review share of agent ${agentName} (see au mount list)`);
  }
  const cwd = resolve('.');
  const here = shares.find((s) => cwd === s.mount.source || cwd.startsWith(`${s.mount.source}/`));
  if (here) return { share: here, paths: [...args] };
  if (shares.length === 1) return { share: shares[0]!, paths: [...args] };
  throw new UsageError(
    `agent ${agentName} has ${shares.length} review shares: name one first (${shares.map((s) => s.mount.source).join(', ')})`,
  );
}

/** Text to stdout; on a terminal through the output filter (what it shows holds the agent's names). */
function textOut(): (line: string) => void {
  const filter = process.stdout.isTTY ? new TerminalOutputFilter({ answerQueries: false }) : undefined;
  return (line) => {
    const bytes = Buffer.from(`${line}\n`);
    process.stdout.write(filter ? filter.push(bytes) : bytes);
  };
}

/** JSON with every character outside printable ASCII as \uXXXX. */
export function asciiJson(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(/[^\x20-\x7e\n]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

const octal = (mode: number): string => mode.toString(8).padStart(4, '0');

function jsonChange(c: Change): Record<string, unknown> {
  const { mode, oldMode, ...rest } = c;
  return { ...rest, ...(mode !== undefined ? { mode: octal(mode) } : {}), ...(oldMode !== undefined ? { oldMode: octal(oldMode) } : {}) };
}

const size = (bytes: number): string =>
  bytes < 1024
    ? `${bytes} B`
    : bytes < 1 << 20
      ? `${(bytes / 1024).toFixed(1)} KiB`
      : bytes < 1 << 30
        ? `${(bytes / (1 << 20)).toFixed(1)} MiB`
        : `${(bytes / (1 << 30)).toFixed(1)} GiB`;

/** A name for the terminal: controls escaped; a name not in Unicode's composed form shown with its code points. */
export function shownPath(path: string): string {
  const shown = printable(path);
  if (path === path.normalize('NFC')) return shown;
  return `${shown} [${[...path].map((ch) => (ch.charCodeAt(0) < 0x80 ? ch : `\\u{${ch.codePointAt(0)!.toString(16)}}`)).join('')}]`;
}

/**
 * One change as a line of text: the one place that builds its printable form. Every string in it
 * may hold the agent's bytes (names, targets, and the refusal and conflict texts that quote them),
 * so each goes through printable().
 */
function describeChange(c: Change): string {
  let line = `${c.kind.padEnd(8)} ${shownPath(c.path)}`;
  if (c.from !== undefined) line += ` (from ${shownPath(c.from)})`;
  if (c.target !== undefined) line += ` -> ${printable(c.target)}`;
  if (c.type === 'directory') line += '/';
  if (c.replaces !== undefined)
    line += `  (a ${c.type} in place of your ${c.replaces}${c.replaces === 'directory' ? ', which goes with all it holds' : ''})`;
  if (c.partOf !== undefined) line += `  (goes with the replacement of ${shownPath(c.partOf)})`;
  if (c.type === 'file' && c.kind !== 'deleted')
    line += `  ${size(c.size)}${c.diskSize !== undefined && c.diskSize < c.size ? ` (${size(c.diskSize)} on disk)` : ''}`;
  if (c.oldMode !== undefined && c.mode !== undefined) line += `  mode ${octal(c.oldMode)} -> ${octal(c.mode)}`;
  if (c.risky) line += `  ${paint('RISKY', 'yellow')}: ${printable(c.reasons.join('; '))}`;
  if (c.conflict) line += `  ${paint('CONFLICT', 'red')}: ${printable(c.conflict)}`;
  if (c.refused) line += `  ${paint('REFUSED', 'red')}: ${printable(c.refused)}`;
  return line;
}

export function changesCommand(
  ctx: Context,
  agentName: string,
  share: string | undefined,
  options: { json?: boolean; diff?: boolean; count?: boolean },
): void {
  const agent = requireAgent(loadConfig(ctx.configPath), agentName);
  const shares = share === undefined ? reviewShares(ctx, agent) : [pickShare(ctx, agentName, [share]).share];
  if (options.count) {
    // Just the number (the session server runs this for the web page, off its event loop).
    process.stdout.write(`${shares.reduce((sum, s) => sum + (withLayers(s.where, (layers) => layers.changes.length) ?? 0), 0)}\n`);
    return;
  }
  const digestNow = (s: ReviewShare): string =>
    withLayers(s.where, (layers) => listingDigest(layers.upperFd, layers.changes)) ?? digestOf([]);
  const listed = shares.map((s) => ({
    share: s,
    ...(withLayers(s.where, (layers) => ({ changes: layers.changes, digest: listingDigest(layers.upperFd, layers.changes) })) ?? {
      changes: [],
      digest: digestOf([]),
    }),
  }));
  if (options.json) {
    const out = listed.map(({ share: s, changes, digest }) => ({
      agent: s.agent,
      source: s.mount.source,
      target: s.mount.target,
      digest,
      changes: changes.map((c) => jsonChange(publicChange(c))),
    }));
    process.stdout.write(`${asciiJson(out)}\n`);
    return;
  }
  const out = textOut();
  if (shares.length === 0) return out(`Agent ${agentName} has no review share (add one with au mount add --review).`);
  for (const { share: s, changes } of listed) {
    const risky = changes.filter((c) => c.risky).length;
    out(
      `${printable(s.mount.source)} (agent ${agentName}, at ${printable(s.mount.target)}): ${changes.length === 0 ? 'no staged changes' : `${changes.length} staged change${changes.length === 1 ? '' : 's'}${risky ? `, ${risky} risky` : ''}`}`,
    );
    for (const c of changes) out(`  ${describeChange(c)}`);
  }
  if (options.diff) {
    // The diff is written after the listing, share by share, with the layers reopened.
    const writer = new DiffWriter(process.stdout);
    for (const { share: s } of listed) withLayers(s.where, (layers) => writeDiff(layers, layers.changes, writer));
  }
  if (listed.some(({ changes }) => changes.some(runsAsYou))) {
    out(
      'Note: modified scripts and executables run as you the next time you, a hook or a build runs them: read their diff (au changes --diff) before accepting.',
    );
  }
  // The digest binds au accept --expect to this listing; after a diff, only if the stage did
  // not change while it was shown (a run using the share may write meanwhile).
  let changed = false;
  for (const { share: s, changes, digest } of listed) {
    if (changes.length === 0) continue;
    if (options.diff && digestNow(s) !== digest) {
      process.stderr.write(
        `au: error: the staged changes of ${printable(s.mount.source)} changed while they were shown (a run is using the share?); run au changes again\n`,
      );
      changed = true;
      continue;
    }
    out(
      `Digest of ${printable(s.mount.source)}: ${digest} (au accept -a ${agentName} --expect ${digest} ${printable(s.mount.source)} [PATH...] applies only what is listed here)`,
    );
  }
  if (changed) throw new ExitCode(1);
  if (listed.some(({ changes }) => changes.length > 0)) {
    out(
      `Apply them: au accept -a ${agentName} [SHARE] [PATH...] (risky ones only when named or with --include-risky); drop them: au discard -a ${agentName} [SHARE] [PATH...]`,
    );
  }
}

/** Runs FN on the share's layers under STAGE's exclusive lock (refused while a run uses it). */
function underLock<T>(share: ReviewShare, fn: (layers: OpenLayers) => T): T | undefined {
  let release: () => void;
  try {
    release = lockStage(share.where.stage, share.agent);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const result = withLayers(share.where, fn);
    // What was applied or dropped is no longer noted as staged (base.ts).
    noteStage(share.where.stage, share.where.source, share.where.humanUid);
    return result;
  } finally {
    release();
  }
}

function reportOutcome(share: ReviewShare, outcome: Outcome, paths: readonly string[]): number {
  const out = textOut();
  const cmd = `-a ${share.agent} ${printable(share.mount.source)}`;
  out(`Applied ${outcome.applied.length} change${outcome.applied.length === 1 ? '' : 's'} to ${printable(share.mount.source)}`);
  for (const c of outcome.applied) out(`  ${c.kind.padEnd(8)} ${shownPath(c.path)}`);
  for (const c of outcome.risky)
    out(`  not applied (risky: ${printable(c.reasons.join('; '))}): ${shownPath(c.path)}; name it, or use --include-risky`);
  for (const c of outcome.refused)
    process.stderr.write(`au: error: ${shownPath(c.path)} refused: ${printable(c.refused ?? '')}; drop it with au discard ${cmd} PATH\n`);
  for (const c of outcome.conflicts) {
    process.stderr.write(
      `au: error: conflict: ${shownPath(c.path)}: ${printable(c.conflict ?? '')}; your version is kept and the agent's stays staged: compare them (au changes --diff ${cmd}), then keep yours (au discard ${cmd} PATH) or take the agent's (au accept --overwrite ${cmd} PATH)\n`,
    );
  }
  for (const { change, error } of outcome.failed)
    process.stderr.write(`au: error: cannot apply ${shownPath(change.path)}: ${printable(error)}\n`);
  // A refused change fails the command when it was named itself (not when a folder above it was: it is listed, the rest applied).
  const named = new Set(paths.map((p) => p.replace(/^(\.\/)+/, '').replace(/\/+$/, '')));
  return outcome.conflicts.length + outcome.failed.length + outcome.refused.filter((c) => named.has(c.path)).length > 0 ? 1 : 0;
}

/** --dry-run: what accept or discard would take, changing nothing. */
function dryRun(share: ReviewShare, paths: readonly string[], includeRisky: boolean, verb: string): void {
  const out = textOut();
  const picked = withLayers(share.where, (layers) => selectChanges(layers.changes, { paths, includeRisky }));
  const chosen = picked?.chosen ?? [];
  out(`Would ${verb} ${chosen.length} change${chosen.length === 1 ? '' : 's'} of ${printable(share.mount.source)}`);
  for (const c of chosen) out(`  ${describeChange(c)}`);
  for (const c of picked?.risky ?? []) out(`  not taken (risky, not named): ${shownPath(c.path)}`);
}

export function acceptCommand(
  ctx: Context,
  agentName: string,
  args: readonly string[],
  options: { includeRisky?: boolean; overwrite?: boolean; expect?: string },
): void {
  const { share, paths } = pickShare(ctx, agentName, args);
  if (ctx.dryRun) return dryRun(share, paths, Boolean(options.includeRisky), 'apply');
  const result = underLock(share, (layers) => {
    // Hashed before applying (under the lock no run changes the upper layer): what --expect checks and what is reported.
    const parts = changeHashes(layers.upperFd, layers.changes);
    const now = digestOf(layers.changes.map((c) => parts.get(c)!));
    if (options.expect !== undefined && options.expect.toLowerCase() !== now) {
      throw new AuError(
        `the staged changes of ${printable(share.mount.source)} are not those of digest ${printable(options.expect)} (now ${now}): nothing applied; review them again (au changes --diff -a ${share.agent})`,
      );
    }
    const outcome = acceptChanges(layers, { paths, includeRisky: Boolean(options.includeRisky), overwrite: Boolean(options.overwrite) });
    return { outcome, digest: digestOf(outcome.applied.map((c) => parts.get(c)!)) };
  });
  if (!result) {
    if (options.expect !== undefined && options.expect.toLowerCase() !== digestOf([]))
      throw new AuError(`nothing is staged in ${printable(share.mount.source)}, not the changes of digest ${printable(options.expect)}`);
    return textOut()(`No staged changes in ${printable(share.mount.source)}`);
  }
  const { outcome } = result;
  const code = reportOutcome(share, outcome, paths);
  if (outcome.applied.length > 0)
    textOut()(
      `Digest of the applied changes: ${result.digest}${options.expect === undefined ? ' (au accept --expect DIGEST, with the digest au changes printed, applies nothing unless the stage is what was listed)' : ''}`,
    );
  if (code !== 0) throw new ExitCode(code);
}

export function discardCommand(ctx: Context, agentName: string, args: readonly string[]): void {
  const { share, paths } = pickShare(ctx, agentName, args);
  if (ctx.dryRun) return dryRun(share, paths, true, 'drop');
  const result = underLock(share, (layers) => discardChanges(layers, paths));
  const out = textOut();
  if (!result) return out(`No staged changes in ${printable(share.mount.source)}`);
  out(`Discarded ${result.discarded.length} staged change${result.discarded.length === 1 ? '' : 's'} of ${printable(share.mount.source)}`);
  for (const { change, error } of result.failed)
    process.stderr.write(`au: error: cannot discard ${shownPath(change.path)}: ${printable(error)}\n`);
  if (result.failed.length > 0) throw new ExitCode(1);
}

/**
 * Per agent, how many changes await review (for au sessions list). A share that cannot be read is
 * not counted as 0 in silence: ONUNREADABLE hears of it (the agent may have made it unreadable).
 */
export function awaitingReview(ctx: Context, onUnreadable?: (agent: string, source: string, error: string) => void): Map<string, number> {
  const counts = new Map<string, number>();
  let agents: AgentConfig[] = [];
  try {
    agents = loadConfig(ctx.configPath).agents;
  } catch {
    return counts;
  }
  for (const agent of agents) {
    let total = 0;
    for (const share of reviewShares(ctx, agent)) {
      try {
        total += withLayers(share.where, (layers) => layers.changes.length) ?? 0;
      } catch (error) {
        onUnreadable?.(agent.userName, share.mount.source, (error as Error).message);
      }
    }
    if (total > 0) counts.set(agent.userName, total);
  }
  return counts;
}
