/**
 * What a sending installation (an http replica target) and a receiving one
 * (its board) agree on:
 *
 *   HEAD <board>/api/replica/segments/<camera>/<file>  → 200 with the stored file's sha256 and size | 404 with the receiver's size limit
 *   PUT  <board>/api/replica/segments/<camera>/<file>  → 201 stored | 200 { already: true }
 *
 * Live copies of the segment being recorded (the theft window):
 *
 *   POST <board>/api/replica/segments/<camera>/<file>/live    X-Live-Offset: N, body = bytes [N, N+len) of the file,
 *        whole boxes (ftyp+moov first, then moof+mdat pairs)  → 200 { held } | 409 { held } (the receiver holds fewer than N bytes)
 *   POST <board>/api/replica/segments/<camera>/<file>/finish  X-Live-Size, X-Content-SHA256 of those bytes
 *        → 201 stored (now an ordinary indexed segment) | 200 { already } | 409 { held } (send the rest first)
 *
 * `held` (also the X-Live-Held header) is how many bytes from the start the receiver holds; `final: true`
 * when the segment is already a finished file there (nothing more to append).
 *
 * Authorization: Bearer <token>; a refusal's reason also travels as a header (a HEAD answer has no body).
 */
export const RECEIVE_PATH = '/api/replica/segments';

/** Header names (lower case, as Node reads them). */
export const REPLICA_HEADERS = {
  /** sha256 (hex) of the body (PUT) or of the stored file (HEAD 200). */
  sha256: 'x-content-sha256',
  /** UTC start of the segment, ms since epoch (PUT). */
  startMs: 'x-segment-start-ms',
  /** Length of the segment in ms (HEAD, PUT; 0 = unknown). */
  durationMs: 'x-segment-duration-ms',
  /** Largest upload the receiver accepts (HEAD 404). */
  maxBytes: 'x-receive-max-bytes',
  /** Why the receiver refused (every error answer). */
  error: 'x-replica-error',
  /** Where the receiver stored the file, relative to its recordings folder (HEAD 200). */
  storedFile: 'x-stored-file',
  /** Byte offset of a live append's body in the segment file (POST …/live). */
  liveOffset: 'x-live-offset',
  /** Bytes the receiver holds of a live segment, from its start (live answers). */
  liveHeld: 'x-live-held',
  /** Final size of a live segment (POST …/finish). */
  liveSize: 'x-live-size',
} as const;

/** `<segment url>/live` (append) and `<segment url>/finish`. */
export function liveUrl(baseUrl: string, cameraId: string, fileName: string, what: 'live' | 'finish'): URL {
  const u = segmentUrl(baseUrl, cameraId, fileName);
  u.pathname += `/${what}`;
  return u;
}

/** `<base>/api/replica/segments/<camera>/<name>` (the base may carry a path, e.g. behind a reverse proxy). */
export function segmentUrl(baseUrl: string, cameraId: string, fileName: string): URL {
  const u = new URL(baseUrl);
  u.pathname = `${u.pathname.replace(/\/+$/, '')}${RECEIVE_PATH}/${encodeURIComponent(cameraId)}/${encodeURIComponent(fileName)}`;
  u.search = '';
  u.hash = '';
  return u;
}
