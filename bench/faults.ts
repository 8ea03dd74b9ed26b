// Fault timings: runs the fault tests (each file as written in test/, against
// the real Redis, the simulated camera, our apps as processes), collects their
// `[measure]` lines and parses them into numbers. Rows also carry the computed
// baseline of the original bash monitor for the freeze detection.
import { execa } from 'execa';
import path from 'node:path';
import { track } from './children.js';
import type { StallBaseline } from './stall-baseline.js';
import { ratioText, row, type Row } from './table.js';

const ROOT = path.resolve(import.meta.dirname, '..');
export const FAULT_TEST_FILES = ['test/faults-camera.test.ts', 'test/faults-workers.test.ts', 'test/faults-redis.test.ts', 'test/kill-ffmpeg.test.ts'];

export interface ParsedFaults {
  freezeDetectionSeconds?: number;
  freezeSinceLastFrameSeconds?: number;
  resumeAfterSigcontSeconds?: number;
  cameraRestartSeconds?: number;
  wrongPasswordStarts?: number;
  wrongPasswordWindowSeconds?: number;
  sigkillFailoverSeconds?: number[];
  /** Per moved camera: last frame the dead worker wrote → first frame on the survivor (from the files). */
  sigkillFileGapSeconds?: number[];
  sigkillOrphansGoneSeconds?: number[];
  sigkillMaxFfmpegsPerCamera?: number;
  sigtermExitSeconds?: number;
  sigtermHandoverSeconds?: number;
  /** Per camera: last frame before → first frame after (from the files). */
  sigtermFileGapSeconds?: number[];
  sigtermMaxFfmpegsPerCamera?: number;
  redisOutageSeconds?: number;
  redisHeartbeatsBackSeconds?: number;
  redisMaxGapSeconds?: number;
  redisMaxFfmpegsPerCamera?: number;
  kill9IntoSegmentSeconds?: number;
  kill9PlayableSeconds?: number;
  kill9LostSeconds?: number;
  kill9RestartSeconds?: number;
}

export interface FaultRun {
  exitCode: number | undefined;
  seconds: number;
  lines: string[];
  parsed: ParsedFaults;
  /** The last lines of the output when the tests failed. */
  failureTail?: string;
}

export interface FaultsResult {
  runs: FaultRun[];
  rows: Row[];
}

const num = (s: string | undefined) => (s === undefined ? undefined : Number(s));
const list = (s: string | undefined) => (s ?? '').split(',').map((x) => Number(x.trim())).filter((x) => Number.isFinite(x));

/** Numbers out of the `[measure]` lines (prefix already stripped). */
export function parseFaultLines(lines: string[]): ParsedFaults {
  const p: ParsedFaults = {};
  for (const l of lines) {
    let m: RegExpExecArray | null;
    if ((m = /^freeze: ffmpeg gone ([\d.]+) s after SIGSTOP \((-?[\d.]+) s after the last frame arrived\); recording again ([\d.]+) s after SIGCONT/.exec(l))) {
      p.freezeDetectionSeconds = num(m[1]);
      p.freezeSinceLastFrameSeconds = num(m[2]);
      p.resumeAfterSigcontSeconds = num(m[3]);
    } else if ((m = /^camera restart: recording again ([\d.]+) s after/.exec(l))) {
      p.cameraRestartSeconds = num(m[1]);
    } else if ((m = /^wrong password: (\d+) more ffmpeg start\(s\) in (\d+) s/.exec(l))) {
      p.wrongPasswordStarts = num(m[1]);
      p.wrongPasswordWindowSeconds = num(m[2]);
    } else if ((m = /^worker SIGKILL: failover \(all cameras recording on a survivor\) ([\d., ]*) s; dead worker's ffmpegs gone after ([\d., ]*) s; max ffmpegs per camera seen (\d+)/.exec(l))) {
      p.sigkillFailoverSeconds = list(m[1]);
      p.sigkillOrphansGoneSeconds = list(m[2]);
      p.sigkillMaxFfmpegsPerCamera = num(m[3]);
      const g = /gap in the files per moved camera ([-\d., ]*) s/.exec(l);
      if (g) p.sigkillFileGapSeconds = list(g[1]);
    } else if ((m = /^worker SIGTERM: exited after ([\d.]+) s \(code [^)]*\); all cameras recording on the other worker ([\d.]+) s after the signal; max ffmpegs per camera (\d+)/.exec(l))) {
      p.sigtermExitSeconds = num(m[1]);
      p.sigtermHandoverSeconds = num(m[2]);
      p.sigtermMaxFfmpegsPerCamera = num(m[3]);
      const g = /gap in the files per camera ([-\d., ]*) s/.exec(l);
      if (g) p.sigtermFileGapSeconds = list(g[1]);
    } else if ((m = /^Redis down (\d+) s: heartbeats back ([\d.]+) s after Redis; largest gap between segments across the outage (-?[\d.]+) s;.*max ffmpegs per camera (\d+)/.exec(l))) {
      p.redisOutageSeconds = num(m[1]);
      p.redisHeartbeatsBackSeconds = num(m[2]);
      p.redisMaxGapSeconds = num(m[3]);
      p.redisMaxFfmpegsPerCamera = num(m[4]);
    } else if ((m = /^kill -9 ([\d.]+) s into a segment: (\d+) frames \(([\d.]+) s\) playable, (-?[\d.]+) s lost/.exec(l))) {
      p.kill9IntoSegmentSeconds = num(m[1]);
      p.kill9PlayableSeconds = num(m[3]);
      p.kill9LostSeconds = num(m[4]);
    } else if ((m = /^ffmpeg restarted and recording again ([\d.]+) s after kill -9/.exec(l))) {
      p.kill9RestartSeconds = num(m[1]);
    }
  }
  return p;
}

