// The web observer's access tokens: one grants observer, one operator. Random (32 bytes from
// the CSPRNG, base64url), kept in a 0600 file in the human's state directory so that
// `au server token` can print them again, and stable across server restarts until rotated.
// A token is compared in constant time (digests of equal length, timingSafeEqual).
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { stateDir } from '../paths.js';

export type WebRole = 'observer' | 'operator';

export interface WebTokens {
  observer: string;
  operator: string;
  /** The address of the last server that served them (for `au server token`). */
  url?: string;
}

export const webTokensPath = (env?: NodeJS.ProcessEnv): string => join(stateDir(env), 'web-tokens.json');

const newToken = (): string => randomBytes(32).toString('base64url');
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

export function readTokens(path = webTokensPath()): WebTokens | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  const data = JSON.parse(text) as Partial<WebTokens>;
  if (
    typeof data.observer !== 'string' ||
    typeof data.operator !== 'string' ||
    !TOKEN_SHAPE.test(data.observer) ||
    !TOKEN_SHAPE.test(data.operator)
  ) {
    return undefined;
  }
  return { observer: data.observer, operator: data.operator, ...(typeof data.url === 'string' ? { url: data.url } : {}) };
}

export function writeTokens(tokens: WebTokens, path = webTokensPath()): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(tokens, null, 2)}\n`, { mode: 0o600 });
  chmodSync(temporary, 0o600);
  renameSync(temporary, path);
}

/** The existing tokens (new ones when there are none, or when `rotate`), with `url` recorded. */
export function loadOrCreateTokens(options: { path?: string; url?: string; rotate?: boolean } = {}): WebTokens {
  const path = options.path ?? webTokensPath();
  const existing = options.rotate ? undefined : readTokens(path);
  const tokens: WebTokens = existing ?? { observer: newToken(), operator: newToken() };
  if (options.url) tokens.url = options.url;
  if (existing) chmodSync(path, 0o600);
  if (!existing || options.url) writeTokens(tokens, path);
  return tokens;
}

const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

function sameSecret(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

/** The role a token grants, or undefined. Both tokens are always compared (no early exit). */
export function roleOfToken(tokens: WebTokens, given: string | undefined): WebRole | undefined {
  if (typeof given !== 'string' || given === '') return undefined;
  const operator = sameSecret(given, tokens.operator);
  const observer = sameSecret(given, tokens.observer);
  return operator ? 'operator' : observer ? 'observer' : undefined;
}
