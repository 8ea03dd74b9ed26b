import type { Redis } from 'ioredis';
import type { RecorderConfig, ReplicaConfig } from '@tapo/config';
import type { Logger } from '@tapo/log';
import type { LiveFragmentHub } from '@tapo/live-fragments';
import { LiveSender, createReplicaTarget, liveReplicationKey, type LiveSenderStats, type LiveTarget } from '@tapo/replication';

export interface LiveReplicationOptions {
  hub: LiveFragmentHub;
  getConfig(): RecorderConfig;
  logger: Logger;
  /** Where the senders' figures go for the board (every publishMs). */
  redis?: Redis;
  prefix?: string;
  publishMs?: number;
}

/** Whether a target gets this camera's live copy now (the live config decides, per call). */
function wants(r: ReplicaConfig, cameraId: string): boolean {
  return r.type !== 'directory' && r.live && (!r.cameras || r.cameras.includes(cameraId));
}

/**
 * The live copies of a worker process: for every camera it records and every replica target that
 * can hold a live segment (http, s3), one LiveSender subscribed to the camera's live fragment
 * stream. Senders are made when a camera's segment opens here and follow the live config (a
 * removed target or camera makes its sender idle). Their figures (lag behind live, bytes,
 * requests) are published to Redis for the board.
 */
export class LiveReplication {
  private readonly senders = new Map<string, { sender: LiveSender; unsubscribe(): void }>();
  /** Live targets by config entry (made once per entry object: a config reload makes new ones). */
  private readonly targets = new WeakMap<ReplicaConfig, LiveTarget | null>();
  private readonly timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly opts: LiveReplicationOptions) {
    if (opts.redis && opts.prefix) {
      this.timer = setInterval(() => void this.publish().catch(() => {}), opts.publishMs ?? 5000);
      this.timer.unref();
    }
  }

  /** A SegmentEvents sink: a segment opening here makes sure the camera's senders exist. */
  readonly segmentEvents = {
    opened: (cameraId: string): void => {
      if (!this.closed) this.ensure(cameraId);
    },
  };

  private liveTarget(entry: ReplicaConfig): LiveTarget | undefined {
    let t = this.targets.get(entry);
    if (t === undefined) {
      t = createReplicaTarget(entry).live ?? null;
      this.targets.set(entry, t);
    }
    return t ?? undefined;
  }

  ensure(cameraId: string): void {
    for (const entry of this.opts.getConfig().replicas) {
      if (!wants(entry, cameraId) || !this.liveTarget(entry)) continue;
      const key = `${entry.id}|${cameraId}`;
      if (this.senders.has(key)) continue;
      const targetId = entry.id;
      const sender = new LiveSender({
        targetId,
        cameraId,
        target: () => {
          const now = this.opts.getConfig().replicas.find((r) => r.id === targetId);
          return now && wants(now, cameraId) ? this.liveTarget(now) : undefined;
        },
        logger: this.opts.logger,
      });
      // the sender reads the bytes from the file: the events it queues are small notices
      const unsubscribe = this.opts.hub.stream(cameraId).subscribe(sender.consume, { maxQueuedBytes: 64 * 1024 * 1024 });
      this.senders.set(key, { sender, unsubscribe });
      this.opts.logger.debug({ target: targetId, camera: cameraId }, `live copy of ${cameraId} to replica "${targetId}" started`);
    }
  }

  stats(): LiveSenderStats[] {
    return [...this.senders.values()].map((s) => s.sender.stats());
  }

  private async publish(): Promise<void> {
    const { redis, prefix } = this.opts;
    if (!redis || !prefix || this.senders.size === 0) return;
    const at = Date.now();
    const fields: string[] = [];
    for (const s of this.stats()) fields.push(`${s.targetId}|${s.cameraId}`, JSON.stringify({ ...s, at }));
    await redis.hset(liveReplicationKey(prefix), ...fields);
  }

  /**
   * Stops the senders. Called after the recorder stopped its ffmpegs: the last segments' ends and
   * finishes get up to `drainMs` to go out first (a graceful stop leaves nothing to the catch-up).
   */
  async close(drainMs = 3000): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    // the streams report the segments' ends a poll period after ffmpeg closed them
    if (this.senders.size) await new Promise((r) => setTimeout(r, 400));
    await Promise.all([...this.senders.values()].map((s) => s.sender.drain(drainMs)));
    await this.publish().catch(() => {});
    for (const { sender, unsubscribe } of this.senders.values()) {
      unsubscribe();
      await sender.close();
    }
    this.senders.clear();
  }
}
