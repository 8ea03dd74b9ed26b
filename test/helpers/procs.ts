import { readdirSync, readFileSync } from 'node:fs';

export interface ProcInfo {
  pid: number;
  ppid: number;
  args: string[];
}

/** Every process on the machine (from /proc). */
export function listProcesses(): ProcInfo[] {
  const out: ProcInfo[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const args = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').filter(Boolean);
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const after = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (after[0] === 'Z') continue; // zombie: already dead
      out.push({ pid: Number(d), ppid: Number(after[1]), args });
    } catch {
      /* exited meanwhile */
    }
  }
  return out;
}

/** ffmpeg processes writing under recordingsDir, grouped by camera id. */
export function ffmpegsByCamera(recordingsDir: string): Map<string, ProcInfo[]> {
  const map = new Map<string, ProcInfo[]>();
  for (const p of listProcesses()) {
    if (!p.args[0]?.endsWith('ffmpeg')) continue;
    const out = p.args.at(-1) ?? '';
    if (!out.startsWith(recordingsDir + '/')) continue;
    const cam = out.slice(recordingsDir.length + 1).split('/')[0]!;
    map.set(cam, [...(map.get(cam) ?? []), p]);
  }
  return map;
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/**
 * Samples the process list every `everyMs` and records the largest number of
 * ffmpegs seen at once for any camera (must stay at 1).
 */
export function watchFfmpegCount(recordingsDir: string, everyMs = 100) {
  let max = 0;
  const worst: string[] = [];
  const t = setInterval(() => {
    for (const [cam, procs] of ffmpegsByCamera(recordingsDir)) {
      if (procs.length > max) max = procs.length;
      if (procs.length > 1) worst.push(`${new Date().toISOString()} ${cam}: ${procs.map((p) => p.pid).join(',')}`);
    }
  }, everyMs);
  return {
    stop() {
      clearInterval(t);
      return { max, worst };
    },
  };
}
