// Issue #2: audio modes against a camera that sends G.711 A-law (PCMA) and,
// like some Tapo firmware, no sprop-parameter-sets in its SDP (SPS/PPS only
// in-band): aac → .mp4 with AAC; copy → .mov keeping pcm_alaw; off → video only.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listSegmentFiles } from '@tapo/storage';
import { waitFor } from './helpers/env.js';
import { ffprobe } from './helpers/ffprobe.js';
import { TestStack } from './helpers/stack.js';

describe('audio modes, camera without sprop-parameter-sets', () => {
  const stack = new TestStack('audio');

  beforeAll(async () => {
    await stack.startCamera({ nullSprop: true });
    stack.writeConfig([
      { id: 'cam-aac', audio: 'aac', segmentSeconds: 4 },
      { id: 'cam-copy', audio: 'copy', segmentSeconds: 4 },
      { id: 'cam-off', audio: 'off', segmentSeconds: 4 },
    ]);
    await stack.start('scheduler');
    await stack.start('worker');
    await waitFor('two closed segments per camera', async () => {
      for (const id of ['cam-aac', 'cam-copy', 'cam-off']) {
        if ((await listSegmentFiles(stack.recordingsDir, id)).length < 3) return false;
      }
      return true;
    }, 60_000, 500);
  }, 90_000);

  afterAll(async () => {
    await stack.stopApps().catch(() => {});
    await stack.cleanup();
  });

  async function closedProbes(id: string) {
    const files = (await listSegmentFiles(stack.recordingsDir, id)).slice(0, -1); // the last one is still being written
    return Promise.all(files.map(async (f) => ({ f, probe: await ffprobe(f.path) })));
  }

  it('aac: MP4 with h264 + aac', async () => {
    for (const { f, probe } of await closedProbes('cam-aac')) {
      expect(f.ext).toBe('mp4');
      expect(probe.streams.map((s) => s.codec_name).sort()).toEqual(['aac', 'h264']);
      expect(probe.streams.find((s) => s.codec_type === 'video')).toMatchObject({ width: 1280, height: 720 });
    }
  });

  it('copy: QuickTime .mov keeping the camera G.711 A-law audio', async () => {
    for (const { f, probe } of await closedProbes('cam-copy')) {
      expect(f.ext).toBe('mov');
      expect(probe.formatName).toContain('mov');
      expect(probe.streams.map((s) => s.codec_name).sort()).toEqual(['h264', 'pcm_alaw']);
    }
  });

  it('off: video only', async () => {
    for (const { f, probe } of await closedProbes('cam-off')) {
      expect(f.ext).toBe('mp4');
      expect(probe.streams.map((s) => s.codec_name)).toEqual(['h264']);
    }
  });
});
