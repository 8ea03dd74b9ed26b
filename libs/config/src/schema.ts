import { z } from 'zod';
import { parseDurationSeconds } from './duration.js';
import { replicaSchema, type ReplicaConfig } from './replicas.js';
import { parseBytes, parseFreeDiskFloor, type FreeDiskFloor } from './size.js';

/** "7d", "12h", "90m" or seconds → seconds. */
const duration = z.union([z.string(), z.number()]).transform((v, ctx) => {
  try {
    const s = parseDurationSeconds(v);
    if (s <= 0) throw new Error('must be more than 0');
    return s;
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: (e as Error).message });
    return z.NEVER;
  }
});

/** "50GB", "500MiB" or bytes → bytes. */
const size = z.union([z.string(), z.number()]).transform((v, ctx) => {
  try {
    return parseBytes(v);
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: (e as Error).message });
    return z.NEVER;
  }
});

const RetentionSchema = z
  .object({
    /** Delete segments older than this. */
    maxAge: duration.optional(),
    /** Keep at most this many bytes of segments for the camera. */
    maxSize: size.optional(),
  })
  .strict();

export const CAMERA_ID = /^[a-z0-9_-]{1,64}$/;

export const AudioMode = z.enum(['aac', 'copy', 'off']);
export type AudioMode = z.infer<typeof AudioMode>;

const rtspUrl = z
  .string()
  .min(1, 'must not be empty')
  .refine((u) => /^rtsps?:\/\/[^\s]+$/i.test(u), {
    message: 'must be an rtsp:// (or rtsps://) URL',
  })
  .refine(
    (u) => {
      try {
        const parsed = new URL(u);
        return parsed.hostname.length > 0;
      } catch {
        return false;
      }
    },
    { message: 'is not a valid URL (percent-encode special characters in the user name or password)' },
  );

export const CameraSchema = z
  .object({
    id: z
      .string()
      .regex(CAMERA_ID, 'must be 1-64 characters of a-z, 0-9, "_" or "-" (it is used in file paths)'),
    url: rtspUrl,
    name: z.string().max(200).optional(),
    segmentSeconds: z.number().int().min(2).max(3600).optional(),
    audio: AudioMode.default('aac'),
    enabled: z.boolean().default(true),
    retention: RetentionSchema.optional(),
  })
  .strict();

export const REPLICA_ID = /^[a-z0-9_-]{1,64}$/;

/** Events an alert target can be told about. */
export const ALERT_EVENTS = [
  'camera-offline',
  'camera-back',
  'auth-failing',
  'disk-nearly-full',
  'emergency-prune',
  'replica-unreachable',
  'replica-back',
  'segment-unrecoverable',
] as const;
export type AlertEventType = (typeof ALERT_EVENTS)[number];

const httpUrl = z
  .string()
  .min(1, 'must not be empty')
  .refine((u) => {
    try {
      const p = new URL(u);
      return (p.protocol === 'http:' || p.protocol === 'https:') && p.hostname.length > 0;
    } catch {
      return false;
    }
  }, { message: 'must be an http:// or https:// URL' });

const replicaCommon = {
  id: z.string().regex(REPLICA_ID, 'must be 1-64 characters of a-z, 0-9, "_" or "-"'),
  /** Only these cameras (default: every camera). */
  cameras: z.array(z.string().regex(CAMERA_ID, 'is not a valid camera id')).optional(),
  /** directory: the copies' ring buffer; every type: segments older than maxAge are not sent. */
  retention: RetentionSchema.optional(),
  /** Alert "replica unreachable" after the target has failed this long. */
  alertAfter: duration.default(300),
};

const ReplicaSchema = replicaSchema(replicaCommon, { httpUrl });

const ReceiveSchema = z
  .object({
    tokens: z
      .array(
        z
          .object({
            /** Who sends with this token (shown in logs and the index). */
            id: z.string().regex(REPLICA_ID, 'must be 1-64 characters of a-z, 0-9, "_" or "-"'),
            token: z.string().min(16, 'must be at least 16 characters (use a long random token)'),
            /** Stored camera id = cameraPrefix + the sender's camera id (keeps two houses' "cam1" apart). */
            cameraPrefix: z.string().regex(/^[a-z0-9_-]{0,32}$/, 'must be up to 32 characters of a-z, 0-9, "_" or "-"').default(''),
          })
          .strict(),
      )
      .default([]),
    /** Largest upload accepted. */
    maxBytes: size.default(2 * 1024 ** 3),
    /** A live copy whose sender has been silent this long is stored as a segment as it is. */
    liveIdle: duration.default(20),
  })
  .strict();

const AlertTargetSchema = z
  .object({
    id: z.string().regex(REPLICA_ID, 'must be 1-64 characters of a-z, 0-9, "_" or "-"'),
    /** webhook: JSON POST; ntfy: plain-text POST with Title/Priority/Tags headers. */
    type: z.enum(['webhook', 'ntfy']),
    url: httpUrl,
    /** Extra request headers (e.g. Authorization). */
    headers: z.record(z.string(), z.string()).default({}),
    /** Only these events (default: all). */
    events: z.array(z.enum(ALERT_EVENTS)).optional(),
  })
  .strict();

