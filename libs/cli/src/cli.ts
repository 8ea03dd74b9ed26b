import { access, copyFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, DEFAULT_REDIS_URL, readRuntimeSettings, resolveConfigPath, loadConfigFile, type RecorderConfig } from '@tapo/config';
import { redactText, registerUrlSecrets } from '@tapo/log';
import { classifyMp4 } from '@tapo/mp4';
import { decodeReport } from '@tapo/ffmpeg';
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
      if ((a === '--from' || a === '--to') && next && /^-\d/.test(next)) {
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
      },
    });
    if (!(cmd in HELP) || cmd === 'main') throw new UsageError(`unknown command "${cmd}" (try: recorder --help)`);
    if (values.help) {
      say(HELP[cmd]!);
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
