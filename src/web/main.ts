// The web observer's page: lists the agents (with health), the live sessions and the
// recordings; shows a live session in xterm.js over a WebSocket (the session server's framed
// protocol, carried in binary messages), and replays a recording with play/pause/seek. The
// frames, messages and recordings are read with the server's own modules (protocol/wire.ts,
// messages.ts, asciicast.ts): nothing of the protocol is typed twice. The page sends only what
// the viewer types (input.ts), whatever its role: the server decides (observers get an error).
import { Terminal } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';
import { Unicode11Addon } from '@xterm/addon-unicode11';
import { ScreenGuard } from '../server/screen-guard.js';
import {
  FrameReader,
  FrameType,
  SERVER_FRAME_TYPES,
  type WireFrame,
  frameBytes,
  parseJsonPayload,
  resizePayload,
} from '../server/protocol/wire.js';
import { type EndMessage, type TextMessage, type WebState, type Welcome, awaitingReviewText } from '../server/protocol/messages.js';
import { type Cast, castDuration, castExitCode, castResize, parseCast } from '../server/protocol/asciicast.js';
import { onViewerInput } from './input.js';
import { MAX_FONT, fitFont } from './fit.js';

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

function takeToken(): string {
  const match = /(?:^#|&)token=([A-Za-z0-9_-]+)/.exec(location.hash);
  if (match) {
    sessionStorage.setItem('au-token', match[1]!);
    // Out of the address bar (and of screenshots); the tab keeps it.
    history.replaceState(null, '', location.pathname);
    return match[1]!;
  }
  return sessionStorage.getItem('au-token') ?? '';
}

const token = takeToken();
const box = $('terminal');
// allowProposedApi: the Unicode 11 widths (emoji take two cells, as in the agent's terminal).
const term = new Terminal({
  cursorBlink: true,
  fontSize: MAX_FONT,
  scrollback: 2000,
  fontFamily: 'DejaVu Sans Mono, Menlo, monospace',
  theme: { background: '#000000' },
  allowProposedApi: true,
});
const fit = new FitAddon();
term.loadAddon(fit);
term.loadAddon(new Unicode11Addon());
term.unicode.activeVersion = '11';
term.open(box);
// The agent's output is hostile input to this xterm too: it gets only what the guard passes
// (counts clamped to the screen, a few marks per cell, no strings), in slices of bounded work
// so that xterm's write queue can yield to the page between them.
const guard = new ScreenGuard(term.cols, term.rows);
term.onResize(({ cols, rows }) => {
  guard.resize(cols, rows);
  layout();
});
const SLICE_WORK = 20_000;
function show(data: Uint8Array): void {
  for (let at = 0; at < data.length;) {
    const { output, consumed } = guard.filter(data.subarray(at), SLICE_WORK);
    at += consumed;
    if (output.length > 0) term.write(output);
  }
}
function resetTerminal(): void {
  term.reset();
  guard.reset();
}
let role: WebState['role'] | undefined;
let state: WebState | undefined;
let current: { kind: 'live'; id: string } | { kind: 'replay'; name: string } | undefined;

function message(text: string, error = false): void {
  const messages = $('messages');
  messages.textContent = text;
  messages.className = error ? 'error' : '';
}

function item(list: HTMLElement, build: (li: HTMLLIElement) => void): void {
  const li = document.createElement('li');
  build(li);
  list.appendChild(li);
}

function span(text: string, className?: string): HTMLSpanElement {
  const s = document.createElement('span');
  s.textContent = text;
  if (className) s.className = className;
  return s;
}

function empty(list: HTMLElement, text: string): void {
  item(list, (li) => li.appendChild(span(text, 'empty')));
}

function render(): void {
  if (!state) return;
  const agents = $('agents');
  agents.replaceChildren();
  for (const agent of state.agents) {
    item(agents, (li) => {
      li.dataset.agent = agent.name;
      li.appendChild(span(agent.healthy ? '● ' : '✖ ', agent.healthy ? 'ok' : 'bad'));
      li.appendChild(span(agent.name));
      li.appendChild(span(agent.healthy ? 'healthy' : agent.problems.join('; '), 'meta'));
      const review = awaitingReviewText(agent.awaitingReview);
      if (review) li.appendChild(span(review, 'meta review'));
    });
  }
  if (state.configError) empty(agents, state.configError);
  else if (state.agents.length === 0) empty(agents, 'no agents (au new)');
  const sessions = $('sessions');
  sessions.replaceChildren();
  for (const s of state.sessions) {
    item(sessions, (li) => {
      li.dataset.session = s.id;
      if (current?.kind === 'live' && current.id === s.id) li.className = 'current';
      const button = document.createElement('button');
      button.type = 'button';
      button.appendChild(span(s.id));
      button.appendChild(span(` ${s.agent}: ${s.command.join(' ')}`, 'meta'));
      button.appendChild(
        span(
          `${s.cols}x${s.rows}, since ${new Date(s.startedAt).toLocaleTimeString()}, ${s.clients.map((c) => `${c.user} (${c.role})`).join(', ') || 'nobody attached'}`,
          'meta',
        ),
      );
      button.onclick = () => watch(s.id);
      li.appendChild(button);
    });
  }
  if (state.sessions.length === 0) empty(sessions, 'no live session');
  const recordings = $('recordings');
  recordings.replaceChildren();
  for (const r of state.recordings.filter((x) => !x.live)) {
    item(recordings, (li) => {
      li.dataset.recording = r.name;
      li.dataset.session = r.session;
      if (current?.kind === 'replay' && current.name === r.name) li.className = 'current';
      const button = document.createElement('button');
      button.type = 'button';
      button.appendChild(span(r.session));
      button.appendChild(span(new Date(r.startedAt).toLocaleString(), 'meta'));
      button.onclick = () => void replay(r.name, r.session);
      li.appendChild(button);
    });
  }
  if (!state.recordings.some((x) => !x.live)) empty(recordings, 'no finished session yet');
}

async function refresh(): Promise<void> {
  if (!token) {
    $('no-token').hidden = false;
    return;
  }
  try {
    const response = await fetch('/api/state', { headers: { Authorization: `Bearer ${token}` }, cache: 'no-store' });
    if (!response.ok) {
      $('no-token').hidden = false;
      $('whoami').textContent = `refused (${response.status})`;
      return;
    }
    state = (await response.json()) as WebState;
    role = state.role;
    $('whoami').textContent =
      `${state.owner}'s server, you are ${role === 'operator' ? 'an operator (may type)' : 'an observer (read-only)'}`;
    $('whoami').className = role;
    render();
    // The page follows the session's size (set by its owner, or by an operator who sized it).
    const watching = live && !live.end ? state.sessions.find((x) => x.id === live!.id) : undefined;
    if (live && watching) {
      live.startedAt = Date.parse(watching.startedAt);
      const ours = watching.cols === term.cols && watching.rows === term.rows;
      // Sized to this window until another client resizes the session after us: then follow it.
      if (live.sizing && ours) live.sizingApplied = true;
      else if (live.sizing && live.sizingApplied) live.sizing = false;
      if (!live.sizing && !ours) term.resize(watching.cols, watching.rows);
    }
    showInfo();
  } catch (error) {
    $('status').textContent = `cannot reach the server: ${(error as Error).message}`;
  }
}

// ---- Layout: the whole session visible, the sidebar out of the way on a phone -------------------

/** The font scaled to show the session's size (or, for an operator who sized the session, the session sized to the window). */
function layout(): void {
  if (live?.sizing && !live.end) return sizeSessionToWindow();
  fitFont(term, box);
}

function sizeSessionToWindow(): void {
  term.options.fontSize = MAX_FONT;
  const proposed = fit.proposeDimensions();
  if (!proposed || !Number.isFinite(proposed.cols) || !Number.isFinite(proposed.rows)) return;
  const cols = Math.max(20, Math.min(1000, proposed.cols));
  const rows = Math.max(5, Math.min(1000, proposed.rows));
  if (cols !== term.cols || rows !== term.rows) {
    term.resize(cols, rows);
    if (live) live.sizingApplied = false;
  }
  send(frameBytes(FrameType.Resize, resizePayload(cols, rows)));
}

let layoutTimer: number | undefined;
new ResizeObserver(() => {
  clearTimeout(layoutTimer);
  layoutTimer = window.setTimeout(layout, 50);
}).observe(box);

$('side-toggle').onclick = () => document.body.classList.toggle('side-collapsed');
/** On a narrow screen the lists give the terminal the width once something is shown. */
const collapseSide = (): void => document.body.classList.add('side-collapsed');

// ---- Session state: running or ended, duration, exit code --------------------------------------

function duration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return h > 0
    ? `${h}h ${String(m).padStart(2, '0')}m ${String(s).padStart(2, '0')}s`
    : m > 0
      ? `${m}m ${String(s).padStart(2, '0')}s`
      : `${s}s`;
}

