import { execFile } from 'node:child_process';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simCameraAvailable, startSimCamera, type SimCamera } from '@tapo/sim-camera';

interface Probe {
  code: number | null;
  stdout: string;
  stderr: string;
}

function ffprobe(url: string): Promise<Probe> {
  return new Promise((resolve) => {
    execFile(
      'ffprobe',
      ['-v', 'error', '-rtsp_transport', 'tcp', '-timeout', '10000000', '-show_streams', '-of', 'json', url],
      { timeout: 20_000 },
      (err, stdout, stderr) => resolve({ code: err ? ((err.code as number | undefined) ?? null) : 0, stdout, stderr }),
    );
  });
}

/** Raw unauthenticated DESCRIBE; resolves with the whole response text. */
function describeRaw(cam: SimCamera): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect(cam.port, cam.host);
    let text = '';
    sock.setEncoding('utf8');
    sock.setTimeout(10_000, () => sock.destroy(new Error('DESCRIBE timed out')));
    sock.on('error', reject);
    sock.on('connect', () =>
      sock.write(`DESCRIBE ${cam.url('stream1', false)} RTSP/1.0\r\nCSeq: 1\r\nAccept: application/sdp\r\n\r\n`),
    );
    sock.on('data', (d: string) => {
      text += d;
      const [head = '', body = ''] = text.split('\r\n\r\n');
      const len = Number(/Content-Length: (\d+)/i.exec(head)?.[1] ?? 0);
      if (text.includes('\r\n\r\n') && body.length >= len) {
        sock.end();
        resolve(text);
      }
    });
  });
}

interface Stream {
  codec_type: string;
  codec_name: string;
  width?: number;
  height?: number;
  sample_rate?: string;
  channels?: number;
}

const available = await simCameraAvailable();
if (!available.ok) console.warn(`sim-camera tests skipped: ${available.reason}`);

describe.skipIf(!available.ok)('sim-camera', { timeout: 30_000 }, () => {
  let cam: SimCamera;

  beforeAll(async () => {
    cam = await startSimCamera({ user: 'admin', password: 's3cret/:@' });
  }, 30_000);

  afterAll(async () => {
    await cam?.stop();
  }, 10_000);

  it('serves H.264 1280x720 + PCMA 8 kHz on /stream1 behind digest auth', async () => {
    const r = await ffprobe(cam.url('stream1'));
    expect(r.code, r.stderr).toBe(0);
    const streams = (JSON.parse(r.stdout) as { streams: Stream[] }).streams;
    const video = streams.filter((s) => s.codec_type === 'video');
    const audio = streams.filter((s) => s.codec_type === 'audio');
    expect(video).toHaveLength(1);
    expect(video[0]).toMatchObject({ codec_name: 'h264', width: 1280, height: 720 });
    expect(audio).toHaveLength(1);
    expect(audio[0]).toMatchObject({ codec_name: 'pcm_alaw', sample_rate: '8000', channels: 1 });
  });

  it('serves 640x360 on /stream2', async () => {
    const r = await ffprobe(cam.url('stream2'));
    expect(r.code, r.stderr).toBe(0);
    const video = (JSON.parse(r.stdout) as { streams: Stream[] }).streams.find((s) => s.codec_type === 'video');
    expect(video).toMatchObject({ codec_name: 'h264', width: 640, height: 360 });
  });

  it('answers 401 to a wrong password and to no credentials', async () => {
    const wrong = await ffprobe(cam.url('stream1', false).replace('rtsp://', 'rtsp://admin:nope@'));
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toContain('401');
    const none = await ffprobe(cam.url('stream1', false));
    expect(none.code).not.toBe(0);
    expect(none.stderr).toContain('401');
  });

  it('keeps serving after freeze() / resume()', async () => {
    cam.freeze();
    await new Promise((r) => setTimeout(r, 3000));
    cam.resume();
    const r = await ffprobe(cam.url('stream1'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('"h264"');
  });

  it('stop() terminates the process and is idempotent', async () => {
    await Promise.all([cam.stop(), cam.stop()]);
    await expect(cam.exited).resolves.toBe(0);
    expect(() => process.kill(cam.pid, 0)).toThrow();
    await cam.stop();
  });
});

describe.skipIf(!available.ok)('sim-camera --null-sprop', { timeout: 30_000 }, () => {
  it('omits sprop-parameter-sets from the SDP but keeps SPS/PPS in-band', async () => {
    const cam = await startSimCamera({ nullSprop: true, audio: false });
    try {
      const sdp = await describeRaw(cam);
      expect(sdp).toMatch(/^RTSP\/1.0 200 OK/);
      expect(sdp).toContain('a=rtpmap:96 H264/90000');
      expect(sdp).not.toContain('sprop-parameter-sets');
      expect(sdp).not.toContain('PCMA');
      const r = await ffprobe(cam.url());
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('"width": 1280');
    } finally {
      await cam.stop();
    }
  });
});

describe.skipIf(!available.ok)('sim-camera credentials', { timeout: 30_000 }, () => {
  it('a password starting with "-" (1 random base64url password in 64) is a password, not an option', async () => {
    const cam = await startSimCamera({ user: 'demo', password: '-Zx9_k-Q' });
    try {
      const r = await ffprobe(cam.url('stream1'));
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('"h264"');
    } finally {
      await cam.stop();
    }
  });
});
