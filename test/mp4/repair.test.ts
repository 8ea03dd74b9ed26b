// Verify and repair of real ffmpeg output: plain, faststart, fragmented, killed with -9, and copies
// cut at several offsets. Each repaired file must probe, decode without a single error line, and hold
// (nearly) every video frame that was completely written before the cut, with the same keyframes.
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyMp4, faststart, rebuildMoov, trimPartialFragment, type Mp4Kind, type RepairResult } from '@tapo/mp4';

const dir = mkdtempSync(path.join(os.tmpdir(), 'mp4-repair-'));
const f = (name: string) => path.join(dir, name);

const INPUTS = ['-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=15', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=8000'];
const CODECS = ['-c:v', 'libx264', '-g', '30', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '32k'];

interface Packet {
  pos: number;
  size: number;
  key: boolean;
}

async function ffmpeg(args: string[]): Promise<void> {
  await execa('ffmpeg', ['-hide_banner', '-nostdin', '-v', 'error', '-y', ...args]);
}

async function packetsOf(file: string, stream: 'v' | 'a'): Promise<Packet[]> {
  const r = await execa('ffprobe', ['-v', 'error', '-select_streams', stream, '-show_entries', 'packet=pos,size,flags', '-of', 'json', file]);
  const j = JSON.parse(r.stdout) as { packets?: Array<{ pos?: string; size: string; flags: string }> };
  return (j.packets ?? []).map((p) => ({ pos: Number(p.pos ?? -1), size: Number(p.size), key: p.flags.includes('K') }));
}
const videoPackets = (file: string) => packetsOf(file, 'v');

/** ffprobe accepts the file and a full decode prints nothing at level error. */
async function verifyDecodes(file: string): Promise<{ probe: boolean; decodeErrors: string }> {
  const probe = await execa('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', file], { reject: false });
  const dec = await execa('ffmpeg', ['-hide_banner', '-nostdin', '-v', 'error', '-i', file, '-f', 'null', '-'], { reject: false });
  return { probe: probe.exitCode === 0, decodeErrors: `${dec.exitCode === 0 ? '' : `exit ${dec.exitCode} `}${dec.stderr.trim()}` };
}

/** Kills an ffmpeg writing a plain MP4 once it has written some media (≥ 5 s and ≥ 200 KiB): mdat without moov. */
async function writeKilled(out: string): Promise<void> {
  const child = execa('ffmpeg', ['-hide_banner', '-nostdin', '-v', 'error', '-y', '-re', ...INPUTS, ...CODECS, '-t', '60', out], { reject: false });
  const started = Date.now();
  for (;;) {
    await new Promise((r) => setTimeout(r, 250));
    let size = 0;
    try {
      size = statSync(out).size;
    } catch {
      /* not created yet */
    }
    const elapsed = Date.now() - started;
    if ((elapsed >= 5000 && size >= 200 * 1024) || elapsed > 30_000) break;
  }
  child.kill('SIGKILL');
  await child;
}

interface Row {
  name: string;
  kind: Mp4Kind;
  action: string;
  expectedFrames: number;
  outputFrames: number;
  keyframesMatch: boolean;
  audio: string;
  ms: number;
  bytes: string;
}
const rows: Row[] = [];

const original: Record<'plain' | 'fragmented', Packet[]> = { plain: [], fragmented: [] };
const originalAudio: Record<'plain' | 'fragmented', Packet[]> = { plain: [], fragmented: [] };

beforeAll(async () => {
  await ffmpeg([...INPUTS, ...CODECS, '-t', '12', f('plain.mp4')]);
  await ffmpeg([...INPUTS, ...CODECS, '-t', '12', '-movflags', '+faststart', f('faststart.mp4')]);
  await ffmpeg([...INPUTS, ...CODECS, '-t', '12', '-movflags', '+frag_keyframe+empty_moov+default_base_moof', '-frag_duration', '500000', f('fragmented.mp4')]);
  await writeKilled(f('killed.mp4'));
  writeFileSync(f('empty.mp4'), Buffer.alloc(0));
  writeFileSync(f('random.bin'), randomBytes(200_000));
  original.plain = await videoPackets(f('plain.mp4'));
  original.fragmented = await videoPackets(f('fragmented.mp4'));
  originalAudio.plain = await packetsOf(f('plain.mp4'), 'a');
  originalAudio.fragmented = await packetsOf(f('fragmented.mp4'), 'a');
}, 180_000);

