import { describe, expect, it } from 'vitest';
import type { AlertEvent } from '@tapo/queues';
import { decideCameraHealth, type CameraHealthMemory, type CameraProgress } from './camera-health.js';

const T0 = Date.UTC(2026, 10, 20, 10, 0, 0);
const iso = (ms: number) => new Date(ms).toISOString();
const s = (sec: number) => T0 + sec * 1000;

/** A recorder whose video advances right now. */
const recording = (now: number): CameraProgress => ({ state: 'recording', lastProgressAt: iso(now), updatedAt: iso(now) });
/** A live recorder (fresh heartbeat) whose video stopped at `lastVideo`. */
const frozen = (lastVideo: number, now: number, extra: Partial<CameraProgress> = {}): CameraProgress => ({
  state: 'reconnecting',
  lastProgressAt: iso(lastVideo),
  updatedAt: iso(now),
  ...extra,
});

/** Feeds checks to decideCameraHealth like the monitor does, collecting the events. */
function camera(previous: Partial<CameraHealthMemory> = {}) {
  let mem: CameraHealthMemory = { state: 'unknown', watchingSinceMs: T0, ...previous };
  const events: AlertEvent[] = [];
  return {
    events,
    get state() {
      return mem.state;
    },
    check(now: number, progress: CameraProgress | undefined, enabled = true) {
      const d = decideCameraHealth({ cameraId: 'cam1', enabled, progress, nowMs: now, offlineAfterSeconds: 30, previous: mem });
      mem = d.next;
      if (d.event) events.push(d.event);
      return d;
    },
    /** Checks every 2 s in [from, to), the progress computed per check. */
    run(from: number, to: number, progress: (now: number) => CameraProgress | undefined) {
      for (let now = from; now < to; now += 2000) this.check(now, progress(now));
    },
  };
}

