// The web observer's page: lists the agents (with health), the live sessions and the
// recordings; shows a live session in xterm.js over a WebSocket (the session server's framed
// protocol, carried in binary messages), and replays a recording with play/pause/seek. The
// page sends what is typed whatever its role: the server decides (observers get an error).
import { Terminal } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';
import { ScreenGuard } from '../server/screen-guard.js';

const Frame = { Welcome: 0x02, Error: 0x03, Input: 0x10, Output: 0x11, Resize: 0x20, Ping: 0x21, Pong: 0x22, End: 0x30, Notice: 0x31 } as const;

interface SessionSummary {
  id: string;
  agent: string;
  command: string[];
  owner: string;
  startedAt: string;
  cols: number;
  rows: number;
  clients: { user: string; role: string }[];
}
interface State {
  role: 'observer' | 'operator';
  owner: string;
  agents: { name: string; healthy: boolean; problems: string[] }[];
  configError?: string;
  sessions: SessionSummary[];
  recordings: { name: string; session: string; startedAt: string; live: boolean }[];
}

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
const term = new Terminal({ cursorBlink: true, fontSize: 14, scrollback: 2000, fontFamily: 'DejaVu Sans Mono, Menlo, monospace', theme: { background: '#000000' } });
const fit = new FitAddon();
term.loadAddon(fit);
term.open($('terminal'));
// The agent's output is hostile input to this xterm too: it gets only what the guard passes
// (counts clamped to the screen, a few marks per cell, no strings), in slices of bounded work
// so that xterm's write queue can yield to the page between them.
const guard = new ScreenGuard(term.cols, term.rows);
term.onResize(({ cols, rows }) => guard.resize(cols, rows));
const SLICE_WORK = 20_000;
function show(data: Uint8Array): void {
  for (let at = 0; at < data.length; ) {
    const { output, consumed } = guard.filter(data.subarray(at), SLICE_WORK);
    at += consumed;
    if (output.length > 0) term.write(output);
  }
}
function resetTerminal(): void {
  term.reset();
  guard.reset();
}
let role: State['role'] | undefined;
let state: State | undefined;
let current: { kind: 'live'; id: string } | { kind: 'replay'; name: string } | undefined;

function message(text: string, error = false): void {
  const box = $('messages');
  box.textContent = text;
  box.className = error ? 'error' : '';
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
      button.appendChild(span(`${s.cols}x${s.rows}, since ${new Date(s.startedAt).toLocaleTimeString()}, ${s.clients.map((c) => `${c.user} (${c.role})`).join(', ') || 'nobody attached'}`, 'meta'));
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
    state = (await response.json()) as State;
    role = state.role;
    $('whoami').textContent = `${state.owner}'s server, you are ${role === 'operator' ? 'an operator (may type)' : 'an observer (read-only)'}`;
    $('whoami').className = role;
    render();
    const watching = current?.kind === 'live' ? current.id : undefined;
    if (watching && role === 'observer') {
      const s = state.sessions.find((x) => x.id === watching);
      if (s && (s.cols !== term.cols || s.rows !== term.rows)) term.resize(s.cols, s.rows);
    }
  } catch (error) {
    $('status').textContent = `cannot reach the server: ${(error as Error).message}`;
  }
}

// ---- Live sessions ----------------------------------------------------------------------------

let socket: WebSocket | undefined;
let pending = new Uint8Array(0);
const encoder = new TextEncoder();
const decoder = new TextDecoder();

function frame(type: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(5 + payload.length);
  out[0] = type;
  new DataView(out.buffer).setUint32(1, payload.length);
  out.set(payload, 5);
  return out;
}

function resizeFrame(cols: number, rows: number): Uint8Array {
  const payload = new Uint8Array(4);
  const view = new DataView(payload.buffer);
  view.setUint16(0, cols);
  view.setUint16(2, rows);
  return frame(Frame.Resize, payload);
}

function send(data: Uint8Array): void {
  if (socket?.readyState === WebSocket.OPEN) socket.send(data);
}

function fitLive(): void {
  if (current?.kind !== 'live' || role !== 'operator') return;
  fit.fit();
  send(resizeFrame(term.cols, term.rows));
}

function received(chunk: Uint8Array): void {
  let data = chunk;
  if (pending.length > 0) {
    data = new Uint8Array(pending.length + chunk.length);
    data.set(pending);
    data.set(chunk, pending.length);
  }
  let at = 0;
  while (data.length - at >= 5) {
    const view = new DataView(data.buffer, data.byteOffset + at);
    const type = view.getUint8(0);
    const length = view.getUint32(1);
    if (data.length - at - 5 < length) break;
    const payload = data.subarray(at + 5, at + 5 + length);
    at += 5 + length;
    handle(type, payload);
  }
  pending = data.slice(at);
}