const AlertsSchema = z
  .object({
    /** A camera counts as offline after this long without new video. */
    offlineAfterSeconds: z.number().min(5).max(3600).default(30),
    /** At most one message per camera and event type in this interval (no flapping storms). */
    minIntervalSeconds: z.number().min(0).max(86_400).default(60),
    /** "disk nearly full" when the recordings filesystem is this full (percent). */
    diskNearlyFullPercent: z.number().min(50).max(100).default(97),
    targets: z.array(AlertTargetSchema).default([]),
  })
  .strict();

export const ConfigSchema = z
  .object({
    recordingsDir: z.string().min(1).default('./recordings'),
    segmentSeconds: z.number().int().min(2).max(3600).default(60),
    /** Seconds without progress before ffmpeg counts as stalled (watchdog). */
    stallTimeoutSeconds: z.number().min(2).max(600).default(10),
    /** Cameras one worker process records at most. */
    concurrency: z.number().int().min(1).max(256).default(16),
    /** Defaults for every camera's ring buffer. */
    retention: RetentionSchema.default({}),
    /** Free space to keep on the recordings filesystem: "5%" or a size. */
    minFreeDisk: z
      .union([z.string(), z.number()])
      .default('5%')
      .transform((v, ctx) => {
        try {
          return parseFreeDiskFloor(v);
        } catch (e) {
          ctx.addIssue({ code: 'custom', message: (e as Error).message });
          return z.NEVER;
        }
      }),
    /** How often the prune job runs. */
    pruneEverySeconds: z.number().int().min(5).max(86_400).default(60),
    /**
     * shared: every worker sees the same recordingsDir (NFS / a shared volume);
     * local: each worker host has its own disk, and file jobs (verify, repair,
     * prune) run on the host that wrote the file.
     */
    storage: z.enum(['shared', 'local']).default('shared'),
    repair: z
      .object({
        /** After trimming a cut fragmented segment, also remux it to a regular fast-start MP4. */
        remuxFragmented: z.boolean().default(false),
        /** Prove a repaired file plays by decoding every frame (slow) instead of the sample check + first/last GOP decode. */
        fullDecode: z.boolean().default(false),
      })
      .strict()
      .default({ remuxFragmented: false, fullDecode: false }),
    /** An empty `cameras:` (everything commented out) means none. */
    cameras: z.preprocess((v) => v ?? [], z.array(CameraSchema)),
    /** Off-site copies of every closed segment. */
    replicas: z.preprocess((v) => v ?? [], z.array(ReplicaSchema)),
    /** Accept uploads from other installations (their `replicas:` of type http). */
    receive: ReceiveSchema.default({ tokens: [], maxBytes: 2 * 1024 ** 3, liveIdle: 20 }),
    alerts: AlertsSchema.default({ offlineAfterSeconds: 30, minIntervalSeconds: 60, diskNearlyFullPercent: 97, targets: [] }),
  })
  .strict();

export type CameraConfigInput = z.input<typeof CameraSchema>;
export type RawConfig = z.output<typeof ConfigSchema>;

/** A camera after defaults are applied. */
export interface RetentionLimits {
  /** Seconds. */
  maxAgeSeconds?: number;
  maxBytes?: number;
}

export interface CameraConfig {
  id: string;
  name?: string;
  /** The URL with credentials. Never put it in job data, Redis or logs. */
  url: string;
  segmentSeconds: number;
  audio: AudioMode;
  enabled: boolean;
  /** Camera limits merged over the global ones. */
  retention: RetentionLimits;
}

export interface RecorderConfig {
  /** Absolute path of the file this came from (or "<built-in>"). */
  file: string;
  /** Absolute path. */
  recordingsDir: string;
  segmentSeconds: number;
  stallTimeoutSeconds: number;
  concurrency: number;
  retention: RetentionLimits;
  minFreeDisk: FreeDiskFloor;
  pruneEverySeconds: number;
  storage: 'shared' | 'local';
  repair: { remuxFragmented: boolean; fullDecode: boolean };
  cameras: CameraConfig[];
  replicas: ReplicaConfig[];
  receive: ReceiveConfig;
  alerts: AlertsConfig;
}

export type { DirectoryReplica, HttpReplica, ReplicaConfig } from './replicas.js';

export interface ReceiveToken {
  id: string;
  token: string;
  cameraPrefix: string;
}
export interface ReceiveConfig {
  tokens: ReceiveToken[];
  maxBytes: number;
  /** Seconds of silence after which a live copy is stored as it is (the sender's box is gone). */
  liveIdleSeconds: number;
}

export interface AlertTarget {
  id: string;
  type: 'webhook' | 'ntfy';
  url: string;
  headers: Record<string, string>;
  /** undefined = every event. */
  events?: AlertEventType[];
}
export interface AlertsConfig {
  offlineAfterSeconds: number;
  minIntervalSeconds: number;
  diskNearlyFullPercent: number;
  targets: AlertTarget[];
}

export type { FreeDiskFloor };
