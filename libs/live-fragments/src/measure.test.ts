// Measurements (printed, loosely bounded): delivery latency after a fragment is written, and the
// CPU the stream costs with no subscriber and with one subscriber on a real 2 Mbit/s ffmpeg
// segment muxer run with the production flags.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { LiveFragmentEvent } from './events.js';
import { LiveFragmentStream } from './live-fragment-stream.js';
import { FragmentSplitter } from './splitter.js';
import { SimWriter, recorder, run, sleep } from './testing/files.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'live-fragments-measure-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function makeSource(name: string, args: string[]): Promise<string> {
  const out = path.join(dir, name);
  const r = await run('ffmpeg', ['-v', 'error', '-y', ...args, out]);
  expect(r.code, r.stderr).toBe(0);
  return out;
}

describe('measure', () => {
  it('latency from append to delivery', async () => {
    // prettier-ignore
    const srcFile = await makeSource('lat.mp4', ['-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=15', '-f', 'lavfi', '-i', 'sine', '-t', '6', '-c:v', 'libx264', '-preset', 'veryfast', '-b:v', '2M', '-g', '15', '-c:a', 'aac', '-movflags', '+frag_keyframe+empty_moov+default_base_moof', '-frag_duration', '500000']);
    const src = readFileSync(srcFile);
    const items = new FragmentSplitter().push(src);
    const init = items.find((i) => i.kind === 'init')!;
    const frags = items.flatMap((i) => (i.kind === 'fragment' ? [i] : []));
    const lines: string[] = [];
    for (const watch of [true, false]) {
      const stream = new LiveFragmentStream({ cameraId: 'lat', watch });
      const c = recorder();
      stream.subscribe(c.consumer);
      const file = path.join(dir, `lat-${watch}.mp4`);
      stream.segmentOpened(file);
      const w = await SimWriter.create(file);
      await w.append(init.bytes);
      const writtenAt = new Map<number, number>();
      for (const f of frags) {
        // ffmpeg's AVIOContext writes a fragment in 32 KB pieces
        for (let p = 0; p < f.bytes.length; p += 32768) {
          const t = await w.append(f.bytes.subarray(p, Math.min(f.bytes.length, p + 32768)));
          writtenAt.set(f.offset, t);
        }
        await sleep(100);
      }
      await w.close();
      stream.segmentClosed(file);
      await c.until((g) => g.some((x) => x.e.type === 'segment-end'));
      await stream.close();
      const lat = c.got.filter((x) => x.e.type === 'fragment').map((x) => x.at - writtenAt.get((x.e as LiveFragmentEvent).offset)!);
      expect(lat).toHaveLength(frags.length);
      expect(Math.max(...lat)).toBeLessThan(1000);
      lines.push(`[measure] live fragment delivered ${median(lat)} ms after it was written (median/max ${median(lat)}/${Math.max(...lat)} ms, ${lat.length} fragments, ${watch ? 'fs.watch + 150 ms poll' : 'poll only, 150 ms'})`);
    }
    console.log(lines.join('\n'));
  }, 60_000);

  it('CPU with no subscriber and with one subscriber on a 2 Mbit/s ffmpeg segment muxer', async () => {
    // prettier-ignore
    const srcFile = await makeSource('hd.mp4', ['-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=15', '-f', 'lavfi', '-i', 'sine', '-t', '14', '-c:v', 'libx264', '-preset', 'veryfast', '-b:v', '2M', '-maxrate', '2M', '-bufsize', '1M', '-g', '30', '-c:a', 'aac', '-b:a', '32k']);
    // its own process, so that only the stream (and node's idle) is counted
    const probe = path.join(path.dirname(fileURLToPath(import.meta.url)), 'testing', 'cpu-probe.ts');
    const r = await run(process.execPath, ['--import', 'tsx', probe, srcFile, dir, '3000', '8000'], 60_000);
    expect(r.code, r.stderr).toBe(0);
    const m = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
      ffmpegExit: number; segments: number; idlePct: number; idleFollowing: boolean; idleWatching: boolean; idlePolling: boolean;
      busyPct: number; busySeconds: number; kbitPerSecond: number; fragments: number; gaps: number; errors: string[]; codecs: string[]; joined: number;
    };
    console.log(
      `[measure] CPU of a process running one LiveFragmentStream (process.cpuUsage over the window; ffmpeg is another process): ` +
        `no subscriber ${m.idlePct.toFixed(2)}% of one core (no fd, watcher or timer); ` +
        `one subscriber ${m.busyPct.toFixed(2)}% of one core following ${m.kbitPerSecond.toFixed(0)} kbit/s ` +
        `(${m.fragments} fragments in ${m.busySeconds.toFixed(1)} s, ${m.segments} segments of 4 s)`,
    );
    expect(m).toMatchObject({ ffmpegExit: 0, idleFollowing: false, idleWatching: false, idlePolling: false, gaps: 0, errors: [] });
    expect(m.codecs).toEqual([expect.stringMatching(/^avc1\.64/), 'mp4a.40.2']);
    expect(m.kbitPerSecond).toBeGreaterThan(1000);
    expect(m.busyPct).toBeLessThan(25);
    // every segment the subscriber got from its init decodes (what MSE will be fed)
    expect(m.joined).toBeGreaterThanOrEqual(2);
    for (let i = 0; i < m.joined; i++) {
      const file = path.join(dir, `probe-joined-${i}.mp4`);
      const d = await run('ffmpeg', ['-v', 'error', '-i', file, '-f', 'null', '-']);
      expect(`${d.code} ${d.stderr.trim()}`).toBe('0 ');
    }
  }, 90_000);
});
