// Makes the whole session visible: the font is scaled so that the session's columns and rows
// fit the terminal's box (between MIN_FONT and MAX_FONT px); below MIN_FONT the text would be
// unreadable, so the box scrolls instead (app.css gives #terminal overflow: auto).
import type { Terminal } from '@xterm/xterm';

export const MAX_FONT = 14;
export const MIN_FONT = 7;

function screenSize(term: Terminal): { width: number; height: number } {
  const screen = term.element?.querySelector<HTMLElement>('.xterm-screen');
  return { width: screen?.offsetWidth ?? 0, height: screen?.offsetHeight ?? 0 };
}

/** The inner size of the box (without its padding). */
function room(box: HTMLElement): { width: number; height: number } {
  const style = getComputedStyle(box);
  const width = box.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
  const height = box.clientHeight - parseFloat(style.paddingTop) - parseFloat(style.paddingBottom);
  return { width: Math.max(0, width), height: Math.max(0, height) };
}

/** Scales the font so that the terminal's current cols x rows fit the box, or scroll below MIN_FONT. */
export function fitFont(term: Terminal, box: HTMLElement): void {
  const space = room(box);
  if (space.width === 0 || space.height === 0) return;
  // Measured at the largest size, then scaled: cell sizes are about linear in the font size;
  // the loop takes off the rounding.
  term.options.fontSize = MAX_FONT;
  const full = screenSize(term);
  if (full.width === 0) return;
  let size = Math.min(MAX_FONT, (MAX_FONT * space.width) / full.width, (MAX_FONT * space.height) / full.height);
  size = Math.max(MIN_FONT, Math.floor(size * 4) / 4);
  term.options.fontSize = size;
  for (let tries = 0; tries < 8 && size > MIN_FONT; tries++) {
    const shown = screenSize(term);
    if (shown.width <= space.width && shown.height <= space.height) break;
    size = Math.max(MIN_FONT, size - 0.25);
    term.options.fontSize = size;
  }
}
