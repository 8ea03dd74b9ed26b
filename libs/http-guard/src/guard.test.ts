import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createHostAllowList, hostnameOf, parseAllowedHosts } from './host-allow.js';
import { LoginThrottle } from './login-throttle.js';
import { LruMap } from './lru.js';
import { crossSiteReason, hasNonJsonBody } from './same-origin.js';
import { closeAfterAnswer, guardServer, serverOptions } from './server-guard.js';

describe('host allow-list', () => {
  const hosts = createHostAllowList(parseAllowedHosts('cams.example.org, *.home.arpa'));
  it.each([
    ['127.0.0.1:3000', true],
    ['127.9.9.9', true],
    ['localhost:3000', true],
    ['LOCALHOST.', true],
    ['app.localhost:3000', true],
    ['[::1]:3000', true],
    ['192.168.1.20:3000', true],
    ['cams.example.org', true],
    ['Cams.Example.Org:443', true],
    ['box.home.arpa', true],
    ['home.arpa', false],
    ['evil.example:3000', false],
    ['evil.example', false],
    ['localhost.evil.example', false],
    ['cams.example.org.evil.example', false],
    ['127.0.0.1.nip.io', false],
    ['[::1', false],
    ['a b', false],
    ['', false],
  ])('%s → %s', (h, ok) => expect(hosts.allows(h)).toBe(ok));
  it('a missing Host is refused; * allows any', () => {
    expect(hosts.allows(undefined)).toBe(false);
    expect(createHostAllowList(parseAllowedHosts('*')).allows('evil.example')).toBe(true);
  });
  it('bad BOARD_ALLOWED_HOSTS entries are one-line errors naming the entry', () => {
    expect(() => parseAllowedHosts('https://cams.example.org')).toThrow(/BOARD_ALLOWED_HOSTS: "https:\/\/cams.example.org" is not a host name/);
    expect(() => parseAllowedHosts('cams.example.org:443')).toThrow(/not a host name/);
  });
  it('hostnameOf strips port, brackets and the trailing dot', () => {
    expect(hostnameOf('Example.ORG.:80')).toBe('example.org');
    expect(hostnameOf('[::1]:80')).toBe('::1');
    expect(hostnameOf('[::1]x')).toBeUndefined();
  });
});

describe('cross-site requests', () => {
  const hosts = createHostAllowList(['cams.example.org']);
  const h = (o: Record<string, string>) => ({ host: '127.0.0.1:3000', ...o });
  it('GET and HEAD always pass', () => {
    expect(crossSiteReason('GET', h({ origin: 'http://evil.example', 'sec-fetch-site': 'cross-site' }), hosts)).toBeUndefined();
    expect(crossSiteReason('HEAD', h({ 'sec-fetch-site': 'cross-site' }), hosts)).toBeUndefined();
  });
  it.each([
    [{ 'sec-fetch-site': 'cross-site' }, /Sec-Fetch-Site: cross-site/],
    [{ 'sec-fetch-site': 'same-site', origin: 'http://127.0.0.1:8080' }, /same-site/],
    [{ origin: 'http://evil.example' }, /Origin evil.example/],
    [{ origin: 'null' }, /Origin "null"/],
    [{ origin: 'http://127.0.0.1:8080' }, /127.0.0.1:8080 is not this board/],
    [{ referer: 'http://evil.example/page' }, /Referer evil.example/],
  ])('POST with %o is refused', (extra, re) => {
    expect(crossSiteReason('POST', h(extra), hosts)).toMatch(re);
    expect(crossSiteReason('PUT', h(extra), hosts)).toMatch(re);
  });
  it.each([
    [{}],
    [{ 'sec-fetch-site': 'same-origin', origin: 'http://127.0.0.1:3000' }],
    [{ 'sec-fetch-site': 'none' }],
    [{ origin: 'http://127.0.0.1:3000' }],
    [{ referer: 'http://127.0.0.1:3000/queues/' }],
    [{ origin: 'https://cams.example.org' }],
  ])('POST with %o passes', (extra) => {
    expect(crossSiteReason('POST', h(extra), hosts)).toBeUndefined();
  });
  it('a body that is not JSON is told apart', () => {
    expect(hasNonJsonBody({ 'content-type': 'text/plain', 'content-length': '2' })).toBe(true);
    expect(hasNonJsonBody({ 'content-type': 'application/x-www-form-urlencoded', 'transfer-encoding': 'chunked' })).toBe(true);
    expect(hasNonJsonBody({ 'content-type': 'application/json; charset=utf-8', 'content-length': '2' })).toBe(false);
    expect(hasNonJsonBody({ 'content-length': '0' })).toBe(false);
    expect(hasNonJsonBody({})).toBe(false);
  });
});

