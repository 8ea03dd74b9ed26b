/** Human-readable units for alert messages. */

/** 14 → "14 s", 134 → "2 min 14 s", 3900 → "1 h 5 min", 97200 → "1 d 3 h". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(Number.isFinite(seconds) ? seconds : 0));
  const pair = (a: number, ua: string, b: number, ub: string) => (b > 0 ? `${a} ${ua} ${b} ${ub}` : `${a} ${ua}`);
  if (s < 60) return `${s} s`;
  if (s < 3600) return pair(Math.floor(s / 60), 'min', s % 60, 's');
  if (s < 86_400) return pair(Math.floor(s / 3600), 'h', Math.floor((s % 3600) / 60), 'min');
  return pair(Math.floor(s / 86_400), 'd', Math.floor((s % 86_400) / 3600), 'h');
}

/** 1536 → "1.5 KiB". */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = Math.max(0, bytes);
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${Math.round(v)} B` : `${v.toFixed(1)} ${units[i]}`;
}

/**
 * "10:42:05 UTC", or "2026-11-20 10:42:05 UTC" when `iso` is not on the same
 * UTC day as `relativeTo`. Invalid input is returned as is.
 */
export function formatUtcTime(iso: string, relativeTo?: string): string {
  const t = new Date(iso);
  if (Number.isNaN(t.getTime())) return iso;
  const full = t.toISOString();
  const ref = relativeTo === undefined ? NaN : Date.parse(relativeTo);
  const sameDay = !Number.isNaN(ref) && full.slice(0, 10) === new Date(ref).toISOString().slice(0, 10);
  return `${sameDay ? '' : `${full.slice(0, 10)} `}${full.slice(11, 19)} UTC`;
}
