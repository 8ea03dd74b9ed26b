/**
 * What a sending installation (an http replica target) and a receiving one
 * (its board) agree on:
 *
 *   HEAD <board>/api/replica/segments/<camera>/<file>  → 200 with the stored file's sha256 and size | 404 with the receiver's size limit
 *   PUT  <board>/api/replica/segments/<camera>/<file>  → 201 stored | 200 { already: true }
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
} as const;

/** `<base>/api/replica/segments/<camera>/<name>` (the base may carry a path, e.g. behind a reverse proxy). */
export function segmentUrl(baseUrl: string, cameraId: string, fileName: string): URL {
  const u = new URL(baseUrl);
  u.pathname = `${u.pathname.replace(/\/+$/, '')}${RECEIVE_PATH}/${encodeURIComponent(cameraId)}/${encodeURIComponent(fileName)}`;
  u.search = '';
  u.hash = '';
  return u;
}
