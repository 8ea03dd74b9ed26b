/**
 * CLI of the simulated camera (@tapo/sim-camera, libs/sim-camera):
 *   tsx tools/sim-camera/src/main.ts [--port 8554] [--host 127.0.0.1] [--user u --password p]
 *       [--width 1280] [--height 720] [--fps 15] [--no-audio] [--null-sprop]
 */
import { parseArgs } from 'node:util';
import { startSimCamera } from '@tapo/sim-camera';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '8554' },
    host: { type: 'string' },
    user: { type: 'string' },
    password: { type: 'string' },
    width: { type: 'string' },
    height: { type: 'string' },
    fps: { type: 'string' },
    'no-audio': { type: 'boolean', default: false },
    'null-sprop': { type: 'boolean', default: false },
  },
});

const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));

const cam = await startSimCamera({
  port: num(values.port),
  host: values.host,
  user: values.user,
  password: values.password,
  width: num(values.width),
  height: num(values.height),
  fps: num(values.fps),
  audio: !values['no-audio'],
  nullSprop: values['null-sprop'],
});

const redacted = (stream: 'stream1' | 'stream2') =>
  cam.url(stream, false).replace('rtsp://', values.user ? 'rtsp://***@' : 'rtsp://');
console.log(`sim-camera pid ${cam.pid} listening:`);
console.log(`  ${redacted('stream1')}`);
console.log(`  ${redacted('stream2')}`);

let stopping = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (stopping) return;
    stopping = true;
    void cam.stop().then(() => process.exit(0));
  });
}
const code = await cam.exited;
if (!stopping) {
  console.error(`sim-camera exited unexpectedly (code ${code})`);
  process.exit(1);
}
