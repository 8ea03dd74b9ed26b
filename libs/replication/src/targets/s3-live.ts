// Live copies to an S3-compatible bucket: the segment being recorded goes up as small chunk objects
// `<copy name>.live/<offset>-<end>` (each sealed on its own when the target encrypts), at most one
// request per camera per chunkSeconds. No finish: the closed segment's whole-object upload (the
// replicate job) is the join, and deletes the chunks (s3.ts). After a theft the chunks are what
// `recorder restore` joins.
import { sealBuffer } from '@tapo/replica-crypto';
import { copyName, liveChunkName, liveChunkPrefix, sealContext } from './copy-names.js';
import { listS3Objects, s3ClientFor, s3Errors, s3Naming, type S3Replica } from './s3.js';
import type { LiveTarget } from './target.js';

/** Default seconds between two chunks of one camera. */
export const DEFAULT_CHUNK_SECONDS = 2;

export function s3LiveTarget(config: S3Replica): LiveTarget {
  const naming = s3Naming(config);
  const { classify } = s3Errors(config);
  const chunkSeconds = config.chunkSeconds ?? DEFAULT_CHUNK_SECONDS;
  /**
   * The last chunk of a closed segment can reach the bucket after the segment's whole upload (the
   * join) deleted its chunks: when the whole copy is there, its chunks go now. Best effort (the
   * prune deletes chunk sets whose whole copy exists).
   */
  const joinIfWhole = async (cameraId: string, fileName: string): Promise<void> => {
    try {
      const { sdk, client } = await s3ClientFor(config);
      const there = await client.send(new sdk.HeadObjectCommand({ Bucket: config.bucket, Key: copyName(naming, cameraId, fileName) })).then(
        () => true,
        (e: { $metadata?: { httpStatusCode?: number } }) => {
          if (e.$metadata?.httpStatusCode === 404) return false;
          throw e;
        },
      );
      if (!there) return;
      const keys: { Key: string }[] = [];
      for await (const o of listS3Objects(sdk, client, config.bucket, liveChunkPrefix(naming, cameraId, fileName))) keys.push({ Key: o.key });
      if (keys.length) await client.send(new sdk.DeleteObjectsCommand({ Bucket: config.bucket, Delete: { Objects: keys, Quiet: true } }));
    } catch {
      /* the prune retries */
    }
  };
  return {
    minIntervalMs: chunkSeconds * 1000,
    async append(chunk) {
      const end = chunk.offset + chunk.bytes.length;
      const key = liveChunkName(naming, chunk.cameraId, chunk.fileName, chunk.offset, end);
      const enc = config.encryption;
      const body = enc ? sealBuffer(enc.key, sealContext(chunk.cameraId, chunk.fileName, chunk.offset), chunk.bytes) : chunk.bytes;
      try {
        const { sdk, client } = await s3ClientFor(config);
        await client.send(
          new sdk.PutObjectCommand({
            Bucket: config.bucket,
            Key: key,
            Body: body,
            ContentLength: body.length,
            ContentType: 'application/octet-stream',
            // an unfinished segment: what it is, for someone looking at the bucket (nothing with hideNames)
            Metadata: enc ? { 'tapo-key-id': enc.key.id } : { camera: chunk.cameraId, 'live-offset': String(chunk.offset) },
          }),
        );
      } catch (e) {
        throw classify(e, 'PUT live chunk', key);
      }
      if (chunk.last) await joinIfWhole(chunk.cameraId, chunk.fileName);
      return { held: end, final: false };
    },
  };
}
