import { describe, expect, it } from 'vitest';
import { segmentUrl } from '@tapo/replica-protocol';
import { isNetworkDownError, isRetryableStatus } from '../errors.js';
import { displayUrl } from './http.js';

describe('http target', () => {
  it('never shows URL credentials', () => {
    expect(displayUrl(segmentUrl('https://user:pa55@office:3000', 'cam1', 'a.mp4'))).toBe('https://***@office:3000/api/replica/segments/cam1/a.mp4');
  });

  it('tells "down" from "refused"', () => {
    for (const s of [500, 502, 503, 504, 408, 429]) expect(isRetryableStatus(s)).toBe(true);
    for (const s of [400, 401, 403, 404, 409, 411, 413, 422]) expect(isRetryableStatus(s)).toBe(false);
    for (const code of ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ERR_TLS_CERT_ALTNAME_INVALID', 'DEPTH_ZERO_SELF_SIGNED_CERT']) {
      expect(isNetworkDownError(Object.assign(new Error('x'), { code })), code).toBe(true);
    }
    expect(isNetworkDownError(Object.assign(new Error('x'), { name: 'TimeoutError' }))).toBe(true);
    expect(isNetworkDownError(Object.assign(new Error('x'), { code: 'EACCES' }))).toBe(false);
  });
});
