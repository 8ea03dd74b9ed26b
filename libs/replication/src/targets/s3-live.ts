// Live copies to an S3-compatible bucket: the segment being recorded goes up as small chunk objects
// `<copy name>.live/<offset>-<end>` (each sealed on its own when the target encrypts), at most one
// request per camera per chunkSeconds. No finish: the closed segment's whole-object upload (the
// replicate job) is the join, and deletes the chunks (s3.ts). After a theft the chunks are what
// `recorder restore` joins.
import { sealBuffer } from '@tapo/replica-crypto';
import { ReplicationRejectedError, TargetDownError, isNetworkDownError, isRetryableStatus, messageOf } from '../errors.js';
import { liveChunkName, sealContext } from './copy-names.js';
import { s3ClientFor, s3Naming, type S3Replica } from './s3.js';
import type { LiveTarget } from './target.js';

/** Default seconds between two chunks of one camera. */
export const DEFAULT_CHUNK_SECONDS = 2;

export function s3LiveTarget(config: S3Replica): LiveTarget {
  const naming = s3Naming(config);
  const secrets = [config.secretAccessKey, config.accessKeyId].filter(Boolean);
  const scrub = (t: string) => secrets.reduce((acc, s) => acc.split(s).join('***'), t);
  const chunkSeconds = (config as S3Replica & { chunkSeconds?: number }).chunkSeconds ?? DEFAULT_CHUNK_SECONDS;
  return {
    minIntervalMs: chunkSeconds * 1000,
    async append(chunk) {
      const end = chunk.offset + chunk.bytes.length;
      const key = liveChunkName(naming, chunk.cameraId, chunk.fileName, chunk.offset, end);
      const enc = config.encryption;
      const body = enc ? sealBuffer(enc.key, sealContext(chunk.cameraId, chunk.fileName, chunk.offset), chunk.bytes) : chunk.bytes;
      const label = `replica "${config.id}" (s3 live chunk s3://${config.bucket}/${key} at ${config.endpoint})`;
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
        const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
        const text = scrub(messageOf(e));
        if (status === undefined) throw new TargetDownError(`${label}: ${isNetworkDownError(e) ? 'unreachable' : 'no answer'}: ${text}`, config.id, { cause: e });
        if (isRetryableStatus(status)) throw new TargetDownError(`${label}: HTTP ${status}: ${text}`, config.id, { cause: e });
        throw new ReplicationRejectedError(`${label}: refused with HTTP ${status}: ${text}`, config.id, status);
      }
      return { held: end, final: false };
    },
  };
}
