// Which of xterm.js's data is the viewer's own input. xterm.js sends through one onData event
// both what the user does (keys, paste, mouse) and what the terminal says by itself: focus
// reports when the page gains or loses focus, answers to the agent's queries (device
// attributes, cursor position...). Only the former is sent: an observer joining must not get a
// "read-only" refusal for its terminal's answers, and several terminals answering one query
// would type the answers into the agent twice. xterm.js knows which is which (its core service
// fires onUserInput right before onData for user input); that hook is not public API, so when
// it is missing the page falls back to recognising the reports by their form.
import type { Terminal } from '@xterm/xterm';
import { isFocusReport, isMouseReport, isOnlyTerminalReports } from '../server/protocol/terminal-reports.js';

type Listener = (data: string, binary: boolean) => void;

interface CoreWithUserInput {
  coreService?: { onUserInput?: (listener: () => void) => unknown };
}

const utf8 = new TextEncoder();

/**
 * Calls `send` with what the viewer typed, pasted or (for a viewer that may type) did with the
 * mouse; never with the terminal's own reports. Says how it tells them apart: by xterm.js's own
 * knowledge, or (without the hook) by the reports' form.
 */
export function onViewerInput(term: Terminal, mayType: () => boolean, send: Listener): 'xterm' | 'form' {
  const core = (term as unknown as { _core?: CoreWithUserInput })._core;
  const hook = core?.coreService?.onUserInput;
  let userInput = false;
  if (typeof hook === 'function') hook.call(core!.coreService, () => (userInput = true));
  const decide = (data: string, binary: boolean): void => {
    const fromUser =
      typeof hook === 'function'
        ? userInput
        : !isOnlyTerminalReports(binary ? Uint8Array.from(data, (c) => c.charCodeAt(0) & 0xff) : utf8.encode(data));
    userInput = false;
    if (!fromUser || isFocusReport(data)) return;
    // A click or a wheel turn of a viewer who may not type is no attempt to type.
    if ((binary || isMouseReport(data)) && !mayType()) return;
    send(data, binary);
  };
  term.onData((data) => decide(data, false));
  // xterm.js sends binary data only for mouse reports in the X10 encoding; it is user input.
  term.onBinary((data) => {
    userInput = true;
    decide(data, true);
  });
  return typeof hook === 'function' ? 'xterm' : 'form';
}