function handle(type: number, payload: Uint8Array): void {
  const json = (): Record<string, unknown> => JSON.parse(decoder.decode(payload)) as Record<string, unknown>;
  switch (type) {
    case Frame.Output:
      show(payload);
      return;
    case Frame.Welcome: {
      const w = json();
      $('view-title').textContent = `session ${String(w.session)} (agent ${String(w.agent)}), you are ${String(w.role)}${w.role === 'observer' ? ', read-only' : ''}`;
      if (w.role === 'operator') fitLive();
      else term.resize(Number(w.cols), Number(w.rows));
      return;
    }
    case Frame.Error:
      message(String(json().message), true);
      return;
    case Frame.Notice:
      message(String(json().message));
      return;
    case Frame.End: {
      const e = json();
      message(`session ${String(e.session)} ended: ${String(e.reason)}, exit code ${String(e.exitCode)}`);
      $('status').textContent = 'ended';
      void refresh();
      return;
    }
    case Frame.Ping:
      send(frame(Frame.Pong, payload));
      return;
  }
}

function closeLive(): void {
  if (socket) {
    socket.onclose = null;
    socket.close();
  }
  socket = undefined;
  pending = new Uint8Array(0);
}

function watch(id: string): void {
  stopReplay();
  closeLive();
  current = { kind: 'live', id };
  $('player').hidden = true;
  message('');
  resetTerminal();
  render();
  const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws?session=${encodeURIComponent(id)}&token=${encodeURIComponent(token)}`);
  ws.binaryType = 'arraybuffer';
  ws.onopen = () => ($('status').textContent = `connected to ${id}`);
  ws.onmessage = (event) => received(new Uint8Array(event.data as ArrayBuffer));
  ws.onclose = (event) => {
    if (socket === ws) $('status').textContent = `disconnected (${event.code})`;
  };
  socket = ws;
  term.focus();
}

term.onData((data) => {
  if (current?.kind === 'live') send(frame(Frame.Input, encoder.encode(data)));
});
term.onBinary((data) => {
  if (current?.kind === 'live') send(frame(Frame.Input, Uint8Array.from(data, (c) => c.charCodeAt(0) & 0xff)));
});
let resizeTimer: number | undefined;
new ResizeObserver(() => {
  clearTimeout(resizeTimer);
  resizeTimer = window.setTimeout(fitLive, 100);
}).observe($('terminal'));

// ---- Replay -----------------------------------------------------------------------------------

interface Cast {
  width: number;
  height: number;
  events: [number, string, string][];
}
let cast: Cast | undefined;
let position = 0;
let applied = 0;
let playing: { wallStart: number; from: number } | undefined;
let timer: number | undefined;

function parseCast(text: string): Cast {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const header = JSON.parse(lines[0] ?? '{}') as { version?: number; width?: number; height?: number };
  if (header.version !== 2) throw new Error('not an asciicast v2 recording');
  return { width: header.width ?? 80, height: header.height ?? 24, events: lines.slice(1).map((l) => JSON.parse(l) as [number, string, string]) };
}

const duration = (): number => (cast && cast.events.length > 0 ? cast.events[cast.events.length - 1]![0] : 0);

function showClock(): void {
  $<HTMLInputElement>('seek').value = String(position);
  $('clock').textContent = `${position.toFixed(1)} / ${duration().toFixed(1)} s`;
}

/** Applies the events up to `position` (from the start when seeking back). */
function applyTo(target: number): void {
  if (!cast) return;
  if (target < position || applied === 0) {
    resetTerminal();
    term.resize(cast.width, cast.height);
    applied = 0;
  }
  let out = '';
  while (applied < cast.events.length && cast.events[applied]![0] <= target) {
    const [, kind, data] = cast.events[applied++]!;
    if (kind === 'o') out += data;
    else if (kind === 'r') {
      if (out) show(encoder.encode(out));
      out = '';
      const [cols, rows] = data.split('x').map(Number);
      if (cols && rows) term.resize(cols, rows);
    }
  }
  if (out) show(encoder.encode(out));
  position = target;
  showClock();
}

function tick(): void {
  if (!playing) return;
  const speed = Number($<HTMLSelectElement>('speed').value) || 1;
  const target = Math.min(duration(), playing.from + ((performance.now() - playing.wallStart) / 1000) * speed);
  applyTo(target);
  if (target >= duration()) {
    pause();
    $('status').textContent = 'replay finished';
    return;
  }
  timer = window.setTimeout(tick, 30);
}

function play(): void {
  if (!cast) return;
  if (position >= duration()) {
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
  message('');
  const response = await fetch(`/api/recordings/${encodeURIComponent(name)}`, { headers: { Authorization: `Bearer ${token}` }, cache: 'no-store' });
  if (!response.ok) {
    message(`cannot load the recording (${response.status})`, true);
    return;
  }
  cast = parseCast(await response.text());
  position = 0;
  applied = 0;
  $('view-title').textContent = `replay of session ${session}`;
  $('player').hidden = false;
  $<HTMLInputElement>('seek').max = String(duration());
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

// For tests and scripts: the terminal's text as shown.
(window as unknown as { auTerminalText: () => string }).auTerminalText = () => {
  const buffer = term.buffer.active;
  const lines: string[] = [];
  for (let y = 0; y < buffer.length; y++) lines.push(buffer.getLine(y)?.translateToString(true) ?? '');
  return lines.join('\n');
};

void refresh();
setInterval(() => void refresh(), 2000);
