import { createRequire } from 'node:module';
import type net from 'node:net';
import path from 'node:path';
import { ListObjectsV2Command, S3Client, GetObjectCommand } from '@aws-sdk/client-s3';
import { joinChunks } from '@tapo/replication';

interface S3rverServer {
  run(): Promise<net.AddressInfo>;
  close(): Promise<void>;
}
type S3rverCtor = new (options: { port: number; address: string; silent: boolean; directory: string; configureBuckets: { name: string }[] }) => S3rverServer;
// s3rver has no type declarations.
const S3rver = createRequire(import.meta.url)('s3rver') as S3rverCtor;

/** s3rver's one key pair. */
export const S3RVER_KEYS = { S3_KEY_ID: 'S3RVER', S3_SECRET: 'S3RVER' };

/** An S3-speaking server on loopback (s3rver) with one bucket, and a client to look into it. */
export async function startS3rver(dir: string, bucket: string, opts: { port?: number } = {}) {
  const server = new S3rver({ port: opts.port ?? 0, address: '127.0.0.1', silent: true, directory: path.join(dir, 's3'), configureBuckets: [{ name: bucket }] });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: S3RVER_KEYS.S3_KEY_ID, secretAccessKey: S3RVER_KEYS.S3_SECRET } });
  const list = async (prefix = ''): Promise<{ key: string; size: number }[]> => {
    const out: { key: string; size: number }[] = [];
    let token: string | undefined;
    do {
      const r = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
      for (const o of r.Contents ?? []) out.push({ key: o.Key!, size: o.Size ?? 0 });
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
    return out.sort((x, y) => x.key.localeCompare(y.key));
  };
  const get = async (key: string): Promise<Buffer> => Buffer.from(await (await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToByteArray());
  /**
   * The live chunks below `chunkPrefix` (`<copy>.live/`, plain) joined from byte 0 the way
   * `recorder restore` joins them; with how many chunk objects there were.
   */
  const joinedLive = async (chunkPrefix: string): Promise<{ bytes: Buffer; chunks: number }> => {
    const objects = await list(chunkPrefix);
    const chunks = await Promise.all(
      objects.map(async (o) => {
        const [offset, end] = o.key.slice(chunkPrefix.length).split('-').map(Number) as [number, number];
        return { offset, end, bytes: await get(o.key) };
      }),
    );
    const plan = joinChunks(chunks);
    return { bytes: Buffer.concat(plan.pieces.map((p) => p.chunk.bytes.subarray(p.from - p.chunk.offset, p.to - p.chunk.offset))), chunks: objects.length };
  };
  return {
    endpoint,
    joinedLive,
    port,
    client,
    list,
    get,
    async close() {
      client.destroy();
      await server.close();
    },
  };
}