describe('decideCameraHealth', () => {
  it('a camera seen recording becomes online silently', () => {
    const cam = camera();
    cam.run(s(0), s(60), recording);
    expect(cam.state).toBe('online');
    expect(cam.events).toEqual([]);
  });

  it('freeze → exactly one offline; thaw → one back with the outage length', () => {
    const cam = camera();
    cam.run(s(0), s(10), recording);
    cam.run(s(10), s(144), (now) => frozen(s(10), now, { lastError: 'Connection timed out' }));
    expect(cam.state).toBe('offline');
    expect(cam.events).toHaveLength(1);
    expect(cam.events[0]).toEqual({
      type: 'camera-offline',
      cameraId: 'cam1',
      at: iso(s(40)),
      details: { lastVideoAt: iso(s(10)), offlineForSeconds: 30, reason: 'Connection timed out' },
    });
    cam.run(s(144), s(300), recording);
    expect(cam.state).toBe('online');
    expect(cam.events).toHaveLength(2);
    expect(cam.events[1]).toEqual({ type: 'camera-back', cameraId: 'cam1', at: iso(s(144)), details: { outageSeconds: 134 } });
  });

  it('gaps shorter than offlineAfterSeconds (flapping within the window) say nothing', () => {
    const cam = camera();
    let lastVideo = s(0);
    for (let now = s(0); now < s(600); now += 2000) {
      // video advances for 4 s, then nothing for 24 s, over and over
      if ((now - T0) % 28_000 < 4000) lastVideo = now;
      cam.check(now, frozen(lastVideo, now));
    }
    expect(cam.state).toBe('online');
    expect(cam.events).toEqual([]);
  });

  it('a dead worker (heartbeat stopped) is offline, whatever it last said', () => {
    const cam = camera();
    cam.run(s(0), s(10), recording);
    // The last heartbeat (at 8 s) said recording, with an old auth failure on record.
    const last: CameraProgress = { ...recording(s(8)), lastFailure: 'auth', state: 'auth-failed' };
    cam.run(s(10), s(100), () => last);
    expect(cam.events).toHaveLength(1);
    expect(cam.events[0]).toMatchObject({ type: 'camera-offline', details: { lastVideoAt: iso(s(8)), offlineForSeconds: 30 } });
    expect((cam.events[0]!.details as { reason: string }).reason).toBe('the worker stopped reporting (last heartbeat 10:00:08 UTC)');
  });

  it('a job that has never made progress goes offline offlineAfterSeconds after watching started', () => {
    const cam = camera();
    cam.run(s(0), s(29), (now) => ({ state: 'starting', updatedAt: iso(now) }));
    expect(cam.events).toEqual([]);
    expect(cam.state).toBe('unknown');
    cam.run(s(30), s(90), (now) => ({ state: 'reconnecting', updatedAt: iso(now), lastError: 'Connection refused' }));
    expect(cam.events).toHaveLength(1);
    expect(cam.events[0]).toMatchObject({ type: 'camera-offline', at: iso(s(30)), details: { offlineForSeconds: 30, reason: 'Connection refused' } });
    expect(cam.events[0]!.details).not.toHaveProperty('lastVideoAt');
  });

  it('no record job at all: offline after the grace period, then back', () => {
    const cam = camera();
    cam.run(s(0), s(50), () => undefined);
    expect(cam.events.map((e) => e.type)).toEqual(['camera-offline']);
    expect(cam.events[0]!.details).toMatchObject({ reason: 'no recording job is reporting' });
    cam.check(s(50), recording(s(50)));
    expect(cam.events[1]).toMatchObject({ type: 'camera-back', details: { outageSeconds: 50 } });
  });

  it('auth failing: the auth message instead of a generic offline, then back', () => {
    const cam = camera();
    cam.run(s(0), s(10), recording);
    const auth = (now: number) => frozen(s(8), now, { state: 'auth-failed', lastFailure: 'auth', lastError: 'rtsp://admin:pw@cam/s: 401 Unauthorized', lastErrorAt: iso(s(12)) });
    cam.run(s(10), s(120), auth);
    expect(cam.state).toBe('auth-failing');
    expect(cam.events).toEqual([
      { type: 'auth-failing', cameraId: 'cam1', at: iso(s(38)), details: { message: 'rtsp://admin:pw@cam/s: 401 Unauthorized', lastVideoAt: iso(s(8)) } },
    ]);
    cam.run(s(120), s(130), recording);
    expect(cam.events.map((e) => e.type)).toEqual(['auth-failing', 'camera-back']);
    expect(cam.events[1]!.details).toEqual({ outageSeconds: 112 });
  });

  it('offline, then auth failing: one more message (the cause); back to plain offline: silent', () => {
    const cam = camera();
    cam.run(s(0), s(10), recording);
    cam.run(s(10), s(60), (now) => frozen(s(8), now, { lastFailure: 'timeout', lastError: 'timeout' }));
    cam.run(s(60), s(80), (now) => frozen(s(8), now, { state: 'auth-failed', lastFailure: 'auth', lastError: '401' }));
    cam.run(s(80), s(100), (now) => frozen(s(8), now, { lastFailure: 'timeout', lastError: 'timeout' }));
    expect(cam.state).toBe('offline');
    cam.check(s(100), recording(s(100)));
    expect(cam.events.map((e) => e.type)).toEqual(['camera-offline', 'auth-failing', 'camera-back']);
    expect(cam.events[2]!.details).toEqual({ outageSeconds: 92 });
  });

  it('an auth failure from before the last video is history: a later stall is a plain offline', () => {
    const cam = camera();
    cam.run(s(0), s(10), (now) => ({ ...recording(now), lastFailure: 'auth', lastError: '401', lastErrorAt: iso(s(-100)) }));
    cam.run(s(10), s(60), (now) => frozen(s(8), now, { state: 'recording', lastFailure: 'auth', lastError: '401', lastErrorAt: iso(s(-100)) }));
    expect(cam.events).toHaveLength(1);
    expect(cam.events[0]).toMatchObject({ type: 'camera-offline', details: { reason: 'the video stopped advancing (recorder recording)' } });
  });

  it('after a restart mid-outage: no second offline, and back counts the whole outage', () => {
    // What the monitor reads back from Redis after a restart at 300 s.
    const cam = camera({ state: 'offline', noVideoSinceMs: s(8), lastVideoMs: s(8), watchingSinceMs: s(300) });
    cam.run(s(300), s(400), (now) => frozen(s(8), now));
    expect(cam.events).toEqual([]);
    cam.check(s(400), recording(s(400)));
    expect(cam.events).toEqual([{ type: 'camera-back', cameraId: 'cam1', at: iso(s(400)), details: { outageSeconds: 392 } }]);
  });

  it('a restarted monitor gives an online camera the grace period again', () => {
    const cam = camera({ state: 'online', watchingSinceMs: s(300) });
    cam.run(s(300), s(329), () => undefined);
    expect(cam.events).toEqual([]);
    cam.check(s(330), undefined);
    expect(cam.events.map((e) => e.type)).toEqual(['camera-offline']);
  });

  it('a disabled camera is not watched', () => {
    const cam = camera({ state: 'offline', noVideoSinceMs: s(0) });
    const d = cam.check(s(100), undefined, false);
    expect(d.next.state).toBe('unknown');
    expect(d.event).toBeUndefined();
  });
});