describe('login throttle', () => {
  it('5 free failures, then waits doubling from 1 s; attempts while waiting are refused; a success clears', () => {
    const t = new LoginThrottle();
    let now = 1_000_000;
    const waits: number[] = [];
    for (let i = 0; i < 8; i++) {
      expect(t.waitMs('a', now)).toBe(0);
      const f = t.failure('a', now);
      expect(f.firstOfBurst).toBe(i === 0);
      waits.push(f.waitMs);
      now += f.waitMs;
    }
    expect(waits).toEqual([0, 0, 0, 0, 0, 1000, 2000, 4000]);
    t.failure('a', now);
    expect(t.waitMs('a', now + 1000)).toBe(7000);
    expect(t.waitMs('b', now)).toBe(0); // per client
    t.success('a');
    expect(t.waitMs('a', now)).toBe(0);
  });
  it('300 wrong passwords in 13 s get through as at most 9 password checks', () => {
    const t = new LoginThrottle();
    let checked = 0;
    for (let i = 0; i < 300; i++) {
      const now = i * 43;
      if (t.waitMs('x', now) > 0) continue;
      checked++;
      t.failure('x', now);
    }
    expect(checked).toBeLessThanOrEqual(9);
  });
  it('waits are capped and bursts end after quiet; the ended burst is reported once', () => {
    const t = new LoginThrottle({ maxDelayMs: 60_000, burstEndsAfterMs: 120_000 });
    let now = 0;
    for (let i = 0; i < 40; i++) now += t.failure('x', now).waitMs;
    expect(t.failure('x', now).waitMs).toBe(60_000);
    expect(t.sweep(now + 10_000)).toEqual([]);
    const ended = t.sweep(now + 200_000);
    expect(ended).toHaveLength(1);
    expect(ended[0]).toMatchObject({ client: 'x', failures: 41 });
    expect(t.failure('x', now + 200_000).firstOfBurst).toBe(true);
  });
  it('tracks at most maxClients addresses', () => {
    const t = new LoginThrottle({ maxClients: 100 });
    for (let i = 0; i < 10_000; i++) t.failure(`10.0.${i >> 8}.${i & 255}`, i);
    expect(t.size).toBe(100);
  });
});

describe('LruMap', () => {
  it('keeps the most recently used max entries', () => {
    const m = new LruMap<string, number>(3);
    m.set('a', 1).set('b', 2).set('c', 3);
    m.get('a');
    m.set('d', 4);
    expect(m.get('b')).toBeUndefined();
    expect([m.get('a'), m.get('c'), m.get('d')]).toEqual([1, 3, 4]);
    expect(m.size).toBe(3);
  });
});

