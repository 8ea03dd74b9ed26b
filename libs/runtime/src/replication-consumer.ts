import type { RecorderConfig } from '@tapo/config';
import { enqueueReplicas, type ReplicateQueues } from '@tapo/replication';
import type { SegmentConsumer } from '@tapo/segment-lifecycle';

/**
 * The segment consumer that gives every playable segment one replicate job per
 * target that wants it (newest first). Segments received from another
 * installation are not sent on (as before the lifecycle: two installations
 * replicating to each other must not bounce every segment back).
 */
export function replicationConsumer(deps: { queues: ReplicateQueues; getConfig(): RecorderConfig }): SegmentConsumer {
  return {
    name: 'replication',
    async playable(seg) {
      if (seg.how === 'received') return;
      const config = deps.getConfig();
      if (config.replicas.length === 0) return;
      await enqueueReplicas({
        queues: (id) => deps.queues.get(id),
        config,
        cameraId: seg.cameraId,
        segment: { file: seg.file, startMs: seg.startMs, durationMs: seg.durationMs, bytes: seg.bytes, host: seg.host },
      });
    },
  };
}
