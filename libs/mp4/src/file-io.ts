// Positioned, block-sized file I/O: nothing here ever holds a whole file. Large copies between files
// run in the kernel (copy_file_range) when they can: no media byte passes through this process.
import { spawn } from 'node:child_process';
import { open, unlink, type FileHandle } from 'node:fs/promises';

/** Default size of read/write blocks (4 MiB). */
export const BLOCK_SIZE = 4 * 1024 * 1024;

/** Reads up to `len` bytes at `pos` into `into` (from its start); returns the bytes read (< len only at EOF). */
export async function readInto(fh: FileHandle, into: Uint8Array, pos: number, len: number): Promise<number> {
  let done = 0;
  while (done < len) {
    const { bytesRead } = await fh.read(into, done, len - done, pos + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}

/** Reads up to `len` bytes at `pos` into a new buffer (shorter at EOF). For small reads (headers, moov). */
export async function readAt(fh: FileHandle, pos: number, len: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(len);
  const n = await readInto(fh, buf, pos, len);
  return n === len ? buf : buf.subarray(0, n);
}

/**
 * A sliding window over a file for forward scans: `view(pos, len)` returns bytes [pos, pos+len)
 * (fewer at EOF), reloading one large block when the range leaves the window.
 */
export class BlockReader {
  private readonly buf: Buffer;
  private winStart = 0;
  private winLen = 0;
  /** Number of block loads so far (for progress reporting). */
  loads = 0;

  constructor(
    private readonly fh: FileHandle,
    /** Reads never go past this offset (file size or end of the region being scanned). */
    readonly limit: number,
    readonly blockSize = BLOCK_SIZE,
  ) {
    this.buf = Buffer.allocUnsafe(blockSize);
  }

  /** The bytes at [pos, pos+len) if they are already in the window (clipped to `limit`), else undefined. */
  peek(pos: number, len: number): Buffer | undefined {
    const end = Math.min(pos + len, this.limit);
    if (pos >= this.winStart && end <= this.winStart + this.winLen) {
      return this.buf.subarray(pos - this.winStart, end - this.winStart);
    }
    return undefined;
  }

  /** The whole window if it already holds [pos, pos+need) (clipped to `limit`), else undefined. */
  window(pos: number, need: number): { buf: Buffer; start: number } | undefined {
    const end = Math.min(pos + need, this.limit);
    if (pos >= this.winStart && end <= this.winStart + this.winLen) return { buf: this.buf.subarray(0, this.winLen), start: this.winStart };
    return undefined;
  }

  /**
   * Makes sure the window holds [pos, pos+need) (clipped to `limit`) and returns the whole window:
   * byte at absolute offset x is `buf[x - start]`, valid while x < start + buf.length.
   */
  async cover(pos: number, need: number): Promise<{ buf: Buffer; start: number }> {
    const end = Math.min(pos + need, this.limit);
    if (!(pos >= this.winStart && end <= this.winStart + this.winLen)) await this.view(pos, Math.min(need, this.blockSize));
    return { buf: this.buf.subarray(0, this.winLen), start: this.winStart };
  }

  /** The bytes at [pos, pos+len), clipped to `limit`; len must not exceed the block size. */
  async view(pos: number, len: number): Promise<Buffer> {
    const hit = this.peek(pos, len);
    if (hit) return hit;
    if (len > this.blockSize) throw new RangeError(`view of ${len} bytes exceeds the block size`);
    const want = Math.min(this.blockSize, Math.max(0, this.limit - pos));
    this.winStart = pos;
    this.winLen = await readInto(this.fh, this.buf, pos, want);
    this.loads++;
    return this.buf.subarray(0, Math.min(len, this.winLen));
  }
}

/**
 * Appends to a file with large sequential writes: small pieces are gathered into one block,
 * large ranges of another file are copied block by block with the next read overlapping the write.
 */
export class SequentialWriter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** A kernel copy wrote past `position` (it copies to the source's end): cut the file there on close. */
  private truncateOnClose = false;
  /** Bytes written (or queued) so far = the file offset of the next byte. */
  position = 0;

  private constructor(private readonly fh: FileHandle, readonly path: string) {}

  static async create(path: string): Promise<SequentialWriter> {
    return new SequentialWriter(await open(path, 'w'), path);
  }

  async write(data: Uint8Array): Promise<void> {
    this.pending.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    this.pendingBytes += data.byteLength;
    this.position += data.byteLength;
    if (this.pendingBytes >= BLOCK_SIZE) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.pendingBytes === 0) return;
    const data = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    await writeAll(this.fh, data, this.position - data.byteLength);
  }

  /** Copies [srcPos, srcPos+len) of `src` to the current position; throws if the source is short. */
  async copyFrom(src: FileHandle, srcPos: number, len: number, onBytes?: (n: number) => void): Promise<void> {
    await this.flush();
    if (len >= KERNEL_COPY.minBytes && KERNEL_COPY.enabled) {
      const srcBytes = (await src.stat()).size;
      if (srcBytes < srcPos + len) throw new Error(`source ended early: wanted ${len} bytes from offset ${srcPos}, file ends at ${srcBytes}`);
      // Only when the bytes past the range (copied too, then cut or overwritten) are few.
      if (srcBytes - (srcPos + len) <= Math.max(KERNEL_COPY.minBytes, len / 8) && (await kernelCopyToEnd(src, srcPos, this.path, this.position))) {
        this.position += len;
        this.truncateOnClose = true;
        onBytes?.(len);
        return;
      }
    }
    await copyRange(src, srcPos, len, this.fh, this.position, onBytes);
    this.position += len;
  }

  async close(): Promise<void> {
    try {
      await this.flush();
      if (this.truncateOnClose) await this.fh.truncate(this.position);
    } finally {
      await this.fh.close();
    }
  }

  /** Closes and deletes the output (after a failure). */
  async discard(): Promise<void> {
    await this.fh.close().catch(() => undefined);
    await unlink(this.path).catch(() => undefined);
  }
}

async function writeAll(fh: FileHandle, data: Uint8Array, pos: number): Promise<void> {
  let done = 0;
  while (done < data.byteLength) {
    const { bytesWritten } = await fh.write(data, done, data.byteLength - done, pos + done);
    done += bytesWritten;
  }
}

/** Copies a byte range between files with two alternating blocks (read of block n+1 overlaps write of block n). */
export async function copyRange(src: FileHandle, srcPos: number, len: number, dst: FileHandle, dstPos: number, onBytes?: (n: number) => void): Promise<void> {
  if (len <= 0) return;
  const bufs = [Buffer.allocUnsafe(Math.min(BLOCK_SIZE, len)), Buffer.allocUnsafe(Math.min(BLOCK_SIZE, len))] as const;
  let done = 0;
  let which = 0;
  let reading = readBlock(0);
  let writing: Promise<void> = Promise.resolve();
  async function readBlock(at: number): Promise<number> {
    const n = Math.min(BLOCK_SIZE, len - at);
    const got = await readInto(src, bufs[which]!, srcPos + at, n);
    if (got !== n) throw new Error(`source ended early: wanted ${len} bytes from offset ${srcPos}, file ends at ${srcPos + at + got}`);
    return got;
  }
  while (done < len) {
    const n = await reading;
    const buf = bufs[which]!;
    await writing; // the other buffer is free again once its write is done
    const at = done;
    writing = writeAll(dst, buf.subarray(0, n), dstPos + at).then(() => onBytes?.(n));
    done += n;
    which ^= 1;
    if (done < len) reading = readBlock(done);
  }
  await writing;
}

/**
 * Kernel copies (see kernelCopyToEnd): on by default on Linux; `enabled` false forces the copy
 * through this process's buffers (tests of both paths, the benchmark's "before").
 */
export const KERNEL_COPY = { enabled: process.platform === 'linux', minBytes: 32 * 1024 * 1024 };

/** Offsets up to which a new file description is moved by reading (Node has no lseek). */
const MAX_SEEK_BY_READ = 16 * 1024 * 1024;

/**
 * Copies `src` from `srcPos` to its end into the file at `dstPath` from `dstPos` (which must hold at
 * least dstPos bytes), inside the kernel: Node has no copy_file_range with offsets, so coreutils' cat
 * does it (cat ≥ 9 uses copy_file_range between regular files) with its stdin and stdout set to new
 * descriptions of the two files positioned there. On filesystems that share extents (XFS, Btrfs)
 * the kernel may not even copy. false when it could not (no cat, not Linux, offsets too far in, cat
 * failed): the caller copies by itself then, over whatever cat wrote.
 */
export async function kernelCopyToEnd(src: FileHandle, srcPos: number, dstPath: string, dstPos: number): Promise<boolean> {
  if (srcPos > MAX_SEEK_BY_READ || dstPos > MAX_SEEK_BY_READ) return false;
  let inFh: FileHandle | undefined;
  let outFh: FileHandle | undefined;
  try {
    inFh = await open(`/proc/self/fd/${src.fd}`, 'r'); // a description of its own: its own offset
    outFh = await open(dstPath, 'r+');
    if (!(await skip(inFh, srcPos)) || !(await skip(outFh, dstPos))) return false;
    const inFd = inFh.fd;
    const outFd = outFh.fd;
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn('cat', [], { stdio: [inFd, outFd, 'ignore'] });
      child.on('error', () => resolve(null));
      child.on('exit', (c) => resolve(c));
    });
    return code === 0;
  } catch {
    return false;
  } finally {
    await inFh?.close().catch(() => undefined);
    await outFh?.close().catch(() => undefined);
  }
}

/** Moves a fresh description's offset forward by reading n bytes; false if the file is shorter. */
async function skip(fh: FileHandle, n: number): Promise<boolean> {
  const buf = Buffer.allocUnsafe(Math.min(n, 1 << 20) || 1);
  let done = 0;
  while (done < n) {
    const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, n - done), null);
    if (bytesRead === 0) return false;
    done += bytesRead;
  }
  return true;
}