describe('server guard (in-process HTTP server)', () => {
  let server: http.Server | undefined;
  const sockets: net.Socket[] = [];
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    server?.closeAllConnections();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    server = undefined;
  });

  const start = async (guard: Parameters<typeof guardServer>[1], handler: http.RequestListener = (_q, s) => s.end('ok')) => {
    server = http.createServer(serverOptions(guard), handler);
    const g = guardServer(server, guard);
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    return { port: (server.address() as net.AddressInfo).port, guard: g };
  };

  /** Opens a socket, writes `head`, then one byte every `everyMs`; resolves when the server closes it. */
  const trickle = (port: number, head: string, everyMs: number, localAddress?: string) =>
    new Promise<{ closedAfterMs: number; answer: string }>((resolve) => {
      const t0 = Date.now();
      let answer = '';
      const c = net.connect({ port, host: '127.0.0.1', ...(localAddress ? { localAddress } : {}) }, () => c.write(head));
      sockets.push(c);
      const iv = setInterval(() => !c.destroyed && c.write('x'), everyMs);
      c.on('data', (d) => (answer += d.toString()));
      c.on('error', () => {});
      c.on('close', () => {
        clearInterval(iv);
        resolve({ closedAfterMs: Date.now() - t0, answer: answer.split('\r\n')[0] ?? '' });
      });
    });

  it('a body trickled 1 byte / 100 ms is cut at the request deadline with 408', async () => {
    const { port, guard } = await start({ requestTimeoutMs: 1000 }, (req, res) => {
      req.on('end', () => res.end('ok'));
      req.resume();
    });
    const r = await trickle(port, 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n', 100);
    console.log(`[measure] trickled body cut after ${r.closedAfterMs} ms (deadline 1000 ms)`);
    expect(r.answer).toBe('HTTP/1.1 408 Request Timeout');
    expect(r.closedAfterMs).toBeGreaterThanOrEqual(900);
    expect(r.closedAfterMs).toBeLessThan(5000);
    expect(guard.counters().timedOutRequests).toBe(1);
  });

  it('an upload gets a minimum rate instead: a fast one passes the deadline, a slow one is cut', async () => {
    const { port, guard } = await start(
      { requestTimeoutMs: 500, isUpload: (req) => req.url === '/up', minUploadBytesPerSecond: 1000, rateWindowMs: 500 },
      (req, res) => {
        let n = 0;
        req.on('data', (c: Buffer) => (n += c.length));
        req.on('end', () => res.end(String(n)));
      },
    );
    // 4 KB at ~4 KB/s (2 s, four deadlines long): passes.
    const fast = await new Promise<string>((resolve, reject) => {
      const req = http.request({ port, host: '127.0.0.1', path: '/up', method: 'PUT', headers: { 'content-length': '4000' } }, (res) => {
        let b = '';
        res.on('data', (d) => (b += d));
        res.on('end', () => resolve(b));
      });
      req.on('error', reject);
      let sent = 0;
      const iv = setInterval(() => {
        req.write(Buffer.alloc(200));
        sent += 200;
        if (sent >= 4000) {
          clearInterval(iv);
          req.end();
        }
      }, 50);
    });
    expect(fast).toBe('4000');
    const slow = await trickle(port, 'PUT /up HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n', 100);
    expect(slow.answer).toBe('HTTP/1.1 408 Request Timeout');
    expect(slow.closedAfterMs).toBeLessThan(3000);
    expect(guard.counters().slowUploads).toBe(1);
  });

  it('headers trickled are cut by the headers timeout', async () => {
    const { port } = await start({ headersTimeoutMs: 1000, requestTimeoutMs: 1000 });
    const r = await trickle(port, 'GET / HTTP/1.1\r\nX-Slow: ', 100);
    expect(r.closedAfterMs).toBeLessThan(4000);
  });

  it('a refusal closes the connection while the client still sends its body', async () => {
    const { port } = await start({}, (req, res) => {
      closeAfterAnswer(req, res);
      res.statusCode = 401;
      res.end('no');
    });
    const r = await trickle(port, 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n', 100);
    expect(r.answer).toBe('HTTP/1.1 401 Unauthorized');
    expect(r.closedAfterMs).toBeLessThan(2000);
  });

  it('connections are capped per client address; another address is still served', async () => {
    const { port, guard } = await start({ maxConnectionsPerClient: 10, maxConnections: 50 });
    const open: net.Socket[] = [];
    for (let i = 0; i < 200; i++) {
      const c = net.connect(port, '127.0.0.1');
      c.on('error', () => {});
      sockets.push(c);
      open.push(c);
    }
    await new Promise((r) => setTimeout(r, 500));
    expect(open.filter((s) => !s.destroyed).length).toBe(10);
    expect(guard.connections().get('127.0.0.1')).toBe(10);
    const other = await new Promise<string>((resolve) => {
      const c = net.connect({ port, host: '127.0.0.1', localAddress: '127.0.0.2' }, () => c.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
      sockets.push(c);
      let d = '';
      c.on('data', (x) => (d += x));
      c.on('close', () => resolve(d));
    });
    expect(other).toMatch(/^HTTP\/1.1 200/);
    expect(guard.counters().refusedConnections).toBe(190);
  });
});
