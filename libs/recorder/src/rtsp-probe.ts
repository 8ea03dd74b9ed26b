import net from 'node:net';

/**
 * Does an RTSP server answer at this URL's host and port? Sends OPTIONS (no
 * credentials) and waits for any "RTSP/1.0" reply, a 401 included: the camera
 * is back. A frozen or unplugged camera does not answer within `timeoutMs`.
 */
export function probeRtsp(url: string, timeoutMs = 1000): Promise<boolean> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return Promise.resolve(false);
  }
  const port = Number(u.port || (u.protocol === 'rtsps:' ? 322 : 554));
  const target = `${u.protocol}//${u.host}${u.pathname}`;
  return new Promise((resolve) => {
    const sock = net.connect({ host: u.hostname, port });
    let done = false;
    const finish = (ok: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    sock.once('error', () => finish(false));
    sock.once('connect', () => sock.write(`OPTIONS ${target} RTSP/1.0\r\nCSeq: 1\r\nUser-Agent: tapo-recorder-probe\r\n\r\n`));
    let buf = '';
    sock.on('data', (c: Buffer) => {
      buf += c.toString('latin1');
      if (buf.includes('RTSP/1.0')) finish(true);
    });
  });
}
