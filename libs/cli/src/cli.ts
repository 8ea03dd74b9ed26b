import { access, copyFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, DEFAULT_REDIS_URL, readRuntimeSettings, resolveConfigPath, loadConfigFile, type RecorderConfig } from '@tapo/config';
import { redactText, registerUrlSecrets } from '@tapo/log';
import { classifyMp4 } from '@tapo/mp4';
import { decodeReport } from '@tapo/ffmpeg';
import { generateKeyText } from '@tapo/replica-crypto';
import { decideRepair, runPrune, runRepairChain, scanRecordings } from '@tapo/maintenance';
import { SegmentLifecycle, isPlayable } from '@tapo/segment-lifecycle';
import type { Redis } from 'ioredis';
import { REPAIR_QUEUE, createRecordQueue, createRedis, createRepairQueue, enqueueVerify, fileQueueName, waitForRedis } from '@tapo/queues';
import { SegmentIndex } from '@tapo/segment-index';
import { EXPORT_JOB_NAME, EXPORT_JOB_OPTIONS, createExportQueue, type ExportResult } from '@tapo/queues';
import { listCameraStatus } from '@tapo/status';
import { parseSegmentFileName, resolveInside } from '@tapo/storage';
import os from 'node:os';
import { HELP } from './help.js';
// recorder restore / recorder replicas
import { randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { mkdir, rm, rmdir, stat } from 'node:fs/promises';
import type { ReplicaConfig } from '@tapo/config';
import { partialPathFor, placeNoClobber, regularFileSize } from '@tapo/durable-file';
import { processExport } from '@tapo/export';
import { createLogger, registerSecrets } from '@tapo/log';
import { replaceWhenVerified } from '@tapo/maintenance';
import {
  HTTP_REPLICA_LISTING,
  HTTP_REPLICA_RESTORE,
  MAX_SEGMENT_MS,
  estimatedEnds,
  listCopies,
  replicaSecrets,
  replicaWhere,
  restoreCopies,
  scanCopies,
  summarizeCopies,
  type CopyEntry,
  type RestoreCheck,
  type RestoreResult,
} from '@tapo/replication';

class UsageError extends Error {}

/** ISO 8601, or relative to now: -2h, -30m, -7d. */
export function parseTime(text: string | undefined, fallback: number, now = Date.now()): number {
  if (text === undefined) return fallback;
  const rel = /^-(\d+(?:\.\d+)?)([smhd])$/.exec(text.trim());
  if (rel) return now - Number(rel[1]) * { s: 1e3, m: 6e4, h: 3.6e6, d: 8.64e7 }[rel[2] as 's' | 'm' | 'h' | 'd'];
  const t = Date.parse(text);
  if (Number.isNaN(t)) throw new UsageError(`cannot read the time "${text}" (use ISO 8601 like 2026-11-27T03:00:00Z, or -2h)`);
  return t;
}

/**
 * The cameras file, when there is one. Missing and not asked for (no --config,
 * no RECORDER_CONFIG): undefined, so that commands on loose files (repair,
 * verify) work in any folder; asked for and missing: an error.
 */
function loadConfigIfAny(configFlag: string | undefined): RecorderConfig | undefined {
  const loc = resolveConfigPath(configFlag ? ['--config', configFlag] : []);
  if (!loc.exists) {
    if (loc.explicit) throw new ConfigError(`${loc.file}: config file not found`, loc.file);
    return undefined;
  }
  const cfg = loadConfigFile(loc.file);
  for (const c of cfg.cameras) registerUrlSecrets(c.url);
  return cfg;
}

/** Runs `fn` with a Redis connection (REDIS_URL, RECORDER_QUEUE_PREFIX) and always disconnects. */
async function withRedis<T>(fn: (redis: Redis, prefix: string) => Promise<T>): Promise<T> {
  const settings = readRuntimeSettings();
  const url = settings.redisUrl ?? DEFAULT_REDIS_URL;
  await waitForRedis(url, 5000);
  const redis = createRedis(url, { name: 'recorder-cli' });
  redis.on('error', () => {});
  try {
    return await fn(redis, settings.queuePrefix);
  } finally {
    redis.disconnect();
  }
}

const fmtBytes = (n: number) => (n >= 1e9 ? `${(n / 1e9).toFixed(2)} GB` : n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : `${n} B`);

function progressBar(out: NodeJS.WriteStream) {
  let last = -1;
  return (done: number, total: number) => {
    const pct = Math.floor((done / Math.max(1, total)) * 100);
    if (pct === last) return;
    last = pct;
    const width = 30;
    const filled = Math.round((pct / 100) * width);
    out.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${pct}% ${fmtBytes(done)}`);
    if (pct >= 100) out.write('\n');
  };
}

/** What `recorder keygen` says on stderr (stdout holds only the key, for `recorder keygen > file`). */
const KEYGEN_WARNING = `recorder keygen: a new replica encryption key is on stdout.
  Keep a copy OFF this box (a password manager, or printed): losing the key loses the footage,
  the encrypted copies cannot be read without it, not even by you.
  Use it: REPLICA_KEY=<the key> in the env file (not in the cameras file), and in a directory
  or s3 entry of replicas: (http entries cannot encrypt):
      encryption:
        key: \${REPLICA_KEY}
        hideNames: false   # true: camera ids in the copies' names are replaced too
`;

export async function runCli(argv: string[], io: { out: NodeJS.WriteStream; err: NodeJS.WriteStream } = { out: process.stdout, err: process.stderr }): Promise<number> {
  const [cmd, ...rest] = argv;
  const say = (s: string) => io.out.write(`${s}\n`);
  try {
    if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') {
      say(HELP.main!);
      return cmd ? 0 : 2;
    }
    // "--from -2h": a relative time looks like an option to parseArgs; glue it to its flag.
    const args: string[] = [];
    for (let i = 0; i < rest.length; i++) {
      const a = rest[i]!;
      const next = rest[i + 1];
      if ((a === '--from' || a === '--to' || a === '--from-time' || a === '--to-time') && next && /^-\d/.test(next)) {
        args.push(`${a}=${next}`);
        i++;
      } else args.push(a);
    }
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        config: { type: 'string', short: 'c' },
        help: { type: 'boolean', short: 'h' },
        'dry-run': { type: 'boolean' },
        reference: { type: 'string' },
        out: { type: 'string' },
        queue: { type: 'boolean' },
        camera: { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
        'no-decode': { type: 'boolean' },
        'full-decode': { type: 'boolean' },
        // restore / replicas
        'from-time': { type: 'string' },
        'to-time': { type: 'string' },
        export: { type: 'string' },
        json: { type: 'boolean' },
      },
    });
    if (!(cmd in HELP) || cmd === 'main') throw new UsageError(`unknown command "${cmd}" (try: recorder --help)`);
    if (values.help) {
      say(HELP[cmd]!);
      return 0;
    }
    // Before any config is read: the key is made to go into one (an unset ${REPLICA_KEY} must not stop it).
    if (cmd === 'keygen') {
      if (positionals.length > 0) throw new UsageError(`keygen takes no arguments (got "${positionals[0]}")`);
      io.out.write(`${generateKeyText()}\n`);
      io.err.write(KEYGEN_WARNING);
      return 0;
    }
    const loaded = loadConfigIfAny(values.config);
    const needed = (): RecorderConfig => {
      if (loaded) return loaded;
      const loc = resolveConfigPath(values.config ? ['--config', values.config] : []);
      throw new ConfigError(`${loc.file}: config file not found (recorder ${cmd} needs the cameras file: pass --config FILE)`, loc.file);
    };

    if (cmd === 'verify') {
      const target = positionals[0];
      if (!target) throw new UsageError('verify needs a file (recorder verify <file>)');
      const abs = path.resolve(target);
      await access(abs).catch(() => {
        throw new UsageError(`${abs}: no such file`);
      });
      const c = await classifyMp4(abs);
      // moov at the end plays in every player that reads the whole file (repair moves it to the front for streaming).
      const plays = isPlayable(c.kind) || c.kind === 'moov-at-end';
      say(`${target}: ${c.kind}, ${fmtBytes(c.fileBytes)}`);
      say(`  ${c.reason}`);
      const decision = decideRepair(c.kind, { remuxFragmented: loaded?.repair.remuxFragmented ?? false });
      if (decision.action === 'repair') say(`  recorder repair would: ${[...decision.steps].join(' → ')}${decision.fallbacks.length ? ` (fallback: ${decision.fallbacks.join(', ')})` : ''}`);
      else if (decision.action === 'unrecoverable') say(`  cannot be repaired: ${decision.reason}`);
      if (!values['no-decode'] && c.kind !== 'empty' && c.kind !== 'garbage' && c.kind !== 'no-moov') {
        const d = await decodeReport(abs);
        const errs = d.errors.length ? `, ${d.errors.length} decode error line(s), first: ${d.errors[0]!.slice(0, 160)}` : ', no decode errors';
        say(d.readable || d.videoFrames > 0 ? `  plays as it is: ${d.videoFrames} video frames decode (${d.detail})${errs}` : `  ffmpeg cannot read it: ${d.detail}`);
      } else if (!plays) say('  plays as it is: no (0 frames)');
      say(
        plays
          ? `verdict: plays as it is${decision.action === 'repair' ? ` (recorder repair would still improve it: ${decision.steps.join(' → ')})` : ''}`
          : c.kind === 'fragmented-partial'
            ? 'verdict: plays up to its last complete fragment; recorder repair trims the cut end'
            : decision.action === 'repair'
              ? 'verdict: does not play as it is; repairable'
              : 'verdict: does not play',
      );
      return plays ? 0 : 1;
    }

    if (cmd === 'status') {
      const config = needed();
      await withRedis(async (redis, prefix) => {
        const queue = createRecordQueue(redis, prefix);
        try {
          const cams = await listCameraStatus(queue, redis, prefix, config);
          say(['camera', 'state', 'host', 'fps', 'last segment', 'error'].join('\t'));
          for (const c of cams) {
            const p = c.progress;
            say([c.id, c.state, p?.host ?? '-', p ? String(p.fps) : '-', p?.lastSegment?.file ?? '-', p?.lastError && c.state !== 'recording' ? p.lastError : ''].join('\t'));
          }
        } finally {
          await queue.close();
        }
      });
      return 0;
    }

    if (cmd === 'cameras') {
      const config = needed();
      await withRedis(async (redis, prefix) => {
        const index = new SegmentIndex(redis, prefix);
        say(['camera', 'enabled', 'segment', 'audio', 'maxAge', 'maxSize', 'segments', 'bytes'].join('\t'));
        for (const c of config.cameras) {
          const st = await index.stats(c.id);
          const r = c.retention;
          say([c.id, c.enabled ? 'yes' : 'no', `${c.segmentSeconds}s`, c.audio, r.maxAgeSeconds ? `${r.maxAgeSeconds / 86400}d` : '-', r.maxBytes ? fmtBytes(r.maxBytes) : '-', String(st.count), fmtBytes(st.bytes)].join('\t'));
        }
      });
      return 0;
    }

    if (cmd === 'segments') {
      const cameraId = positionals[0];
      if (!cameraId) throw new UsageError('segments needs a camera id (recorder segments <camera>)');
      const to = parseTime(values.to, Date.now());
      const from = parseTime(values.from, to - 24 * 3600_000);
      if (from > to) throw new UsageError('--from is after --to');
      const segs = await withRedis((redis, prefix) => new SegmentIndex(redis, prefix).range(cameraId, from, to));
      say(['start (UTC)', 'duration', 'bytes', 'status', 'host', 'file'].join('\t'));
      for (const g of segs) say([new Date(g.startMs).toISOString(), `${(g.durationMs / 1000).toFixed(1)}s`, fmtBytes(g.bytes), g.status, g.host, g.file].join('\t'));
      say(`${segs.length} segment(s) from ${new Date(from).toISOString()} to ${new Date(to).toISOString()}`);
      return 0;
    }

    if (cmd === 'export') {
      const config = needed();
      const cameraId = positionals[0];
      if (!cameraId) throw new UsageError('export needs a camera id (recorder export <camera> --from ... --to ... --out file)');
      if (!values.out) throw new UsageError('export needs --out <file>');
      if (!values.from || !values.to) throw new UsageError('export needs --from and --to');
      const to = parseTime(values.to, Date.now());
      const from = parseTime(values.from, to);
      if (from >= to) throw new UsageError('--from must be before --to');
      const out = path.resolve(values.out);
      return withRedis(async (redis, prefix) => {
        const queue = createExportQueue(redis, prefix);
        try {
          const job = await queue.add(
            EXPORT_JOB_NAME,
            { cameraId, from: new Date(from).toISOString(), to: new Date(to).toISOString(), requestedAt: new Date().toISOString() },
            EXPORT_JOB_OPTIONS,
          );
          const bar = progressBar(io.err);
          for (;;) {
            // State first, then the job (read the other way round, a job finishing in between lacks its result).
            const state = await queue.getJobState(job.id!);
            const j = await queue.getJob(job.id!);
            const p = j?.progress as { percent?: number } | undefined;
            if (p && typeof p === 'object' && typeof p.percent === 'number') bar(p.percent, 100);
            if (state === 'completed') {
              const res = j!.returnvalue as ExportResult;
              bar(100, 100);
              await copyFile(path.join(config.recordingsDir, res.file), out);
              say(`exported ${res.segments} segment(s), ${res.durationSeconds.toFixed(1)} s, ${fmtBytes(res.bytes)} → ${out}`);
              return 0;
            }
            if (state === 'failed') {
              io.err.write(`\n`);
              throw new Error(`export failed: ${j!.failedReason}`);
            }
            if (!j) throw new Error('the export job disappeared');
            await new Promise((r) => setTimeout(r, 500));
          }
        } finally {
          await queue.close();
        }
      });
    }

    if (cmd === 'restore') return await runRestore(needed(), values, say);
    if (cmd === 'replicas') return await runReplicas(needed(), values, say);

    if (cmd === 'prune') {
      const config = needed();
      const res = await withRedis((redis, prefix) => runPrune({ config, index: new SegmentIndex(redis, prefix), dryRun: !!values['dry-run'] }));
      if (res.dryRun) {
        for (const d of res.wouldDelete ?? []) say(`would delete ${d.file} (${d.reason}, ${fmtBytes(d.bytes)})`);
        say(`dry run: ${res.deleted} segment(s), ${fmtBytes(res.bytes)} would be deleted; nothing was deleted`);
      } else {
        say(`deleted ${res.deleted} segment(s), ${fmtBytes(res.bytes)}`);
        for (const s of res.skipped) say(`skipped ${s.file}: ${s.why}`);
      }
      for (const c of res.cameras) say(`  ${c.cameraId}: keeps ${c.keptCount} segment(s)${c.oldestKept ? `, oldest ${c.oldestKept}` : ''}`);
      return 0;
    }

    if (cmd === 'rescan') {
      const config = needed();
      const host = os.hostname();
      await withRedis(async (redis, prefix) => {
        const repairQueue = createRepairQueue(redis, prefix, fileQueueName(REPAIR_QUEUE, config.storage, host));
        try {
          const index = new SegmentIndex(redis, prefix);
          // No consumers here: replicate jobs come from the workers' own lifecycle.
          const segments = new SegmentLifecycle({ index, recordingsDir: () => config.recordingsDir, enqueueVerify: async (ref, reason) => void (await enqueueVerify(repairQueue, { ...ref, reason })) });
          const res = await scanRecordings({ config, index, segments, host, rebuild: true, ...(values.camera ? { cameras: [values.camera] } : {}) });
          say(`rescan: ${res.cameras} camera(s), ${res.indexed} segment(s) indexed, ${res.broken} sent to verify, ${res.skippedLive} being written`);
        } finally {
          await repairQueue.close();
        }
      });
      return 0;
    }

    // repair
    const target = positionals[0];
    if (!target) throw new UsageError('repair needs a file (recorder repair <file>)');
    const abs = path.resolve(target);
    if (values.queue) {
      const config = needed();
      const rel = path.relative(config.recordingsDir, abs);
      if (!resolveInside(config.recordingsDir, rel) || rel.startsWith('..')) {
        throw new UsageError(`${abs} is outside recordingsDir (${config.recordingsDir}): only files there can be queued`);
      }
      const cameraId = rel.split(path.sep)[0]!;
      const host = os.hostname();
      await withRedis(async (redis, prefix) => {
        const q = createRepairQueue(redis, prefix, fileQueueName(REPAIR_QUEUE, config.storage, host));
        try {
          const refRel = values.reference ? path.relative(config.recordingsDir, path.resolve(values.reference)) : undefined;
          const job = await enqueueVerify(q, { cameraId, file: rel, host, reason: 'queued by hand (recorder repair --queue)', ...(refRel ? { reference: refRel } : {}) }, { again: true });
          say(`queued verify job ${job.jobId} for ${rel} (see Bull Board, queue ${q.name})`);
        } finally {
          await q.close();
        }
      });
      return 0;
    }
    await access(abs).catch(() => {
      throw new UsageError(`${abs}: no such file`);
    });
    const c = await classifyMp4(abs);
    say(`${target}: ${c.kind} (${c.reason})`);
    const decision = decideRepair(c.kind, { remuxFragmented: loaded?.repair.remuxFragmented ?? false });
    if (decision.action === 'none') {
      if (values.out) await copyFile(abs, values.out);
      say('plays as it is: nothing to repair');
      return 0;
    }
    if (decision.action === 'unrecoverable') {
      say(`unrecoverable: ${decision.reason}`);
      return 1;
    }
    let reference = values.reference ? path.resolve(values.reference) : undefined;
    if (!reference && decision.steps.includes('rebuild')) {
      const parsed = parseSegmentFileName(path.basename(abs));
      const config = loaded;
      if (parsed && config) {
        // The nearest good segment of the camera in the index (none if Redis is not there).
        const rec = await withRedis(async (redis, prefix) => {
          const index = new SegmentIndex(redis, prefix);
          return (await index.previousGood(parsed.cameraId, parsed.start.getTime())) ?? (await index.nextGood(parsed.cameraId, parsed.start.getTime()));
        }).catch(() => undefined);
        if (rec) reference = path.join(config.recordingsDir, rec.file);
      }
      if (!reference) throw new UsageError(`this file has no moov: give a good recording of the same camera with --reference <file>${config ? '' : ' (no cameras file here, so the index cannot suggest one)'}`);
      say(`reference: ${reference}`);
    }
    const dest = values.out ? path.resolve(values.out) : abs;
    const ok = await runRepairChain(abs, decision, {
      dest,
      fullDecode: !!values['full-decode'] || (loaded?.repair.fullDecode ?? false),
      ...(reference ? { reference } : {}),
      onProgress: progressBar(io.err),
      onEvent: (e) => {
        if (e.type === 'done') {
          const r = e.done.result;
          for (const n of r.notes) say(`note: ${n}`);
          say(`${e.step}: ${r.videoSamples} video frames (${r.keyframes} keyframes), ${r.audioSamples} audio frames → ${dest} (${e.done.detail})`);
        } else {
          say(`${e.step} failed: ${e.error}`);
          say(e.next ? `trying ${e.next}` : 'unrecoverable: every step failed; the original is unchanged');
        }
      },
    });
    if (!ok) return 1;
    return 0;
  } catch (e) {
    if (e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.err.write(`recorder: ${(e as Error).message}\n`);
      return 2;
    }
    const msg = e instanceof ConfigError ? `config error:\n${e.message}` : (e as Error).message;
    io.err.write(`recorder: ${redactText(msg)}\n`);
    return 1;
  }
}

// ---- recorder restore / recorder replicas ------------------------------------------------------

interface ReplicaFlags {
  from?: string | undefined;
  camera?: string | undefined;
  'from-time'?: string | undefined;
  'to-time'?: string | undefined;
  out?: string | undefined;
  export?: string | undefined;
  json?: boolean | undefined;
  'full-decode'?: boolean | undefined;
}

const CAMERA_ID = /^[a-z0-9_-]{1,64}$/;

/**
 * The secrets of every target (S3 keys, tokens, replica keys) go to the redaction of every line
 * printed. And the S3 SDK's "will require node >= 22" notice stays off the output (the project
 * pins an SDK line that runs on Node 20).
 */
function prepareReplicaCommand(config: RecorderConfig): void {
  for (const r of config.replicas) registerSecrets(...replicaSecrets(r));
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
}

function configuredReplicas(config: RecorderConfig): string {
  const ids = config.replicas.map((r) => r.id);
  return ids.length ? `configured: ${ids.join(', ')}` : 'the config has no replicas:';
}

/** How long a segment of a camera may be at most: bounds the assumed end of the last copy before a gap. */
function maxSegmentMsFor(config: RecorderConfig): (cameraId: string) => number {
  return (cameraId) => {
    const cam = config.cameras.find((c) => c.id === cameraId);
    return cam ? Math.min(MAX_SEGMENT_MS, 2 * cam.segmentSeconds * 1000) : MAX_SEGMENT_MS;
  };
}

/**
 * Whether a restored file plays, as `recorder verify` / `recorder repair` judge it: a file that
 * plays as it is is proven in place (the repair chain's proof: every sample's structure, the first
 * and last GOP decoded, or every frame with --full-decode); one that needs the chain (a live copy
 * cut inside its last fragment: trim) is repaired into a new file beside it.
 */
async function checkRestored(file: string, fullDecode: boolean, reference: string | undefined): Promise<RestoreCheck> {
  const c = await classifyMp4(file);
  const decision = decideRepair(c.kind);
  if (decision.action === 'unrecoverable') return { ok: false, detail: `${c.kind}: ${decision.reason}` };
  if (decision.action === 'none') {
    // Verified in place: replaceWhenVerified(x, x) renames nothing (and deletes x when it does not verify).
    const v = await replaceWhenVerified(file, file, { fullDecode });
    return v.replaced ? { ok: true, file, detail: v.detail } : { ok: false, detail: v.detail };
  }
  if (decision.steps.includes('rebuild') && !reference) {
    return { ok: false, detail: `${c.kind} (${c.reason}); no restored segment of the camera to rebuild it from: restore a longer range, or recorder repair --reference` };
  }
  const repaired = `${file}.repaired`;
  const done: string[] = [];
  let failed = '';
  const ok = await runRepairChain(file, decision, {
    dest: repaired,
    fullDecode,
    ...(reference ? { reference } : {}),
    onEvent: (e) => {
      if (e.type === 'done') done.push(`${e.step}: ${e.done.detail}`);
      else failed = `${e.step} failed: ${e.error.split('\n')[0]}`;
    },
  });
  if (!ok) {
    await rm(repaired, { force: true });
    return { ok: false, detail: `${c.kind}: ${failed || 'the repair chain failed'}` };
  }
  return { ok: true, file: repaired, detail: `${c.kind}, ${done.join('; ')}` };
}

/** Moves `src` to `dest` unless something is there (across filesystems: a copy beside dest, then linked into place). */
async function placeNew(src: string, dest: string): Promise<void> {
  const taken = () => new Error(`${dest} already exists (not overwritten)`);
  try {
    if (await placeNoClobber(src, dest)) return;
    throw taken();
  } catch (e) {
    if ((e as { code?: string }).code !== 'EXDEV') throw e;
  }
  const tmp = partialPathFor(dest);
  try {
    await copyFile(src, tmp, fsConstants.COPYFILE_EXCL);
    if (!(await placeNoClobber(tmp, dest))) throw taken();
  } finally {
    await rm(tmp, { force: true });
  }
}

/**
 * `--export FILE`: the restored range joined into one MP4 by the export job's own code
 * (processExport: ffmpeg's concat demuxer, no re-encoding, fast start), fed with the restored
 * files instead of the index, written under <out>/.exports and moved to FILE.
 */
async function exportRestored(
  config: RecorderConfig,
  results: RestoreResult[],
  opts: { cameraId: string; fromMs: number; toMs: number; outDir: string; file: string },
): Promise<string> {
  const files = results.filter((r) => r.status !== 'failed');
  if (files.length === 0) throw new Error('export: no segment was restored, nothing to export');
  const ends = estimatedEnds(
    files.map((r) => r.entry),
    maxSegmentMsFor(config),
  );
  const host = os.hostname();
  const records = files.map((r) => ({
    cameraId: opts.cameraId,
    file: path.relative(opts.outDir, r.path),
    startMs: r.entry.startMs,
    durationMs: ends.get(r.entry)! - r.entry.startMs,
    bytes: r.bytes,
    status: 'ok' as const,
    host,
  }));
  const index = { range: async () => records } as unknown as SegmentIndex;
  const job = {
    id: `restore-${randomBytes(6).toString('hex')}`,
    data: { cameraId: opts.cameraId, from: new Date(opts.fromMs).toISOString(), to: new Date(opts.toMs).toISOString(), requestedAt: new Date().toISOString() },
    updateProgress: async () => {},
  } as unknown as Parameters<typeof processExport>[1];
  const recordingsDir = opts.outDir;
  const res = await processExport({ index, getConfig: () => ({ ...config, recordingsDir }), logger: createLogger({ name: 'recorder-restore', level: 'silent' }) }, job);
  const made = path.join(recordingsDir, res.file);
  try {
    await placeNew(made, opts.file);
  } finally {
    await rm(made, { force: true });
    await rmdir(path.dirname(made)).catch(() => {});
  }
  return `exported ${res.segments} segment(s), ${res.durationSeconds.toFixed(1)} s, ${fmtBytes(res.bytes)} → ${opts.file}`;
}

/** `recorder restore --from <replica> --camera <id> --from-time <t> --to-time <t> --out DIR [--export FILE]`. */
async function runRestore(config: RecorderConfig, values: ReplicaFlags, say: (s: string) => void): Promise<number> {
  prepareReplicaCommand(config);
  if (!values.from) throw new UsageError(`restore needs --from <replica id> (${configuredReplicas(config)})`);
  const target = config.replicas.find((r) => r.id === values.from);
  if (!target) throw new UsageError(`no replica "${values.from}" in the config (${configuredReplicas(config)})`);
  if (target.type === 'http') throw new UsageError(`replica "${target.id}" is type http: ${HTTP_REPLICA_RESTORE}`);
  const cameraId = values.camera;
  if (!cameraId) throw new UsageError(`restore needs --camera <id> (configured: ${config.cameras.map((c) => c.id).join(', ') || 'none'})`);
  if (!CAMERA_ID.test(cameraId)) throw new UsageError(`--camera "${cameraId}" is not a camera id (a-z, 0-9, "-" and "_")`);
  if (!values['from-time'] || !values['to-time']) throw new UsageError('restore needs --from-time <time> and --to-time <time> (ISO 8601 like 2026-11-27T03:00:00Z, or -2h)');
  const toMs = parseTime(values['to-time'], Date.now());
  const fromMs = parseTime(values['from-time'], toMs);
  if (fromMs >= toMs) throw new UsageError('--from-time must be before --to-time');
  if (!values.out) throw new UsageError('restore needs --out <folder> (the segments go to <folder>/<camera>/<day>/)');
  const outDir = path.resolve(values.out);
  const outSize = await regularFileSize(outDir);
  if (outSize !== undefined && outSize >= 0) throw new UsageError(`--out ${outDir} is a file, not a folder`);
  const exportFile = values.export ? path.resolve(values.export) : undefined;
  if (exportFile) {
    if ((await regularFileSize(exportFile)) !== undefined) throw new UsageError(`--export ${exportFile} already exists (it is not overwritten: remove it or choose another name)`);
    const dir = await stat(path.dirname(exportFile)).catch(() => undefined);
    if (!dir?.isDirectory()) throw new UsageError(`--export ${exportFile}: the folder ${path.dirname(exportFile)} does not exist`);
  }

  const range = `${new Date(fromMs).toISOString()} to ${new Date(toMs).toISOString()}`;
  const entries = await listCopies(target, { camera: cameraId, fromMs, toMs, cameras: config.cameras.map((c) => c.id), maxSegmentMs: maxSegmentMsFor(config) });
  if (entries.length === 0) {
    const known = config.cameras.some((c) => c.id === cameraId) ? '' : ` (camera "${cameraId}" is not in the config)`;
    say(`no copies of ${cameraId} on replica "${target.id}" (${replicaWhere(target)}) from ${range}${known}`);
    return 1;
  }
  await mkdir(outDir, { recursive: true });
  say(`restoring ${entries.length} segment(s) of ${cameraId} from replica "${target.id}" (${replicaWhere(target)}), ${range} → ${outDir}`);

  const fullDecode = !!values['full-decode'] || config.repair.fullDecode;
  let reference: string | undefined;
  const describe = (e: CopyEntry) => `${e.kind === 'live' ? `live, ${e.chunks?.length ?? 0} chunk(s)` : 'whole'}${e.encrypted ? ', encrypted' : ''}`;
  const results = await restoreCopies(entries, {
    outDir,
    check: (file) => checkRestored(file, fullDecode, reference),
    onResult: (r) => {
      if (r.status !== 'failed') reference = r.path;
      const notes = r.notes.length ? `; note: ${r.notes.join('; ')}` : '';
      const line =
        r.status === 'restored'
          ? `restored ${r.entry.fileName} (${describe(r.entry)}, ${fmtBytes(r.bytes)}): ${r.detail}${notes}`
          : r.status === 'skipped'
            ? `skipped  ${r.entry.fileName} (${describe(r.entry)}): ${r.detail}${notes}`
            : `failed   ${r.entry.fileName} (${describe(r.entry)}): ${r.detail}${notes}`;
      say(redactText(line));
    },
  });
  const count = (s: RestoreResult['status']) => results.filter((r) => r.status === s).length;
  const failed = count('failed');
  const bytes = results.filter((r) => r.status === 'restored').reduce((n, r) => n + r.bytes, 0);
  say(`restore: ${count('restored')} restored (${fmtBytes(bytes)}), ${count('skipped')} skipped (already there), ${failed} failed, in ${outDir}`);
  let exportFailed = false;
  if (exportFile) {
    try {
      say(await exportRestored(config, results, { cameraId, fromMs, toMs, outDir, file: exportFile }));
    } catch (e) {
      exportFailed = true;
      say(redactText(`export failed: ${(e as Error).message.split('\n')[0]}`));
    }
  }
  return failed > 0 || exportFailed ? 1 : 0;
}

/** `recorder replicas [--camera id] [--json]`: what each target holds, per camera. */
async function runReplicas(config: RecorderConfig, values: ReplicaFlags, say: (s: string) => void): Promise<number> {
  prepareReplicaCommand(config);
  const camera = values.camera;
  if (camera !== undefined && !CAMERA_ID.test(camera)) throw new UsageError(`--camera "${camera}" is not a camera id (a-z, 0-9, "-" and "_")`);
  const cameras = config.cameras.map((c) => c.id);
  type Report = {
    id: string;
    type: ReplicaConfig['type'];
    where: string;
    encrypted: boolean;
    hideNames: boolean;
    cameras: ReturnType<typeof summarizeCopies>;
    unknownCameras: { nameCamera: string; copies: number; bytes: number }[];
    note?: string;
    error?: string;
  };
  const reports: Report[] = [];
  for (const target of config.replicas) {
    const enc = target.type === 'http' ? undefined : target.encryption;
    const report: Report = { id: target.id, type: target.type, where: replicaWhere(target), encrypted: !!enc, hideNames: !!enc?.hideNames, cameras: [], unknownCameras: [] };
    if (target.type === 'http') report.note = HTTP_REPLICA_LISTING;
    else {
      try {
        const listing = await scanCopies(target, { camera, cameras });
        report.cameras = summarizeCopies(listing.entries);
        report.unknownCameras = listing.unknown;
      } catch (e) {
        report.error = redactText((e as Error).message.split('\n')[0]!);
      }
    }
    reports.push(report);
  }
  if (values.json) {
    say(JSON.stringify({ replicas: reports }, null, 2));
    return reports.some((r) => r.error) ? 1 : 0;
  }
  if (reports.length === 0) say('no replicas: in the config');
  for (const r of reports) {
    say(`${r.id}\t${r.type}\t${r.where}\tencrypted: ${r.encrypted ? `yes${r.hideNames ? ' (hidden names)' : ''}` : 'no'}`);
    if (r.note) say(`  ${r.note}`);
    else if (r.error) say(`  cannot list: ${r.error}`);
    else if (r.cameras.length === 0 && r.unknownCameras.length === 0) say(`  no copies${camera ? ` of ${camera}` : ''}`);
    else {
      say(`  ${['camera', 'whole', 'unfinished', 'bytes', 'oldest (UTC)', 'newest (UTC)', 'encrypted'].join('\t')}`);
      for (const c of r.cameras) say(`  ${[c.cameraId, c.whole, c.live, fmtBytes(c.bytes), c.oldest, c.newest, c.encrypted ? 'yes' : 'no'].join('\t')}`);
      for (const u of r.unknownCameras) say(`  ${u.nameCamera}: ${u.copies} copies, ${fmtBytes(u.bytes)} under a hidden camera name not in the config`);
    }
  }
  return reports.some((r) => r.error) ? 1 : 0;
}