function showInfo(): void {
  const info = $('session-info');
  if (live) {
    if (live.end) {
      info.dataset.state = 'ended';
      info.textContent = `ended · exit code ${live.end.exitCode} · ran ${duration(live.end.durationMs)} · ${live.end.reason}`;
    } else {
      info.dataset.state = 'running';
      info.textContent = `running${live.startedAt ? ` · ${duration(Date.now() - live.startedAt)}` : ''}`;
    }
  } else if (cast) {
    const exit = castExitCode(cast);
    info.dataset.state = 'recorded';
    info.textContent = `recorded · ${castDuration(cast).toFixed(1)} s · ${exit === undefined ? 'no exit code recorded' : `exit code ${exit}`}`;
  } else {
    delete info.dataset.state;
    info.textContent = '';
  }
}
setInterval(showInfo, 1000);

// ---- Live sessions ----------------------------------------------------------------------------

interface Live {
  id: string;
  socket: WebSocket;
  reader: FrameReader;
  role?: Welcome['role'];
  startedAt?: number;
  end?: EndMessage;
  /** An operator who asked for the session to take this window's size. */
  sizing: boolean;
  /** The server has applied that size (so a different size later is someone else's). */
  sizingApplied?: boolean;
}
let live: Live | undefined;

function send(data: Uint8Array): void {
  if (live?.socket.readyState === WebSocket.OPEN) live.socket.send(data);
}

