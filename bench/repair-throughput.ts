// Repair throughput (full mode): libs/mp4/bench/rebuild-bench.ts as a
// subprocess, N times (it runs once per call): it encodes 60 s of 40 Mb/s
// H.264 + AAC, builds a ~1 GB plain MP4 without moov cut mid-sample, rebuilds
// the moov and prints MB/s, peak RSS and what it recovered.
import { readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { track } from './children.js';
import { row, type Row } from './table.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const SCRIPT = 'libs/mp4/bench/rebuild-bench.ts';

export interface RebuildRun {
  exitCode: number | undefined;
  seconds: number;
  inputMb?: number;
  rebuildSeconds?: number;
  walkSeconds?: number;
  mbPerSecond?: number;
  walkMbPerSecond?: number;
  rssBeforeMb?: number;
  rssPeakMb?: number;
  videoSamples?: number;
  audioSamples?: number;
  keyframes?: number;
  ffprobeVideoPackets?: number;
  output: string;
}

export interface RepairThroughputResult {
  targetMiB: number;
  runs: RebuildRun[];
  rows: Row[];
}

export function parseRebuildOutput(out: string): Omit<RebuildRun, 'exitCode' | 'seconds' | 'output'> {
  const n = (re: RegExp, i = 1) => {
    const m = re.exec(out);
    return m ? Number(m[i]) : undefined;
  };
  const r: Omit<RebuildRun, 'exitCode' | 'seconds' | 'output'> = {};
  const set = <K extends keyof typeof r>(k: K, v: (typeof r)[K] | undefined) => {
    if (v !== undefined && Number.isFinite(v)) r[k] = v;
  };
  set('inputMb', n(/^input: ([\d.]+) MB/m));
  set('rebuildSeconds', n(/^time: ([\d.]+) s = walk/m));
  set('walkSeconds', n(/= walk ([\d.]+) s/m));
  set('walkMbPerSecond', n(/= walk [\d.]+ s \((\d+) MB\/s/m));
  set('mbPerSecond', n(/→ (\d+) MB\/s overall/m));
  set('rssBeforeMb', n(/^RSS: before ([\d.]+) MB/m));
  set('rssPeakMb', n(/peak ([\d.]+) MB/m));
  set('videoSamples', n(/^rebuildMoov: (\d+) video/m));
  set('audioSamples', n(/(\d+) audio samples/m));
  set('keyframes', n(/(\d+) keyframes/m));
  set('ffprobeVideoPackets', n(/^ffprobe: (\d+) video packets/m));
  return r;
}

export async function measureRepairThroughput(runs: number, targetMiB = 1000): Promise<RepairThroughputResult> {
  const out: RebuildRun[] = [];
  for (let i = 0; i < runs; i++) {
    process.stderr.write(`repair throughput run ${i + 1}/${runs}: ${SCRIPT} ${targetMiB} (encodes 60 s of 40 Mb/s video first)...\n`);
    const before = new Set(readdirSync(os.tmpdir()).filter((d) => d.startsWith('mp4-bench-')));
    const t0 = Date.now();
    // Own process group: npx → tsx → node, all stopped together on interruption.
    const sub = execa('npx', ['tsx', SCRIPT, String(targetMiB)], { cwd: ROOT, reject: false, all: true, detached: true });
    track(sub, { group: true });
    const r = await sub;
    const output = r.all ?? '';
    const run: RebuildRun = { exitCode: r.exitCode, seconds: (Date.now() - t0) / 1000, ...parseRebuildOutput(output), output };
    // The script removes its temp dir itself; if it died without doing so, its dir goes here.
    if (r.exitCode !== 0) {
      for (const d of readdirSync(os.tmpdir()).filter((x) => x.startsWith('mp4-bench-') && !before.has(x))) rmSync(path.join(os.tmpdir(), d), { recursive: true, force: true });
    }
    process.stderr.write(`  ${run.mbPerSecond ?? '?'} MB/s, peak RSS ${run.rssPeakMb ?? '?'} MB${r.exitCode ? ` (exit ${r.exitCode})` : ''}\n`);
    out.push(run);
  }
  return { targetMiB, runs: out, rows: repairRows(out, targetMiB) };
}

export function repairRows(runs: RebuildRun[], targetMiB: number): Row[] {
  const failed = runs.filter((r) => r.exitCode !== 0).length;
  const note = failed ? `${failed} run(s) failed: see the JSON` : undefined;
  const size = runs.find((r) => r.inputMb)?.inputMb;
  const how = `npx tsx ${SCRIPT} ${targetMiB}: ${size ? `${(size / 1000).toFixed(2)} GB` : `${targetMiB} MiB`} no-moov MP4 (H.264 720p 40 Mb/s + AAC), input in page cache`;
  const samples = runs.map((r) => r.videoSamples);
  const packets = runs.map((r) => r.ffprobeVideoPackets);
  const recovered = runs.map((r) => (r.videoSamples && r.ffprobeVideoPackets !== undefined ? (100 * r.ffprobeVideoPackets) / r.videoSamples : undefined));
  return [
    row('rebuild moov of a truncated plain MP4: throughput', runs.map((r) => r.mbPerSecond), {
      target: '≥ 200 MB/s',
      limit: { min: 200 },
      unit: 'MB/s',
      digits: 0,
      ...(note ? { note } : {}),
      how: `${how}; min ${Math.min(...runs.map((r) => r.mbPerSecond ?? Infinity))} MB/s; walk alone ${runs.map((r) => r.walkMbPerSecond ?? '?').join(', ')} MB/s`,
    }),
    row('rebuild moov: peak RSS', runs.map((r) => r.rssPeakMb), {
      target: 'not growing with file size',
      unit: 'MB',
      digits: 0,
      how: `process RSS sampled every 20 ms; above the process baseline by ${runs.map((r) => (r.rssPeakMb !== undefined && r.rssBeforeMb !== undefined ? (r.rssPeakMb - r.rssBeforeMb).toFixed(0) : '?')).join(', ')} MB`,
    }),
    row('rebuild moov: rebuilt video samples ffprobe reads back', recovered, {
      unit: '%',
      digits: 1,
      how: `ffprobe video packets ÷ video samples rebuilt (${packets.map((p, i) => `${p ?? '?'}/${samples[i] ?? '?'}`).join(', ')})`,
    }),
  ];
}
