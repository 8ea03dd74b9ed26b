import { z } from 'zod';

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
    cameras: z.array(CameraSchema).default([]),
  })
  .strict();

export type CameraConfigInput = z.input<typeof CameraSchema>;
export type RawConfig = z.output<typeof ConfigSchema>;

/** A camera after defaults are applied. */
export interface CameraConfig {
  id: string;
  name?: string;
  /** The URL with credentials. Never put it in job data, Redis or logs. */
  url: string;
  segmentSeconds: number;
  audio: AudioMode;
  enabled: boolean;
}

export interface RecorderConfig {
  /** Absolute path of the file this came from (or "<built-in>"). */
  file: string;
  /** Absolute path. */
  recordingsDir: string;
  segmentSeconds: number;
  stallTimeoutSeconds: number;
  concurrency: number;
  cameras: CameraConfig[];
}