async function runOnce(): Promise<FaultRun> {
  const t0 = Date.now();
  const sub = execa('npx', ['vitest', 'run', ...FAULT_TEST_FILES], { cwd: ROOT, reject: false, all: true, env: { FORCE_COLOR: '0' }, detached: true });
  track(sub, { group: true }); // npx → sh → vitest → its forks: the whole group goes on interruption
  const r = await sub;
  const all = r.all ?? '';
  const lines = all.split('\n').filter((l) => l.includes('[measure]')).map((l) => l.replace(/^.*\[measure\]\s*/, '').trim());
  return {
    exitCode: r.exitCode,
    seconds: (Date.now() - t0) / 1000,
    lines,
    parsed: parseFaultLines(lines),
    ...(r.exitCode !== 0 ? { failureTail: all.split('\n').slice(-60).join('\n') } : {}),
  };
}

export async function runFaults(runs: number): Promise<FaultsResult> {
  const out: FaultRun[] = [];
  for (let i = 0; i < runs; i++) {
    process.stderr.write(`faults: run ${i + 1}/${runs} (${FAULT_TEST_FILES.length} test files, a few minutes)...\n`);
    const r = await runOnce();
    process.stderr.write(`faults: run ${i + 1} ${r.exitCode === 0 ? 'passed' : `FAILED (exit ${r.exitCode})`} in ${r.seconds.toFixed(0)} s, ${r.lines.length} measure lines\n`);
    out.push(r);
  }
  return { runs: out, rows: [] };
}

/**
 * Rows of the fault timings. Without `faults` (quick mode) the freeze row is
 * still there, with its computed baseline and no measured value.
 */
