import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import type { z } from 'zod';
import { ConfigError } from './errors.js';
import { resolveReplicaFields } from './replicas.js';
import { ConfigSchema, type CameraConfig, type RecorderConfig, type ReplicaConfig, type RetentionLimits } from './schema.js';
import { MissingVariableError, substituteDeep } from './substitute.js';

type Path = Array<string | number | symbol>;

function describeLocation(raw: unknown, p: Path): { cameraId?: string; where: string; field?: string } {
  const cams = (raw as { cameras?: unknown[] } | undefined)?.cameras;
  if (p[0] === 'cameras' && typeof p[1] === 'number') {
    const idx = p[1];
    const cam = Array.isArray(cams) ? (cams[idx] as Record<string, unknown> | undefined) : undefined;
    const id = cam && typeof cam.id === 'string' ? cam.id : undefined;
    const field = p.slice(2).map(String).join('.') || undefined;
    const where = `camera ${id ? `"${id}" ` : ''}(cameras[${idx}])`;
    return { cameraId: id, where, field };
  }
  const field = p.map(String).join('.') || undefined;
  return { where: '', field };
}

function formatProblem(file: string, where: string, field: string | undefined, message: string): string {
  const parts = [file];
  if (where) parts.push(where);
  if (field) parts.push(`field "${field}"`);
  return `${parts.join(', ')}: ${message}`;
}

function issueMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') {
    return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  }
  if (issue.code === 'invalid_type') {
    return `expected ${issue.expected}${issue.input === undefined ? ' (missing)' : ''}`;
  }
  if (issue.code === 'invalid_value') {
    return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(' | ')}`;
  }
  return issue.message;
}

/** Validates an already parsed (and substituted) config object. */
export function validateConfig(raw: unknown, file: string, baseDir: string): RecorderConfig {
  const result = ConfigSchema.safeParse(raw ?? {});
  if (!result.success) {
    const lines: string[] = [];
    let first: { cameraId?: string; field?: string } = {};
    for (const issue of result.error.issues) {
      // An unknown key is reported at its parent: point at the key itself.
      const p: Path =
        issue.code === 'unrecognized_keys' && issue.keys.length === 1
          ? [...issue.path, issue.keys[0]!]
          : issue.path;
      const loc = describeLocation(raw, p);
      if (lines.length === 0) first = loc;
      lines.push(formatProblem(file, loc.where, loc.field, issueMessage(issue)));
    }
    throw new ConfigError(lines.join('\n'), file, first.cameraId, first.field);
  }
  const cfg = result.data;
  const seen = new Map<string, number>();
  cfg.cameras.forEach((cam, i) => {
    const prev = seen.get(cam.id);
    if (prev !== undefined) {
      throw new ConfigError(
        formatProblem(
          file,
          `camera "${cam.id}" (cameras[${i}])`,
          'id',
          `duplicate camera id (already used by cameras[${prev}])`,
        ),
        file,
        cam.id,
        'id',
      );
    }
    seen.set(cam.id, i);
  });
  const unique = (list: Array<{ id: string }>, what: string) => {
    const ids = new Map<string, number>();
    list.forEach((item, i) => {
      const prev = ids.get(item.id);
      if (prev !== undefined) {
        throw new ConfigError(formatProblem(file, '', `${what}[${i}].id`, `duplicate id "${item.id}" (already used by ${what}[${prev}])`), file, undefined, `${what}.${i}.id`);
      }
      ids.set(item.id, i);
    });
  };
  const recProblem = systemFolderProblem(path.resolve(baseDir, cfg.recordingsDir));
  if (recProblem) throw new ConfigError(formatProblem(file, '', 'recordingsDir', recProblem), file, undefined, 'recordingsDir');
  unique(cfg.replicas, 'replicas');
  unique(cfg.alerts.targets, 'alerts.targets');
  unique(cfg.receive.tokens, 'receive.tokens');
  const recordingsDir = path.resolve(baseDir, cfg.recordingsDir);
  const replicaFields = cfg.replicas.map((r, i) => {
    const resolved = resolveReplicaFields(r, { baseDir, recordingsDir });
    if ('problem' in resolved) {
      const { field, message } = resolved.problem;
      throw new ConfigError(formatProblem(file, '', `replicas[${i}].${field}`, message), file, undefined, `replicas.${i}.${field}`);
    }
    r.cameras?.forEach((c, j) => {
      if (!seen.has(c)) {
        throw new ConfigError(formatProblem(file, '', `replicas[${i}].cameras[${j}]`, `unknown camera "${c}"`), file, undefined, `replicas.${i}.cameras.${j}`);
      }
    });
    return resolved.fields;
  });
  const limits = (r: { maxAge?: number | undefined; maxSize?: number | undefined } | undefined): RetentionLimits => ({
    ...(r?.maxAge !== undefined ? { maxAgeSeconds: r.maxAge } : {}),
    ...(r?.maxSize !== undefined ? { maxBytes: r.maxSize } : {}),
  });
  const globalLimits = limits(cfg.retention);
  const cameras: CameraConfig[] = cfg.cameras.map((c) => ({
    id: c.id,
    ...(c.name !== undefined ? { name: c.name } : {}),
    url: c.url,
    segmentSeconds: c.segmentSeconds ?? cfg.segmentSeconds,
    audio: c.audio,
    enabled: c.enabled,
    retention: { ...globalLimits, ...limits(c.retention) },
  }));
  return {
    file,
    recordingsDir: path.resolve(baseDir, cfg.recordingsDir),
    segmentSeconds: cfg.segmentSeconds,
    stallTimeoutSeconds: cfg.stallTimeoutSeconds,
    concurrency: cfg.concurrency,
    retention: globalLimits,
    minFreeDisk: cfg.minFreeDisk,
    pruneEverySeconds: cfg.pruneEverySeconds,
    storage: cfg.storage,
    repair: cfg.repair,
    cameras,
    replicas: cfg.replicas.map((r, i): ReplicaConfig => ({
      id: r.id,
      ...(r.cameras ? { cameras: r.cameras } : {}),
      retention: limits(r.retention),
      alertAfterSeconds: r.alertAfter,
      ...replicaFields[i]!,
    })),
    receive: { tokens: cfg.receive.tokens, maxBytes: cfg.receive.maxBytes, liveIdleSeconds: cfg.receive.liveIdle },
    alerts: cfg.alerts,
  };
}

/** Parses YAML text, substitutes `${VAR}`, validates. Throws ConfigError. */
export function parseConfig(text: string, file: string, env: NodeJS.ProcessEnv = process.env): RecorderConfig {
  const doc = YAML.parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const line = e.linePos?.[0] ? `line ${e.linePos[0].line}, column ${e.linePos[0].col}` : '';
    throw new ConfigError(
      `${file}${line ? `, ${line}` : ''}: invalid YAML: ${e.message.split('\n')[0]}`,
      file,
    );
  }
  const parsed: unknown = doc.toJS();
  if (parsed !== null && parsed !== undefined && (typeof parsed !== 'object' || Array.isArray(parsed))) {
    throw new ConfigError(`${file}: the top level must be a mapping (recordingsDir, segmentSeconds, cameras, ...)`, file);
  }
  const missing: string[] = [];
  let firstMissing: { cameraId?: string; field?: string } = {};
  const substituted = substituteDeep(parsed ?? {}, env, [], (p, err: MissingVariableError) => {
    const loc = describeLocation(parsed, p);
    if (missing.length === 0) firstMissing = loc;
    missing.push(formatProblem(file, loc.where, loc.field, err.message));
  });
  if (missing.length > 0) {
    throw new ConfigError(missing.join('\n'), file, firstMissing.cameraId, firstMissing.field);
  }
  const cfg = validateConfig(substituted, file, path.dirname(file));
  // RECORDINGS_DIR overrides the file (containers mount recordings elsewhere).
  if (env.RECORDINGS_DIR) {
    const dir = path.resolve(env.RECORDINGS_DIR);
    const problem = systemFolderProblem(dir);
    if (problem) throw new ConfigError(`RECORDINGS_DIR: ${problem}`, file, undefined, 'recordingsDir');
    cfg.recordingsDir = dir;
  }
  return cfg;
}

/** System folders: recordings may not be one of them (camera folders and .exports would land among system files, and prune walks the folder). */
const SYSTEM_FOLDERS = ['/etc', '/usr', '/var', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/boot', '/proc', '/sys', '/dev', '/usr/bin', '/usr/sbin', '/usr/lib'];
/** ... nor anywhere inside these (programs, kernels, pseudo-filesystems). */
const NOTHING_INSIDE = ['/bin', '/sbin', '/lib', '/lib32', '/lib64', '/boot', '/proc', '/sys', '/dev', '/usr/bin', '/usr/sbin', '/usr/lib'];

/** Why an (absolute) recordings folder is refused, or undefined. */
export function systemFolderProblem(dir: string): string | undefined {
  const d = path.resolve(dir);
  const advice = 'give recordings a folder of their own (e.g. /var/lib/tapo-recorder/recordings)';
  if (d === path.parse(d).root) return `${d} is the filesystem root: ${advice}`;
  if (SYSTEM_FOLDERS.includes(d)) return `${d} is a system folder: ${advice}`;
  const sys = NOTHING_INSIDE.find((s) => d.startsWith(s + '/'));
  if (sys) return `${d} is inside the system folder ${sys}: ${advice}`;
  return undefined;
}

export function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): RecorderConfig {
  const abs = path.resolve(file);
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ConfigError(
      `${abs}: cannot read config file (${code === 'ENOENT' ? 'no such file' : (code ?? String(e))})`,
      abs,
    );
  }
  return parseConfig(text, abs, env);
}

export interface ConfigLocation {
  file: string;
  /** True when named by --config or RECORDER_CONFIG (then it must exist). */
  explicit: boolean;
  exists: boolean;
}

/** `--config FILE` / `--config=FILE`, else $RECORDER_CONFIG, else ./cameras.yml. */
export function resolveConfigPath(argv: string[] = process.argv.slice(2), env: NodeJS.ProcessEnv = process.env): ConfigLocation {
  let file: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--config' || a === '-c') {
      file = argv[i + 1];
      if (!file) throw new ConfigError('--config needs a file path', '<command line>');
      break;
    }
    if (a.startsWith('--config=')) {
      file = a.slice('--config='.length);
      break;
    }
  }
  const explicit = file !== undefined || !!env.RECORDER_CONFIG;
  const chosen = path.resolve(file || env.RECORDER_CONFIG || 'cameras.yml');
  return { file: chosen, explicit, exists: existsSync(chosen) };
}
