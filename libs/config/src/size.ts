const UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
};

/** Parses "50GB", "500 MiB", "1.5TB" or a number of bytes. */
export function parseBytes(value: string | number): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw new Error(`invalid size ${value}`);
    return Math.floor(value);
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]i?b|b)?\s*$/i.exec(value);
  if (!m) throw new Error(`invalid size "${value}" (use e.g. 500MB, 50GB, 2TB)`);
  return Math.floor(Number(m[1]) * (UNITS[(m[2] ?? 'b').toLowerCase()] ?? 1));
}

/** A free-disk floor: "5%" of the filesystem, or an absolute size. */
export type FreeDiskFloor = { percent: number } | { bytes: number };

export function parseFreeDiskFloor(value: string | number): FreeDiskFloor {
  if (typeof value === 'string') {
    const m = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(value);
    if (m) {
      const percent = Number(m[1]);
      if (percent >= 100) throw new Error(`minFreeDisk ${value} must be below 100%`);
      return { percent };
    }
  }
  return { bytes: parseBytes(value) };
}

/** The floor in bytes for a filesystem of `totalBytes`. */
export function freeDiskFloorBytes(floor: FreeDiskFloor, totalBytes: number): number {
  return 'percent' in floor ? Math.ceil((totalBytes * floor.percent) / 100) : floor.bytes;
}
