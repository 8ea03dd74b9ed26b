import { describe, expect, it } from 'vitest';
import type { AlertTarget, RecorderConfig } from '@tapo/config';
import type { AlertEvent } from '@tapo/queues';
import { buildNotifyRequest, createNotifyProcessor, describeTargetUrl } from './notify-processor.js';

const event: AlertEvent = {
  type: 'camera-offline',
  cameraId: 'cam1',
  at: '2026-11-20T10:42:35.000Z',
  details: { lastVideoAt: '2026-11-20T10:42:05.000Z', offlineForSeconds: 30, reason: 'rtsp://admin:hunter2@cam/s: timeout' },
};

describe('buildNotifyRequest', () => {
  it('webhook: JSON with the formatted text and the raw fields', () => {
    const target: AlertTarget = { id: 'hook', type: 'webhook', url: 'https://example.org/hook', headers: { Authorization: 'Bearer s3cret' } };
    const req = buildNotifyRequest(target, event, { installName: 'home' });
    expect(req.method).toBe('POST');
    expect(req.url).toBe('https://example.org/hook');
    expect(req.headers.get('content-type')).toBe('application/json');
    expect(req.headers.get('authorization')).toBe('Bearer s3cret');
    const body = JSON.parse(req.body);
    expect(body).toMatchObject({
      type: 'camera-offline',
      title: '[home] Camera "cam1" is offline',
      priority: 'high',
      tags: ['warning', 'camera-offline'],
      cameraId: 'cam1',
      replicaId: null,
      at: event.at,
      install: 'home',
      details: { offlineForSeconds: 30, lastVideoAt: '2026-11-20T10:42:05.000Z' },
    });
    expect(body.message).toMatch(/^no video since 10:42:05 UTC \(30 s\)/);
    expect(req.body).not.toContain('hunter2');
  });

  it('ntfy: text body with Title, Priority and Tags headers', () => {
    const target: AlertTarget = { id: 'phone', type: 'ntfy', url: 'https://ntfy.sh/my-topic', headers: {} };
    const req = buildNotifyRequest(target, { type: 'camera-back', cameraId: 'cam1', at: event.at, details: { outageSeconds: 134 } });
    expect(req.body).toBe('offline for 2 min 14 s');
    expect(req.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(req.headers.get('title')).toBe('Camera "cam1" is back');
    expect(req.headers.get('priority')).toBe('default');
    expect(req.headers.get('tags')).toBe('white_check_mark,camera-back');
  });

  it('ntfy: a non-ASCII title is sent as an RFC 2047 encoded word', () => {
    const target: AlertTarget = { id: 'phone', type: 'ntfy', url: 'https://ntfy.sh/t', headers: {} };
    const req = buildNotifyRequest(target, event, { installName: 'Küche' });
    const title = req.headers.get('title')!;
    expect(title).toMatch(/^=\?UTF-8\?B\?.+\?=$/);
    expect(Buffer.from(title.slice(10, -2), 'base64').toString('utf8')).toBe('[Küche] Camera "cam1" is offline');
  });
});

describe('describeTargetUrl', () => {
  it('keeps scheme and host, masks credentials, paths and queries', () => {
    expect(describeTargetUrl('https://ntfy.sh/secret-topic')).toBe('https://ntfy.sh/...');
    expect(describeTargetUrl('https://u:p@hooks.example.org:8443/x?token=abc')).toBe('https://hooks.example.org:8443/...');
    expect(describeTargetUrl('http://10.0.0.2:8080/')).toBe('http://10.0.0.2:8080');
    expect(describeTargetUrl('nope')).toBe('(invalid URL)');
  });
});

describe('notify processor', () => {
  it('completes with "target removed" when the target left the config', async () => {
    const config = { alerts: { targets: [], offlineAfterSeconds: 30, minIntervalSeconds: 60, diskNearlyFullPercent: 95 } } as unknown as RecorderConfig;
    const process = createNotifyProcessor({ getConfig: () => config });
    await expect(process({ data: { targetId: 'gone', event } })).resolves.toEqual({ targetId: 'gone', outcome: 'target removed' });
  });
});
