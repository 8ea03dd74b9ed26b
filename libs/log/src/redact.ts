/**
 * Credential redaction. Camera URLs carry `user:pass@`; nothing we log, store in
 * Redis or show on a page may contain them.
 */

/** Matches the userinfo part of any URL: scheme://user[:pass]@ */
const USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@'"]*@/gi;

/** `rtsp://user:pass@host/path` → `rtsp://***@host/path` (URLs without userinfo are unchanged). */
export function redactUrl(url: string): string {
  return url.replace(USERINFO, '$1***@');
}

const knownSecrets = new Set<string>();

/**
 * Registers secret strings (passwords, user names, and their percent-encoded
 * forms) that must never appear in output, even outside a URL.
 * Secrets shorter than 3 characters are ignored (they would redact ordinary words).
 */
export function registerSecrets(...secrets: Array<string | undefined>): void {
  for (const s of secrets) {
    if (!s || s.length < 3) continue;
    knownSecrets.add(s);
    try {
      const decoded = decodeURIComponent(s);
      if (decoded.length >= 3) knownSecrets.add(decoded);
    } catch {
      /* not percent-encoded */
    }
    knownSecrets.add(encodeURIComponent(s));
  }
}

/**
 * Registers the password of a URL as a secret (the user name is removed with
 * the URL's userinfo; alone it would redact ordinary words like "admin").
 */
export function registerUrlSecrets(url: string): void {
  const m = /^[a-z][a-z0-9+.-]*:\/\/([^/@]*)@/i.exec(url);
  if (!m || !m[1]) return;
  const [, ...rest] = m[1].split(':');
  registerSecrets(rest.join(':'));
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Redacts URL userinfo and every registered secret from any text. */
export function redactText(text: string): string {
  let out = redactUrl(text);
  if (knownSecrets.size === 0) return out;
  // Longest first so that a password containing the user name is removed whole.
  const sorted = [...knownSecrets].sort((a, b) => b.length - a.length);
  out = out.replace(new RegExp(sorted.map(escapeRegExp).join('|'), 'g'), '***');
  return out;
}

/** Deeply redacts every string inside a JSON-like value. */
export function redactDeep<T>(value: T): T {
  if (typeof value === 'string') return redactText(value) as T;
  if (Array.isArray(value)) return value.map((v) => redactDeep(v)) as T;
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    if (value instanceof Error) {
      const e = new Error(redactText(value.message));
      e.name = value.name;
      if (value.stack) e.stack = redactText(value.stack);
      return e as T;
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = redactDeep(v);
    return out as T;
  }
  return value;
}
