import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { SessionSummary } from '../../server/protocol/messages.js';
import type { Context } from '../context.js';
import { UsageError } from '../errors.js';
import { printJson, say } from '../output.js';
import { type SocketChoice, serverTargetOf } from './server.js';

export async function sessionsListCommand(ctx: Context, options: SocketChoice & { json?: boolean }): Promise<void> {
  const { request } = await import('../../client/connection.js');
  const result = await request(serverTargetOf(ctx, options), { action: 'list' });
  const sessions = (result.sessions ?? []) as (SessionSummary & { recordingLoss?: { lostBytes: number; error?: string } })[];
  // Per agent, the changes waiting in its review shares (the human's own shares, read as them).
  const { awaitingReview } = await import('./review.js');
  const unreadable: string[] = [];
  const review = awaitingReview(ctx, (agent, source, error) =>
    unreadable.push(
      `agent ${agent}: the review share ${source} cannot be read, changes may await review (${error}): see au changes -a ${agent}`,
    ),
  );
  if (options.json) return printJson(sessions.map((s) => ({ ...s, awaitingReview: review.get(s.agent) ?? 0 })));
  for (const line of unreadable) say(line);
  for (const [agent, count] of review)
    say(`agent ${agent}: ${count} change${count === 1 ? '' : 's'} await${count === 1 ? 's' : ''} review (au changes -a ${agent})`);
  // The record (audit log, recordings) has a gap when the disk did not take a write.
  const audit = result.audit as { lostEvents?: number; failing?: boolean; error?: string } | undefined;
  if (audit && (audit.lostEvents ?? 0) > 0) {
    say(
      `The record is incomplete: ${audit.lostEvents} audit events could not be written (${audit.error ?? 'disk full?'})${audit.failing ? ', and writing still fails' : ''}: free space where the server keeps its record (its owner's ~/.local/state)`,
    );
  }
  if (sessions.length === 0) return say('No sessions.');
  for (const s of sessions) {
    const clients = s.clients.map((c) => `${c.user}:${c.role}`).join(',') || '-';
    const lost =
      s.recordingLoss && s.recordingLoss.lostBytes > 0
        ? `  record incomplete: ${s.recordingLoss.lostBytes} bytes of the recording lost (${s.recordingLoss.error ?? '?'})`
        : '';
    say(`${s.id}  agent=${s.agent}  pid=${s.pid}  started=${s.startedAt}  clients=${clients}  ${s.command.join(' ')}${lost}`);
  }
}

export async function sessionsKillCommand(ctx: Context, id: string, options: SocketChoice): Promise<void> {
  const { request } = await import('../../client/connection.js');
  await request(serverTargetOf(ctx, options), { action: 'kill', session: id });
  say(`killed session ${id}`);
}

export async function sessionsReplayCommand(_ctx: Context, id: string, options: { speed?: string; file?: string }): Promise<void> {
  const speed = options.speed === undefined ? 1 : Number(options.speed);
  if (!Number.isFinite(speed) || speed <= 0) throw new UsageError(`invalid --speed ${JSON.stringify(options.speed)}`);
  const { recordingsDir } = await import('../../server/paths.js');
  const { readRecording } = await import('../../server/recording.js');
  let path = options.file;
  if (!path) {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(id)) throw new UsageError(`invalid session id ${JSON.stringify(id)}`);
    const dir = recordingsDir();
    let names: string[] = [];
    try {
      names = readdirSync(dir);
    } catch {
      /* none yet */
    }
    // Recordings are named YYYYMMDDTHHMMSS-ID.cast: the latest session of that id.
    const match = names
      .filter((n) => n.endsWith(`-${id}.cast`) && n.length === `YYYYMMDDTHHMMSS-${id}.cast`.length)
      .sort()
      .pop();
    if (!match) throw new Error(`no recording of session ${id} in ${dir}`);
    path = join(dir, match);
  }
  const { events } = readRecording(path);
  // The recording is the agent's output: it reaches the terminal through the same filter as
  // live, and no query in it is passed (there is no agent to read the terminal's answers: they
  // would be typed at the human's prompt). The human's own recorded keys are never re-sent.
  const { HumanTerminal } = await import('../../terminal/human-terminal.js');
  const terminal = new HumanTerminal({ output: process.stdout, filter: { answerQueries: false } });
  terminal.start();
  const interrupted = (): void => {
    terminal.restore();
    process.exit(130);
  };
  process.once('SIGINT', interrupted);
  try {
    let previous = 0;
    for (const event of events) {
      const wait = Math.min(event.time - previous, 2) / speed;
      previous = event.time;
      if (wait > 0) await new Promise((r) => setTimeout(r, wait * 1000));
      if (event.type === 'o') terminal.show(Buffer.from(event.data, 'utf8'));
    }
  } finally {
    process.off('SIGINT', interrupted);
    terminal.restore();
  }
}

/** `au sessions prune [--older-than DAYS]`: removes audit logs and recordings last written before then. */
export async function sessionsPruneCommand(ctx: Context, options: { olderThan?: string }): Promise<void> {
  const { loadConfig } = await import('../../config/store.js');
  const { pruneRecords, expiredRecords, recordFiles, retentionOf } = await import('../../server/retention.js');
  let days = retentionOf(loadConfig(ctx.configPath)).keepDays;
  if (options.olderThan !== undefined) {
    days = Number(options.olderThan);
    if (!/^\d+(\.\d+)?$/.test(options.olderThan) || days <= 0)
      throw new UsageError(`invalid --older-than ${JSON.stringify(options.olderThan)}: expected a number of days`);
  }
  const files = ctx.dryRun ? expiredRecords(recordFiles(), days) : pruneRecords(days);
  for (const file of files) process.stderr.write(`$ rm -- ${file.path}\n`);
  const mb = files.reduce((sum, f) => sum + f.bytes, 0) / 1024 / 1024;
  say(`${ctx.dryRun ? 'Would remove' : 'Removed'} ${files.length} record file(s) older than ${days} days (${mb.toFixed(1)} MiB)`);
}
