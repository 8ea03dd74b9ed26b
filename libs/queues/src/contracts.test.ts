import { describe, expect, it } from 'vitest';
import { cameraIdFromJobId, recordJobId, settingsFingerprint } from './index.js';

describe('job contracts', () => {
  it('uses a fixed, colon-free, non-numeric job id per camera', () => {
    expect(recordJobId('living-room')).toBe('record-living-room');
    expect(recordJobId('123')).toBe('record-123');
    expect(recordJobId('x')).not.toContain(':');
    expect(cameraIdFromJobId('record-living-room')).toBe('living-room');
    expect(cameraIdFromJobId('other')).toBeUndefined();
  });
  it('fingerprints settings (changes when they change)', () => {
    const a = settingsFingerprint({ segmentSeconds: 60, audio: 'aac', redactedUrl: 'rtsp://***@h/s1' });
    expect(a).toMatch(/^[0-9a-f]{16}$/);
    expect(settingsFingerprint({ segmentSeconds: 60, audio: 'aac', redactedUrl: 'rtsp://***@h/s1' })).toBe(a);
    expect(settingsFingerprint({ segmentSeconds: 10, audio: 'aac', redactedUrl: 'rtsp://***@h/s1' })).not.toBe(a);
  });
});