afterAll(() => {
  const pad = (s: string | number, n: number) => String(s).padEnd(n);
  console.log(`[measure] ${pad('file', 26)} ${pad('kind', 19)} ${pad('action', 22)} ${pad('video', 9)} ${pad('keys', 5)} ${pad('audio', 16)} ${pad('bytes in→out', 20)} ms`);
  for (const r of rows) {
    console.log(`[measure] ${pad(r.name, 26)} ${pad(r.kind, 19)} ${pad(r.action, 22)} ${pad(`${r.outputFrames}/${r.expectedFrames}`, 9)} ${pad(r.keyframesMatch ? 'ok' : 'DIFF', 5)} ${pad(r.audio, 16)} ${pad(r.bytes, 20)} ${r.ms}`);
  }
  rmSync(dir, { recursive: true, force: true });
});

/** Frames of the original whose bytes all lie before `cut`. */
const framesBefore = (packets: Packet[], cut: number) => packets.filter((p) => p.pos >= 0 && p.pos + p.size <= cut).length;

/** Repairs with the function the kind calls for and checks the result against the original's frames. */
async function repairAndCheck(name: string, input: string, expectKind: Mp4Kind, origin: 'plain' | 'fragmented', cut?: number): Promise<void> {
  const source = original[origin];
  const sourceAudio = originalAudio[origin];
  const expectedFrames = cut === undefined ? source.length : framesBefore(source, cut);
  const expectedAudio = cut === undefined ? sourceAudio.length : framesBefore(sourceAudio, cut);
  const c = await classifyMp4(input);
  expect(c.kind, c.reason).toBe(expectKind);
  const out = f(`${name}.repaired.mp4`);
  const t0 = Date.now();
  let result: RepairResult | undefined;
  let target = input;
  if (c.kind === 'fragmented-partial') result = await trimPartialFragment(input, out);
  else if (c.kind === 'moov-at-end') result = await faststart(input, out);
  else if (c.kind === 'no-moov') result = await rebuildMoov(input, out, { reference: f('faststart.mp4') });
  const ms = Date.now() - t0;
  if (result) target = out;

  const after = await classifyMp4(target);
  expect(['clean', 'fragmented-clean']).toContain(after.kind);
  const check = await verifyDecodes(target);
  expect(check.probe).toBe(true);
  expect(check.decodeErrors).toBe('');
  const packets = await videoPackets(target);
  const keyframesMatch = packets.every((p, i) => source[i] !== undefined && p.key === source[i]!.key && p.size === source[i]!.size);
  expect(packets.length).toBeGreaterThanOrEqual(Math.floor(expectedFrames * 0.99));
  expect(packets.length).toBeLessThanOrEqual(expectedFrames);
  expect(keyframesMatch).toBe(true);
  if (result) expect(result.videoSamples).toBe(packets.length);
  // Audio may be dropped by design (noted), but whatever is kept must be the original frames, in order.
  const audio = await packetsOf(target, 'a');
  expect(audio.length).toBeLessThanOrEqual(expectedAudio);
  expect(audio.every((p, i) => sourceAudio[i] !== undefined && p.size === sourceAudio[i]!.size)).toBe(true);
  rows.push({
    name,
    kind: c.kind,
    action: result?.action ?? 'none',
    expectedFrames,
    outputFrames: packets.length,
    keyframesMatch,
    audio: audio.length === 0 && expectedAudio > 0 ? `dropped/${expectedAudio}` : `${audio.length}/${expectedAudio}`,
    ms,
    bytes: `${c.fileBytes}→${statSync(target).size}`,
  });
}

