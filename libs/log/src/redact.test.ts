import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, redactDeep, redactText, redactUrl, registerSecrets, registerUrlSecrets } from './index.js';

describe('redaction', () => {
  it('removes user:pass@ from URLs', () => {
    expect(redactUrl('rtsp://admin:hunter2@192.168.1.20:554/stream1')).toBe('rtsp://***@192.168.1.20:554/stream1');
    expect(redactUrl('rtsp://user@h/s')).toBe('rtsp://***@h/s');
    expect(redactUrl('rtsp://192.168.1.20/stream1')).toBe('rtsp://192.168.1.20/stream1');
    expect(redactUrl("Input #0, rtsp, from 'rtsp://a:b%40c@h/s':")).toBe("Input #0, rtsp, from 'rtsp://***@h/s':");
    expect(redactUrl('two rtsp://a:b@h1/x and rtsps://c:d@h2/y')).toBe('two rtsp://***@h1/x and rtsps://***@h2/y');
    expect(redactUrl('redis://:pw@127.0.0.1:6379')).toBe('redis://***@127.0.0.1:6379');
  });

  it('removes registered passwords anywhere, also percent-encoded', () => {
    registerUrlSecrets('rtsp://camuser:p%40ss-w0rd@h/s');
    expect(redactText('password p@ss-w0rd was wrong')).toBe('password *** was wrong');
    expect(redactText('encoded p%40ss-w0rd')).toBe('encoded ***');
    // The user name alone is not a secret (it would redact ordinary words).
    expect(redactText('camuser')).toBe('camuser');
    registerSecrets('ab'); // too short to register
    expect(redactText('abc')).toBe('abc');
  });

  it('redacts deeply, including errors', () => {
    const out = redactDeep({ a: ['rtsp://x:y@h/s'], e: new Error('rtsp://x:y@h/s failed'), n: 1 });
    expect(out.a[0]).toBe('rtsp://***@h/s');
    expect(out.e.message).toBe('rtsp://***@h/s failed');
    expect(out.n).toBe(1);
  });

  it('the logger never writes a credential', () => {
    let written = '';
    const dest = new Writable({
      write(chunk, _enc, cb) {
        written += chunk.toString();
        cb();
      },
    });
    registerSecrets('Zq9-topsecret');
    const log = createLogger({ name: 't', destination: dest, pretty: false });
    log.info({ url: 'rtsp://a:Zq9-topsecret@h/s', nested: { msg: 'pw Zq9-topsecret' } }, 'opening rtsp://a:Zq9-topsecret@h/s');
    log.error({ err: new Error('failed rtsp://a:Zq9-topsecret@h/s') }, 'boom');
    expect(written).not.toContain('Zq9-topsecret');
    expect(written).toContain('rtsp://***@h/s');
  });
});
