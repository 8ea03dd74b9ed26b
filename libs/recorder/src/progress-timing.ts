/** Seconds between ffmpeg's -progress blocks in a recording run, in ms. */
export const STATS_PERIOD_MS = 1000;

export interface ProgressBlockTiming {
  /** When the block reporting new frames arrived (ms). */
  now: number;
  /** When the run's previous block arrived (ms); undefined for the run's first block. */
  prevBlockAt: number | undefined;
  /** The block is ffmpeg's last one (progress=end). */
  final: boolean;
  /** The watchdog has already given up on this run. */
  stalled: boolean;
  statsPeriodMs: number;
}

/**
 * When the video that a -progress block reports as new actually arrived, or
 * undefined when it says nothing about live video. Pure.
 *
 * ffmpeg writes a block every stats period only while packets arrive. When the
 * camera goes silent, the frames received since the last block are reported
 * only when ffmpeg gives up (its socket timeout, or our kill), in one or two
 * blocks written at exit, seconds after that video arrived. Counting them as
 * "video now" made a frozen camera look alive again at the moment its ffmpeg
 * died (a false "camera back" after the "offline" alert). So:
 * - the final block, or any block after the watchdog gave up, is not live;
 * - a block after a silence longer than 2.5 stats periods counts as of one
 *   period after the previous block (the frames came at some point in the
 *   silence); a camera that really came back produces the next block one
 *   period later, which counts as now;
 * - otherwise: now.
 */
export function videoArrivedAt(i: ProgressBlockTiming): number | undefined {
  if (i.final || i.stalled) return undefined;
  if (i.prevBlockAt !== undefined && i.now - i.prevBlockAt > 2.5 * i.statsPeriodMs) return i.prevBlockAt + i.statsPeriodMs;
  return i.now;
}
