// `--web [ADDR:]PORT`: where the web observer listens. Loopback unless the human passes an
// explicit flag for anything else.
import { AuUsageError } from '../../errors.js';
import { isIP } from 'node:net';

export class WebAddressError extends AuUsageError {}

export interface WebAddress {
  host: string;
  port: number;
  loopback: boolean;
  /** 0.0.0.0 or :: (every interface). */
  wildcard: boolean;
}

export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

export function parseWebAddress(spec: string): WebAddress {
  let host = '127.0.0.1';
  let portText = spec;
  const bracketed = /^\[([0-9a-fA-F:.]+)\]:(\d+)$/.exec(spec);
  if (bracketed) {
    host = bracketed[1]!;
    portText = bracketed[2]!;
  } else if (spec.includes(':')) {
    const at = spec.lastIndexOf(':');
    host = spec.slice(0, at);
    portText = spec.slice(at + 1);
  }
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535)
    throw new WebAddressError(`invalid port in --web ${JSON.stringify(spec)}: give [ADDR:]PORT`);
  if (host !== 'localhost' && isIP(host) === 0)
    throw new WebAddressError(`invalid address in --web ${JSON.stringify(spec)}: give an IP address (or localhost)`);
  return { host, port: Number(portText), loopback: isLoopbackHost(host), wildcard: host === '0.0.0.0' || host === '::' };
}

/** How a browser writes the host in an Origin or URL. */
export const urlHost = (host: string): string => (isIP(host) === 6 ? `[${host}]` : host);
