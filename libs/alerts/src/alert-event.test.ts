import { describe, expect, it } from 'vitest';
import type { AlertEvent } from '@tapo/queues';
import { formatAlert, isRecoveryEvent } from './alert-event.js';
import { formatBytes, formatDuration, formatUtcTime } from './format-units.js';

const at = '2026-11-20T10:42:35.000Z';

describe('units', () => {
  it('durations', () => {
    expect(formatDuration(0)).toBe('0 s');
    expect(formatDuration(30)).toBe('30 s');
    expect(formatDuration(60)).toBe('1 min');
    expect(formatDuration(134)).toBe('2 min 14 s');
    expect(formatDuration(3900)).toBe('1 h 5 min');
    expect(formatDuration(97_200)).toBe('1 d 3 h');
    expect(formatDuration(-5)).toBe('0 s');
  });

  it('bytes and times', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(12.4 * 1024 ** 3)).toBe('12.4 GiB');
    expect(formatUtcTime('2026-11-20T10:42:05.123Z', at)).toBe('10:42:05 UTC');
    expect(formatUtcTime('2026-11-19T23:59:59.000Z', at)).toBe('2026-11-19 23:59:59 UTC');
    expect(formatUtcTime('not a time', at)).toBe('not a time');
  });
});

describe('formatAlert', () => {
  it('camera offline and back', () => {
    const off: AlertEvent = {
      type: 'camera-offline',
      cameraId: 'cam1',
      at,
      details: { lastVideoAt: '2026-11-20T10:42:05.000Z', offlineForSeconds: 30 },
    };
    expect(formatAlert(off)).toEqual({
      title: 'Camera "cam1" is offline',
      message: 'no video since 10:42:05 UTC (30 s)',
      priority: 'high',
      tags: ['warning', 'camera-offline'],
    });
    const neverSeen: AlertEvent = { type: 'camera-offline', cameraId: 'cam1', at, details: { offlineForSeconds: 45, reason: 'no recording job is reporting' } };
    expect(formatAlert(neverSeen).message).toBe('no video for 45 s: no recording job is reporting');

    const back = formatAlert({ type: 'camera-back', cameraId: 'cam1', at, details: { outageSeconds: 134 } }, { installName: 'home' });
    expect(back.title).toBe('[home] Camera "cam1" is back');
    expect(back.message).toBe('offline for 2 min 14 s');
    expect(back.priority).toBe('default');
  });

  it('the other event types', () => {
    const auth = formatAlert({ type: 'auth-failing', cameraId: 'door', at, details: { message: '401 Unauthorized' } });
    expect(auth.title).toBe('Camera "door" rejects the user name or password');
    expect(auth.message).toContain('401 Unauthorized');
    const disk = formatAlert({ type: 'disk-nearly-full', at, details: { usedPercent: 96.34, freeBytes: 3 * 1024 ** 3 } });
    expect(disk).toMatchObject({ title: 'Recordings disk nearly full (96.3%)', message: '96.3% used, 3.0 GiB free', priority: 'high' });
    const prune = formatAlert({ type: 'emergency-prune', at, details: { usedPercent: 99, freeBytes: 1024, deletedSegments: 12 } });
    expect(prune.priority).toBe('urgent');
    expect(prune.message).toBe('deleted 12 oldest segment(s) to make room; 99% used, 1.0 KiB free');
    const rep = formatAlert({ type: 'replica-unreachable', replicaId: 'nas', at, details: { downForSeconds: 300, lastError: 'ECONNREFUSED' } });
    expect(rep.title).toBe('Replica "nas" is unreachable');
    expect(rep.message).toBe('failing for 5 min: ECONNREFUSED');
    expect(formatAlert({ type: 'replica-back', replicaId: 'nas', at, details: { downForSeconds: 720 } }).message).toBe('unreachable for 12 min');
    const seg = formatAlert({ type: 'segment-unrecoverable', cameraId: 'cam1', at, details: { file: 'cam1/2026/a.mp4', reason: 'no moov' } });
    expect(seg.message).toBe('cam1/2026/a.mp4: no moov');
  });

  it('never lets credentials through', () => {
    const secretUrl = 'rtsp://admin:hunter2@192.168.1.20:554/stream1';
    const events: AlertEvent[] = [
      { type: 'camera-offline', cameraId: 'cam1', at, details: { offlineForSeconds: 30, reason: `Connection to ${secretUrl} failed: timeout` } },
      { type: 'auth-failing', cameraId: 'cam1', at, details: { message: `${secretUrl}: 401 Unauthorized` } },
      { type: 'replica-unreachable', replicaId: 'nas', at, details: { downForSeconds: 60, lastError: 'POST https://u:tok3n@office/api failed' } },
      { type: 'segment-unrecoverable', cameraId: 'cam1', at, details: { file: 'x.mp4', reason: `ffmpeg -i ${secretUrl}` } },
    ];
    for (const e of events) {
      const text = JSON.stringify(formatAlert(e, { installName: 'home' }));
      expect(text).not.toContain('hunter2');
      expect(text).not.toContain('admin:');
      expect(text).not.toContain('tok3n');
    }
    expect(formatAlert(events[0]!).message).toContain('rtsp://***@192.168.1.20:554/stream1');
  });

  // Subjects (alertSubject) are part of the notify contract: libs/queues/src/notify-contract.test.ts.
  it('recovery events', () => {
    expect(isRecoveryEvent('camera-back')).toBe(true);
    expect(isRecoveryEvent('replica-back')).toBe(true);
    expect(isRecoveryEvent('camera-offline')).toBe(false);
  });
});
