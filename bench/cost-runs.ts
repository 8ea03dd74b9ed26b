// Cost per camera, repeated: `--runs=N` rounds over the camera counts (each
// round measures every count once, bare ffmpeg then the whole system, so slow
// drifts of the machine spread over all counts). Median and max per count;
// the raw per-run numbers stay in the results.
import type { SimCamera } from '@tapo/sim-camera';
import { measureCost, type CostResult } from './cost.js';
import { ratioText, row, type Row } from './table.js';

export interface CostCount {
  cameras: number;
  runs: CostResult[];
}

export interface CostRunsResult {
  windowSeconds: number;
  runs: number;
  counts: CostCount[];
  rows: Row[];
}

export async function measureCostRuns(counts: number[], runs: number, camera: SimCamera, windowSeconds: number, redisUrl: string): Promise<CostRunsResult> {
  const byCount: CostCount[] = counts.map((cameras) => ({ cameras, runs: [] }));
  for (let r = 0; r < runs; r++) {
    for (const c of byCount) {
      process.stderr.write(`cost run ${r + 1}/${runs}: ${c.cameras} camera(s), ${windowSeconds} s bare ffmpeg then ${windowSeconds} s whole system...\n`);
      const res = await measureCost(c.cameras, camera, windowSeconds, redisUrl);
      process.stderr.write(`  bare ${res.bareCpuPerCameraMinute.toFixed(3)}, system ${res.systemCpuPerCameraMinute.toFixed(3)} CPU s/camera-min (×${res.ratio.toFixed(2)}), worker RSS ${res.workerRssPeakMb.toFixed(0)} MB\n`);
      c.runs.push(res);
    }
  }
  return { windowSeconds, runs, counts: byCount, rows: costRows(byCount, windowSeconds) };
}

export function costRows(counts: CostCount[], windowSeconds: number): Row[] {
  const rows: Row[] = [];
  for (const c of counts) {
    const n = c.cameras;
    const cam = `${n} camera${n > 1 ? 's' : ''}`;
    const v = <K extends keyof CostResult>(k: K) => c.runs.map((r) => r[k] as number);
    const bare = row(`bare ffmpeg CPU s / camera-min (${cam})`, v('bareCpuPerCameraMinute'), {
      digits: 3,
      how: `${n} ffmpeg processes with our arguments, /proc CPU over ${windowSeconds} s`,
    });
    const sys = row(`whole system CPU s / camera-min (${cam})`, v('systemCpuPerCameraMinute'), {
      digits: 3,
      how: `ffmpeg + worker + scheduler + Redis over ${windowSeconds} s (dist bundles under node); sim camera apart`,
    });
    sys.baseline = `bare ${bare.median?.toFixed(3) ?? '—'} / ${ratioText(sys.median, bare.median, 2)}`;
    const ratio = row(`system ÷ bare ffmpeg CPU (${cam})`, v('ratio'), {
      ...(n >= 32 ? { target: '≤ 1.10 (at 32 cameras)', limit: { max: 1.1 } } : {}),
      baseline: 'bare ffmpeg = 1',
      how: 'ratio per run (same run\'s bare and system windows)',
    });
    const limit = 80 + 2 * n;
    rows.push(
      bare,
      sys,
      ratio,
      row(`worker RSS peak (${cam})`, v('workerRssPeakMb'), { target: `≤ ${limit} MB (80 + 2/camera)`, limit: { max: limit }, unit: 'MB', digits: 0, how: '/proc VmRSS sampled every second during the window (steady state: it starts 12 s after every camera records)' }),
      row(`worker RSS high-water mark, startup included (${cam})`, v('workerRssHighWaterMb'), { unit: 'MB', digits: 0, how: '/proc VmHWM at the end of the window: the first ~10 s hold the startup garbage until V8\'s memory reducer runs' }),
      row(`scheduler RSS peak (${cam})`, v('schedulerRssPeakMb'), { unit: 'MB', digits: 0, how: '/proc VmRSS sampled every second during the window' }),
      row(`Redis commands/s per camera (${cam})`, v('redisCommandsPerSecondPerCamera'), { digits: 1, how: 'INFO stats total_commands_processed over the window (shared Redis: other clients count too)' }),
      row(`Redis memory growth per camera in the window (${cam})`, c.runs.map((r) => r.redisUsedMemoryDeltaBytes / n), {
        unit: 'B',
        digits: 0,
        how: `INFO memory used_memory after − before the ${windowSeconds} s system window, ÷ cameras (steady state; shared Redis: noisy)`,
      }),
    );
  }
  return rows;
}
