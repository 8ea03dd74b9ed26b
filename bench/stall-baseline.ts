import { prng } from '../libs/mp4/src/testing/hostile.js';
// Baseline for "camera frozen → ffmpeg killed", computed (no processes): the
// original bash monitor polled every 300 s and, on seeing ffmpeg's CPU at 0,
// made 10 more checks 4-13 s apart (uniform) before restarting it. The freeze
// happens at a uniform point of the poll period, so
//   detection = U(0, 300) + Σ₁₀ U(4, 13)   (worst case 300 + 10 × 13 = 430 s).
// Monte Carlo with a seeded generator: the same numbers on every run.

export interface StallBaseline {
  model: string;
  draws: number;
  seed: number;
  medianSeconds: number;
  maxSeconds: number;
  meanSeconds: number;
  p95Seconds: number;
  minSeconds: number;
  /** Analytical: 300 + 10 × 13. */
  worstCaseSeconds: number;
  /** Analytical mean: 150 + 10 × 8.5. */
  analyticalMeanSeconds: number;
}

/** mulberry32: small, fast, good enough for a Monte Carlo of sums of uniforms (the one in libs/mp4's test helpers). */
const mulberry32 = prng;

export const POLL_SECONDS = 300;
export const CHECKS = 10;
export const CHECK_GAP = [4, 13] as const;

export function stallBaseline(draws = 100_000, seed = 20261127): StallBaseline {
  const rnd = mulberry32(seed);
  const xs = new Float64Array(draws);
  let sum = 0;
  for (let i = 0; i < draws; i++) {
    let t = rnd() * POLL_SECONDS;
    for (let k = 0; k < CHECKS; k++) t += CHECK_GAP[0] + rnd() * (CHECK_GAP[1] - CHECK_GAP[0]);
    xs[i] = t;
    sum += t;
  }
  xs.sort();
  const q = (p: number) => xs[Math.min(draws - 1, Math.floor(p * draws))]!;
  const mid = draws % 2 ? xs[(draws - 1) / 2]! : (xs[draws / 2 - 1]! + xs[draws / 2]!) / 2;
  return {
    model: `U(0,${POLL_SECONDS}) + sum of ${CHECKS} x U(${CHECK_GAP[0]},${CHECK_GAP[1]}) s`,
    draws,
    seed,
    medianSeconds: mid,
    maxSeconds: xs[draws - 1]!,
    meanSeconds: sum / draws,
    p95Seconds: q(0.95),
    minSeconds: xs[0]!,
    worstCaseSeconds: POLL_SECONDS + CHECKS * CHECK_GAP[1],
    analyticalMeanSeconds: POLL_SECONDS / 2 + (CHECKS * (CHECK_GAP[0] + CHECK_GAP[1])) / 2,
  };
}
