import { describe, expect, it } from 'vitest';
import { LiveFragmentHub } from './hub.js';

describe('LiveFragmentHub', () => {
  it('keeps one stream per camera, fed by the recorder reports, reading nothing without subscribers', async () => {
    const hub = new LiveFragmentHub({ watch: false });
    hub.segmentEvents.closed('nobody', { path: '/tmp/x.mp4' });
    hub.segmentEvents.interrupted('nobody', { path: '/tmp/x.mp4' });
    expect(hub.cameras()).toEqual([]);
    hub.segmentEvents.opened('cam1', { path: '/rec/cam1/a.mp4' });
    hub.segmentEvents.opened('cam1', { path: '/rec/cam1/b.mp4' });
    hub.segmentEvents.opened('cam2', { path: '/rec/cam2/a.mp4' });
    expect(hub.cameras()).toEqual(['cam1', 'cam2']);
    expect(hub.stream('cam1')).toBe(hub.stream('cam1'));
    const [s1] = hub.stats();
    expect(s1).toMatchObject({ cameraId: 'cam1', segment: '/rec/cam1/b.mp4', subscribers: 0, following: false, polling: false, reading: undefined });
    hub.segmentEvents.interrupted('cam1', { path: '/rec/cam1/b.mp4' });
    await hub.close();
    expect(hub.cameras()).toEqual([]);
    hub.segmentEvents.opened('cam1', { path: '/rec/cam1/c.mp4' });
    expect(hub.cameras()).toEqual([]);
  });
});
