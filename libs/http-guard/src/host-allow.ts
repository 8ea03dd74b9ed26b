import { isIP } from 'node:net';

/**
 * Which `Host` header values the board answers to (DNS rebinding defence).
 *
 * A page on evil.example that rebinds its name to 127.0.0.1 still sends
 * `Host: evil.example`; refusing every name the board does not know closes
 * that door. Allowed by default:
 *  - loopback names: `localhost`, `*.localhost`;
 *  - any IP address literal (`127.0.0.1`, `192.168.1.20`, `[::1]`): an
 *    address cannot be rebound, and a page loaded from an address is the
 *    board's own origin (so the LAN address from a phone, or the host's
 *    address in front of a container, work without configuration);
 *  - the names given (BOARD_ALLOWED_HOSTS: a reverse proxy's or the LAN name),
 *    exact or `*.example.org` (any subdomain); `*` turns the check off.
 * The port is not compared (a proxy or container may map it).
 */
export interface HostAllowList {
  /** True when a request with this Host header may be answered. */
  allows(hostHeader: string | undefined): boolean;
  /** True when `hostname` (no port) is one of the configured names (not the defaults). */
  isConfiguredName(hostname: string): boolean;
  /** What is allowed, for the refusal message and the logs. */
  describe(): string;
}

/** The host name of a Host header or URL authority, lower case, without port, brackets or trailing dot; undefined when malformed. */
export function hostnameOf(hostHeader: string): string | undefined {
  const h = hostHeader.trim().toLowerCase();
  if (!h || h.length > 255) return undefined;
  let name: string;
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    if (end < 0) return undefined;
    name = h.slice(1, end);
    const rest = h.slice(end + 1);
    if (rest && !/^:\d{1,5}$/.test(rest)) return undefined;
    return isIP(name) === 6 ? name : undefined;
  }
  const m = /^([a-z0-9._-]+)(?::(\d{1,5}))?$/.exec(h);
  if (!m) return undefined;
  name = m[1]!.replace(/\.$/, '');
  return name || undefined;
}

/** Parses BOARD_ALLOWED_HOSTS: comma or space separated names, `*.domain`, or `*`. Throws a one-line error on a bad entry. */
export function parseAllowedHosts(text: string | undefined): string[] {
  if (!text || !text.trim()) return [];
  const out: string[] = [];
  for (const raw of text.split(/[\s,]+/)) {
    const e = raw.trim().toLowerCase();
    if (!e) continue;
    if (e === '*') {
      out.push('*');
      continue;
    }
    const name = e.startsWith('*.') ? e.slice(2) : e;
    const bare = hostnameOf(name);
    if (!bare || bare !== name.replace(/\.$/, '') || name.includes(':')) {
      throw new Error(`BOARD_ALLOWED_HOSTS: "${raw}" is not a host name (use names like cams.example.org or *.example.org, without scheme or port)`);
    }
    out.push(e.startsWith('*.') ? `*.${bare}` : bare);
  }
  return out;
}

export function createHostAllowList(configured: readonly string[]): HostAllowList {
  const anyHost = configured.includes('*');
  const exact = new Set(configured.filter((n) => !n.startsWith('*.')));
  const suffixes = configured.filter((n) => n.startsWith('*.')).map((n) => n.slice(1));
  const isConfiguredName = (name: string) => anyHost || exact.has(name) || suffixes.some((s) => name.endsWith(s) && name.length > s.length);
  return {
    allows(hostHeader) {
      if (anyHost) return true;
      if (hostHeader === undefined) return false;
      const name = hostnameOf(hostHeader);
      if (!name) return false;
      if (name === 'localhost' || name.endsWith('.localhost')) return true;
      if (isIP(name)) return true;
      return isConfiguredName(name);
    },
    isConfiguredName,
    describe() {
      if (anyHost) return 'any host (BOARD_ALLOWED_HOSTS=*)';
      return ['localhost', 'IP addresses', ...configured].join(', ');
    },
  };
}