describe('mp4 verify and repair on an ffmpeg corpus', () => {
  it('plain MP4 (moov at end) → faststart, identical to ffmpeg -movflags +faststart', async () => {
    await repairAndCheck('plain', f('plain.mp4'), 'moov-at-end', 'plain');
    expect(readFileSync(f('plain.repaired.mp4')).equals(readFileSync(f('faststart.mp4')))).toBe(true);
  });

  it('faststart MP4 is clean', async () => {
    await repairAndCheck('faststart', f('faststart.mp4'), 'clean', 'plain');
  });

  it('fragmented MP4 is fragmented-clean', async () => {
    await repairAndCheck('fragmented', f('fragmented.mp4'), 'fragmented-clean', 'fragmented');
    expect((await classifyMp4(f('fragmented.mp4'))).fragments).toEqual({ complete: expect.any(Number), partial: false });
  });

  it('plain MP4 killed with -9 while writing → rebuildMoov', async () => {
    const killed = f('killed.mp4');
    const size = statSync(killed).size;
    // ffmpeg is deterministic: the killed file is a byte prefix of the finished one after the mdat size
    // field, so the finished file tells which frames were completely written before the kill.
    const a = readFileSync(f('plain.mp4')).subarray(44, size);
    const prefix = readFileSync(killed).subarray(44).equals(a);
    expect(prefix).toBe(true);
    await repairAndCheck('killed -9', killed, 'no-moov', 'plain', size);
  });

  const random = 0.1 + Math.random() * 0.85;
  for (const frac of [0.3, 0.55, 0.8, random]) {
    const label = frac === random ? `random ${(frac * 100).toFixed(1)}%` : `${Math.round(frac * 100)}%`;
    it(`plain MP4 cut at ${label} → rebuildMoov`, async () => {
      const name = `plain-cut-${(frac * 100).toFixed(1)}`;
      copyFileSync(f('plain.mp4'), f(`${name}.mp4`));
      const cut = Math.floor(statSync(f('plain.mp4')).size * frac);
      truncateSync(f(`${name}.mp4`), cut);
      await repairAndCheck(name, f(`${name}.mp4`), 'no-moov', 'plain', cut);
    });

    it(`fragmented MP4 cut at ${label} → trimPartialFragment`, async () => {
      const name = `frag-cut-${(frac * 100).toFixed(1)}`;
      copyFileSync(f('fragmented.mp4'), f(`${name}.mp4`));
      const cut = Math.floor(statSync(f('fragmented.mp4')).size * frac);
      truncateSync(f(`${name}.mp4`), cut);
      await repairAndCheck(name, f(`${name}.mp4`), 'fragmented-partial', 'fragmented', cut);
    });
  }

  it('plain MP4 cut inside its moov → rebuildMoov keeps every frame', async () => {
    const size = statSync(f('plain.mp4')).size;
    copyFileSync(f('plain.mp4'), f('plain-cut-moov.mp4'));
    truncateSync(f('plain-cut-moov.mp4'), size - 1000);
    await repairAndCheck('plain-cut-in-moov', f('plain-cut-moov.mp4'), 'no-moov', 'plain');
  });

  it('empty file and random bytes are classified, not repaired', async () => {
    expect((await classifyMp4(f('empty.mp4'))).kind).toBe('empty');
    const g = await classifyMp4(f('random.bin'));
    expect(g.kind).toBe('garbage');
    rows.push({ name: 'empty', kind: 'empty', action: 'none', expectedFrames: 0, outputFrames: 0, keyframesMatch: true, audio: '-', ms: 0, bytes: '0' });
    rows.push({ name: 'random bytes', kind: g.kind, action: 'none', expectedFrames: 0, outputFrames: 0, keyframesMatch: true, audio: '-', ms: 0, bytes: String(g.fileBytes) });
  });
});
