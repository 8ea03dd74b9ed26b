import net from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { probeRtsp } from './rtsp-probe.js';

const servers: net.Server[] = [];
async function server(onData: (s: net.Socket, text: string) => void): Promise<number> {
  const srv = net.createServer((s) => s.on('data', (c) => onData(s, c.toString())));
  servers.push(srv);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  return (srv.address() as net.AddressInfo).port;
}

describe('probeRtsp', () => {
  afterAll(() => servers.forEach((s) => s.close()));

  it('true when the camera answers (even 401), without sending credentials', async () => {
    let seen = '';
    const port = await server((s, t) => {
      seen += t;
      s.write('RTSP/1.0 401 Unauthorized\r\nCSeq: 1\r\n\r\n');
    });
    expect(await probeRtsp(`rtsp://admin:Secret123@127.0.0.1:${port}/stream1`)).toBe(true);
    expect(seen).toMatch(/^OPTIONS rtsp:\/\/127\.0\.0\.1:\d+\/stream1 RTSP\/1\.0/);
    expect(seen).not.toContain('Secret123');
    expect(seen).not.toContain('admin');
  });

  it('false when it accepts but says nothing (frozen), or nothing listens', async () => {
    const port = await server(() => {});
    expect(await probeRtsp(`rtsp://127.0.0.1:${port}/stream1`, 300)).toBe(false);
    const closed = await server(() => {});
    servers.at(-1)!.close();
    expect(await probeRtsp(`rtsp://127.0.0.1:${closed}/x`, 300)).toBe(false);
    expect(await probeRtsp('not a url')).toBe(false);
  });
});
