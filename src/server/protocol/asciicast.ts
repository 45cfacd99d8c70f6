// The one reader of session recordings (asciicast v2, as recording.ts writes them), for
// `au sessions replay` and the web page's replay (which bundles this file: no Node API here).
// Events: [seconds, "o", text] output, [seconds, "r", "COLSxROWS"] a resize, [seconds, "m",
// label] a marker (a gap in the recording), [seconds, "x", "CODE"] the exit code (asciicast
// v3's exit event; players of v2 skip types they do not know).
import { AuError } from '../../errors.js';

export interface CastHeader {
  version: 2;
  width: number;
  height: number;
  /** Unix seconds when the recording started. */
  timestamp?: number;
  command?: string;
  title?: string;
}

export interface CastEvent {
  time: number;
  type: string;
  data: string;
}

export interface Cast {
  header: CastHeader;
  events: CastEvent[];
}

export class CastError extends AuError {}

const dimension = (value: unknown, fallback: number): number =>
  typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 1000 ? value : fallback;

/** Parses a recording's text. A line that is not a whole event (a torn write) is skipped. */
export function parseCast(text: string): Cast {
  const lines = text.split('\n').filter((line) => line !== '');
  let raw: unknown;
  try {
    raw = JSON.parse(lines[0] ?? '');
  } catch {
    throw new CastError('not an asciicast v2 recording (no header line)');
  }
  if (typeof raw !== 'object' || raw === null || (raw as { version?: unknown }).version !== 2)
    throw new CastError('not an asciicast v2 recording');
  const fields = raw as Record<string, unknown>;
  const header: CastHeader = {
    version: 2,
    width: dimension(fields.width, 80),
    height: dimension(fields.height, 24),
    timestamp: typeof fields.timestamp === 'number' ? fields.timestamp : undefined,
    command: typeof fields.command === 'string' ? fields.command : undefined,
    title: typeof fields.title === 'string' ? fields.title : undefined,
  };
  const events: CastEvent[] = [];
  for (const line of lines.slice(1)) {
    let event: unknown;
    try {
      event = JSON.parse(line);
    } catch {
      continue; // a fragment left by a short write that could not be undone (see line-file.ts)
    }
    if (!Array.isArray(event) || event.length < 3) continue;
    const [time, type, data] = event as unknown[];
    if (typeof time !== 'number' || !Number.isFinite(time) || time < 0 || typeof type !== 'string' || typeof data !== 'string') continue;
    events.push({ time, type, data });
  }
  return { header, events };
}

/** The size a resize event sets, or undefined when its data is not COLSxROWS. */
export function castResize(event: CastEvent): { cols: number; rows: number } | undefined {
  if (event.type !== 'r') return undefined;
  const match = /^(\d{1,4})x(\d{1,4})$/.exec(event.data);
  if (!match) return undefined;
  const cols = Number(match[1]);
  const rows = Number(match[2]);
  return cols >= 1 && rows >= 1 && cols <= 1000 && rows <= 1000 ? { cols, rows } : undefined;
}

/** Seconds from the start to the last event. */
export const castDuration = (cast: Cast): number => cast.events.reduce((last, event) => Math.max(last, event.time), 0);

/** The exit code the recording ends with, when it has one. */
export function castExitCode(cast: Cast): number | undefined {
  for (let i = cast.events.length - 1; i >= 0; i--) {
    const event = cast.events[i]!;
    if (event.type === 'x' && /^-?\d{1,3}$/.test(event.data)) return Number(event.data);
  }
  return undefined;
}
