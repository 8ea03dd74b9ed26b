import type { IncomingHttpHeaders } from 'node:http';
import { hostnameOf, type HostAllowList } from './host-allow.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The authority (host[:port]) of an Origin or Referer value, lower case; undefined when it is not an http(s) URL. */
function authorityOf(url: string): string | undefined {
  try {
    const u = new URL(url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return undefined;
    return u.host.toLowerCase();
  } catch {
    return undefined;
  }
}

const header = (h: IncomingHttpHeaders, name: string): string | undefined => {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
};

/**
 * Why a state-changing request must be refused as cross-site, or undefined
 * when it may go on. Browsers say where a request comes from: `Sec-Fetch-Site`
 * (Chromium, Firefox, Safari 16.4+), else `Origin`, else `Referer`. A request
 * with none of them is not from a browser page (curl, the CLI, another
 * installation's uploader) and goes on: a browser cannot be made to drop all
 * three on a cross-site POST. `same-site` (another port or subdomain of the
 * same site) is refused too: another web app on the same box is not the board.
 * An Origin naming a configured host (BOARD_ALLOWED_HOSTS: the reverse proxy's
 * public name, which may rewrite Host) is accepted.
 */
export function crossSiteReason(method: string, headers: IncomingHttpHeaders, hosts: HostAllowList): string | undefined {
  if (SAFE_METHODS.has(method.toUpperCase())) return undefined;
  const site = header(headers, 'sec-fetch-site')?.toLowerCase();
  if (site !== undefined && site !== 'same-origin' && site !== 'none') {
    return `cross-site ${method} refused (Sec-Fetch-Site: ${site.slice(0, 20)}): state changes only from the board's own pages`;
  }
  const host = header(headers, 'host')?.trim().toLowerCase();
  const check = (what: 'Origin' | 'Referer', value: string): string | undefined => {
    const auth = value === 'null' ? undefined : authorityOf(value);
    if (auth === undefined) return `${what} "${value.slice(0, 80)}" refused for ${method}: state changes only from the board's own pages`;
    if (auth === host) return undefined;
    const name = hostnameOf(auth);
    if (name && hosts.isConfiguredName(name)) return undefined;
    return `cross-site ${method} refused (${what} ${auth.slice(0, 80)} is not this board, ${host ?? 'no Host'}): state changes only from the board's own pages`;
  };
  const origin = header(headers, 'origin');
  if (origin !== undefined) return check('Origin', origin.trim());
  const referer = header(headers, 'referer');
  if (referer !== undefined && site === undefined) return check('Referer', referer.trim());
  return undefined;
}

/**
 * True when the request declares a body (Content-Length > 0 or chunked) that
 * is not JSON. A form or `text/plain` POST needs no CORS preflight, so a
 * page elsewhere could send one; the board's own state-changing calls all
 * send JSON (or nothing).
 */
export function hasNonJsonBody(headers: IncomingHttpHeaders): boolean {
  const len = Number(header(headers, 'content-length') ?? '0');
  const chunked = /chunked/i.test(header(headers, 'transfer-encoding') ?? '');
  if (!chunked && !(len > 0)) return false;
  const type = (header(headers, 'content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  return type !== 'application/json';
}
