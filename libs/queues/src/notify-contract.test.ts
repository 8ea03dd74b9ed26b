import { describe, expect, it } from 'vitest';
import { alertSubject, notifyJobId, type AlertEvent } from './index.js';

const event: AlertEvent = {
  type: 'camera-offline',
  cameraId: 'cam1',
  at: '2026-11-20T10:42:35.000Z',
  details: { lastVideoAt: '2026-11-20T10:42:05.000Z', offlineForSeconds: 30, reason: 'rtsp://admin:hunter2@cam/s: timeout' },
};

describe('notify contract', () => {
  it('subjects', () => {
    expect(alertSubject({ cameraId: 'cam1' })).toBe('camera:cam1');
    expect(alertSubject({ replicaId: 'nas' })).toBe('replica:nas');
    expect(alertSubject({})).toBe('install');
  });

  it('job ids are valid BullMQ ids, the same for the same event', () => {
    const id = notifyJobId('phone', event);
    expect(id).toBe(`notify-phone-camera_cam1-camera-offline-${Date.parse(event.at)}`);
    expect(id).not.toContain(':');
    expect(notifyJobId('phone', { ...event })).toBe(id);
  });
});