function handle(frame: WireFrame): void {
  if (!live) return;
  switch (frame.type) {
    case FrameType.Output:
      show(frame.payload);
      return;
    case FrameType.Welcome: {
      const w = parseJsonPayload(frame) as unknown as Welcome;
      live.role = w.role;
      $('view-title').textContent =
        `session ${w.session} (agent ${w.agent}), you are ${w.role}${w.role === 'observer' ? ', read-only' : ''}`;
      $('resize-session').hidden = w.role === 'observer';
      term.resize(w.cols, w.rows);
      layout();
      return;
    }
    case FrameType.Error:
      message((parseJsonPayload(frame) as unknown as TextMessage).message, true);
      return;
    case FrameType.Notice:
      message((parseJsonPayload(frame) as unknown as TextMessage).message);
      return;
    case FrameType.End: {
      live.end = parseJsonPayload(frame) as unknown as EndMessage;
      message(`session ${live.end.session} ended: ${live.end.reason}, exit code ${live.end.exitCode}`);
      $('status').textContent = 'ended';
      $('resize-session').hidden = true;
      showInfo();
      void refresh();
      return;
    }
    case FrameType.Ping:
      send(frameBytes(FrameType.Pong, frame.payload));
      return;
  }
}

function closeLive(): void {
  if (live) {
    live.socket.onclose = null;
    live.socket.close();
  }
  live = undefined;
  $('resize-session').hidden = true;
}

function watch(id: string): void {
  stopReplay();
  closeLive();
  current = { kind: 'live', id };
  $('player').hidden = true;
  message('');
  resetTerminal();
  render();
  collapseSide();
  const ws = new WebSocket(
    `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws?session=${encodeURIComponent(id)}&token=${encodeURIComponent(token)}`,
  );
  ws.binaryType = 'arraybuffer';
  const summary = state?.sessions.find((s) => s.id === id);
  const session: Live = {
    id,
    socket: ws,
    reader: new FrameReader(SERVER_FRAME_TYPES),
    startedAt: summary ? Date.parse(summary.startedAt) : undefined,
    sizing: false,
  };
  live = session;
  ws.onopen = () => ($('status').textContent = `connected to ${id}`);
  ws.onmessage = (event) => {
    if (live !== session) return;
    try {
      for (const frame of session.reader.push(new Uint8Array(event.data as ArrayBuffer))) handle(frame);
    } catch (error) {
      message(`protocol error from the server: ${(error as Error).message}`, true);
      ws.close();
    }
  };
  ws.onclose = (event) => {
    if (live === session) $('status').textContent = `disconnected (${event.code})`;
  };
  showInfo();
  term.focus();
}

$('resize-session').onclick = () => {
  if (!live || live.role === 'observer') return;
  live.sizing = true;
  live.sizingApplied = false;
  sizeSessionToWindow();
};

const utf8 = new TextEncoder();
const inputSource = onViewerInput(
  term,
  () => live?.role !== undefined && live.role !== 'observer',
  (data, binary) => {
    if (current?.kind === 'live')
      send(frameBytes(FrameType.Input, binary ? Uint8Array.from(data, (c) => c.charCodeAt(0) & 0xff) : utf8.encode(data)));
  },
);

// Ctrl+C (or Cmd+C, Ctrl+Shift+C) with a selection copies it, as in a terminal emulator; only
// without a selection does Ctrl+C reach the agent.
function copy(text: string): void {
  const done = (): void => message(`copied ${text.length} characters`);
  const fallback = (): void => {
    const area = document.createElement('textarea');
    area.value = text;
    document.body.appendChild(area);
    area.select();
    const ok = document.execCommand('copy');
    area.remove();
    if (ok) done();
    else message('the browser refused to copy (select and use its menu)', true);
    term.focus();
  };
  if (navigator.clipboard?.writeText) navigator.clipboard.writeText(text).then(done, fallback);
  else fallback();
}
term.attachCustomKeyEventHandler((event) => {
  if (
    event.type !== 'keydown' ||
    event.key.toLowerCase() !== 'c' ||
    !(event.ctrlKey || event.metaKey) ||
    event.altKey ||
    !term.hasSelection()
  )
    return true;
  event.preventDefault();
  copy(term.getSelection());
  return false;
});