export function faultRows(faults: FaultsResult | undefined, stall: StallBaseline): Row[] {
  const runs = faults?.runs ?? [];
  const failed = runs.filter((r) => r.exitCode !== 0).length;
  const note = faults ? 'no measure line: see the test output in the JSON' : 'fault tests not run (full mode or --faults)';
  const pick = <K extends keyof ParsedFaults>(k: K) => runs.map((r) => r.parsed[k]);
  const flat = (k: 'sigkillFailoverSeconds' | 'sigkillOrphansGoneSeconds' | 'sigkillFileGapSeconds' | 'sigtermFileGapSeconds') => runs.flatMap((r) => r.parsed[k] ?? []);
  /** Values per run (runs × this = values). */
  const perRun = (values: number[]) => Math.round(values.length / Math.max(1, runs.length));
  const runsText = (n: number, unitNote = '') => `${n}${failed ? ` (${failed} failed run${failed > 1 ? 's' : ''})` : ''}${unitNote}`;
  const mk = (measure: string, values: Array<number | undefined>, o: Parameters<typeof row>[2]) => {
    const v = values.filter((x): x is number => x !== undefined);
    return row(measure, v, { unit: 's', digits: 1, runs: runsText(v.length), ...(v.length ? {} : { note }), ...o });
  };
  const freeze = pick('freezeDetectionSeconds').filter((x): x is number => x !== undefined);
  const freezeRow = mk('camera frozen (SIGSTOP) → ffmpeg killed', freeze, {
    target: '≤ 10 s',
    limit: { max: 10 },
    how: `test/faults-camera.test.ts (freeze); baseline: bash monitor model ${stall.model}, ${stall.draws} seeded draws`,
  });
  freezeRow.baseline = `${stall.medianSeconds.toFixed(0)} s median, ${stall.maxSeconds.toFixed(0)} s max (worst case ${stall.worstCaseSeconds} s) / ${ratioText(stall.medianSeconds, freezeRow.median, 0)}`;
  const sigkillFailovers = flat('sigkillFailoverSeconds');
  const sigkillGaps = flat('sigkillFileGapSeconds');
  const sigtermGaps = flat('sigtermFileGapSeconds');
  const orphans = flat('sigkillOrphansGoneSeconds');
  return [
    freezeRow,
    mk('camera back (SIGCONT) → recording', pick('resumeAfterSigcontSeconds'), { target: '≤ 5 s', limit: { max: 5 }, how: 'test/faults-camera.test.ts (freeze)' }),
    mk('camera server restarted → recording', pick('cameraRestartSeconds'), { how: 'test/faults-camera.test.ts' }),
    mk('wrong password: ffmpeg starts per 30 s', pick('wrongPasswordStarts'), { target: '≤ 1', limit: { max: 1 }, unit: '', digits: 0, how: 'test/faults-camera.test.ts' }),
    {
      ...mk('worker SIGKILL → gap in the files per moved camera', sigkillGaps, {
        target: '≤ 15 s',
        limit: { max: 15 },
        how: 'test/faults-workers.test.ts (3 kills per run): last write of the dead worker\'s segment → first frame on the survivor (its progress time − output time)',
      }),
      runs: runsText(runs.length, ` × ${perRun(sigkillGaps)} cameras moved`),
    },
    {
      ...mk('worker SIGKILL → survivor reports every camera recording', sigkillFailovers, { how: 'test/faults-workers.test.ts (3 kills per run): heartbeat state "recording" with progress after the kill (includes ffmpeg probing the stream, ~2 s)' }),
      runs: runsText(runs.length, ` × ${perRun(sigkillFailovers)} kills`),
    },
    {
      ...mk('worker SIGKILL → its ffmpegs gone', orphans, { target: '≤ 2 s', limit: { max: 2 }, digits: 2, how: 'test/faults-workers.test.ts' }),
      runs: runsText(runs.length, ` × ${perRun(orphans)} kills`),
    },
    mk('worker SIGTERM → exited', pick('sigtermExitSeconds'), { target: '≤ 10 s', limit: { max: 10 }, how: 'test/faults-workers.test.ts' }),
    {
      ...mk('worker SIGTERM → gap in the files per camera', sigtermGaps, {
        target: '≤ 5 s',
        limit: { max: 5 },
        how: 'test/faults-workers.test.ts: last frame of the finalised segment (mtime) → first frame on the other worker (its progress time − output time)',
      }),
      runs: runsText(runs.length, ` × ${perRun(sigtermGaps)} cameras`),
    },
    mk('worker SIGTERM → other worker reports every camera recording', pick('sigtermHandoverSeconds'), { how: 'test/faults-workers.test.ts: heartbeat state "recording" after the signal (includes ffmpeg probing the stream)' }),
    mk('kill -9 of ffmpeg ~5 s into a segment: video lost', pick('kill9LostSeconds'), { target: '≤ 1 s', limit: { max: 1 }, digits: 2, how: 'test/kill-ffmpeg.test.ts (whole system, fragmented MP4)' }),
    mk('kill -9 of ffmpeg → recording again', pick('kill9RestartSeconds'), { how: 'test/kill-ffmpeg.test.ts' }),
    mk(`Redis down ${runs.find((r) => r.parsed.redisOutageSeconds)?.parsed.redisOutageSeconds ?? 60} s: largest gap between segments`, pick('redisMaxGapSeconds'), {
      target: 'no gap (< 1 s)',
      limit: { max: 1 },
      digits: 2,
      how: 'test/faults-redis.test.ts (mtime/duration of consecutive segments)',
    }),
    mk('Redis back → heartbeats again', pick('redisHeartbeatsBackSeconds'), { how: 'test/faults-redis.test.ts' }),
    mk('max ffmpegs per camera during worker/Redis faults', [...pick('sigkillMaxFfmpegsPerCamera'), ...pick('sigtermMaxFfmpegsPerCamera'), ...pick('redisMaxFfmpegsPerCamera')], {
      target: '1',
      limit: { max: 1 },
      unit: '',
      digits: 0,
      runs: runsText(runs.length, ' × 3 tests'),
      how: 'process list watched every 50 ms in the worker SIGKILL, worker SIGTERM and Redis fault tests',
    }),
  ];
}