// ---- Replay -----------------------------------------------------------------------------------

let cast: Cast | undefined;
let position = 0;
let applied = 0;
let playing: { wallStart: number; from: number } | undefined;
let timer: number | undefined;

const castLength = (): number => (cast ? castDuration(cast) : 0);

function showClock(): void {
  $<HTMLInputElement>('seek').value = String(position);
  $('clock').textContent = `${position.toFixed(1)} / ${castLength().toFixed(1)} s`;
}

/** Applies the events up to `target` (from the start when seeking back). */
function applyTo(target: number): void {
  if (!cast) return;
  if (target < position || applied === 0) {
    resetTerminal();
    term.resize(cast.header.width, cast.header.height);
    applied = 0;
  }
  let out = '';
  while (applied < cast.events.length && cast.events[applied]!.time <= target) {
    const event = cast.events[applied++]!;
    if (event.type === 'o') out += event.data;
    const size = castResize(event);
    if (size) {
      if (out) show(utf8.encode(out));
      out = '';
      term.resize(size.cols, size.rows);
    }
  }
  if (out) show(utf8.encode(out));
  position = target;
  showClock();
}

function tick(): void {
  if (!playing) return;
  const speed = Number($<HTMLSelectElement>('speed').value) || 1;
  const target = Math.min(castLength(), playing.from + ((performance.now() - playing.wallStart) / 1000) * speed);
  applyTo(target);
  if (target >= castLength()) {
    pause();
    $('status').textContent = 'replay finished';
    return;
  }
  timer = window.setTimeout(tick, 30);
}

function play(): void {
  if (!cast) return;
  if (position >= castLength()) {
    applied = 0;
    position = 0;
    applyTo(0);
  }
  playing = { wallStart: performance.now(), from: position };
  $('play').textContent = 'Pause';
  $('status').textContent = 'playing';
  tick();
}

function pause(): void {
  playing = undefined;
  clearTimeout(timer);
  $('play').textContent = 'Play';
  if ($('status').textContent === 'playing') $('status').textContent = 'paused';
}

function stopReplay(): void {
  pause();
  cast = undefined;
}

async function replay(name: string, session: string): Promise<void> {
  closeLive();
  stopReplay();
  current = { kind: 'replay', name };
  render();
  collapseSide();
  message('');
  const response = await fetch(`/api/recordings/${encodeURIComponent(name)}`, {
    headers: { Authorization: `Bearer ${token}` },
    cache: 'no-store',
  });
  if (!response.ok) {
    message(`cannot load the recording (${response.status})`, true);
    return;
  }
  try {
    cast = parseCast(await response.text());
  } catch (error) {
    message(`cannot play the recording: ${(error as Error).message}`, true);
    return;
  }
  position = 0;
  applied = 0;
  $('view-title').textContent = `replay of session ${session}`;
  $('player').hidden = false;
  $<HTMLInputElement>('seek').max = String(castLength());
  showInfo();
  applyTo(0);
  play();
}

$('play').onclick = () => (playing ? pause() : play());
$('seek').oninput = () => {
  const wasPlaying = playing !== undefined;
  pause();
  applyTo(Number($<HTMLInputElement>('seek').value));
  if (wasPlaying) play();
};
$('speed').onchange = () => {
  if (playing) play();
};

// For tests and scripts: the terminal's text as shown, and its size.
const exposed = window as unknown as {
  auTerminalText: () => string;
  auTerminalSize: () => { cols: number; rows: number; fontSize: number };
  auInputSource: string;
};
exposed.auInputSource = inputSource;
exposed.auTerminalText = () => {
  const buffer = term.buffer.active;
  const lines: string[] = [];
  for (let y = 0; y < buffer.length; y++) lines.push(buffer.getLine(y)?.translateToString(true) ?? '');
  return lines.join('\n');
};
/** The column of `char` on the first line that starts with `text` (wide characters take two). */
(exposed as unknown as { auColumnOf: (text: string, char: string) => number }).auColumnOf = (text, char) => {
  const buffer = term.buffer.active;
  for (let y = 0; y < buffer.length; y++) {
    const line = buffer.getLine(y);
    if (!line?.translateToString(true).startsWith(text)) continue;
    for (let x = 0; x < line.length; x++) if (line.getCell(x)?.getChars() === char) return x;
  }
  return -1;
};
exposed.auTerminalSize = () => ({ cols: term.cols, rows: term.rows, fontSize: term.options.fontSize ?? MAX_FONT });

void refresh();
setInterval(() => void refresh(), 2000);
