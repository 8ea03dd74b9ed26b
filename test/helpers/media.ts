import { spawn } from 'node:child_process';
import { execa } from 'execa';

const SRC = ['-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=15', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=8000'];
const ENC = ['-c:v', 'libx264', '-preset', 'ultrafast', '-g', '30', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '32k'];

/** A fragmented MP4 like the recorder writes (empty_moov, a fragment per keyframe / 0.5 s). */
export async function makeFragmented(out: string, seconds = 6): Promise<void> {
  await execa('ffmpeg', ['-v', 'error', '-y', ...SRC, ...ENC, '-t', String(seconds), '-movflags', '+frag_keyframe+empty_moov+default_base_moof', '-frag_duration', '500000', '-f', 'mp4', out]);
}

/** A plain MP4 (moov at the end). */
export async function makePlain(out: string, seconds = 6): Promise<void> {
  await execa('ffmpeg', ['-v', 'error', '-y', ...SRC, ...ENC, '-t', String(seconds), '-f', 'mp4', out]);
}

/** A plain MP4 whose ffmpeg was killed with -9 while writing (no moov). */
export async function makeKilledPlain(out: string, afterMs = 3000): Promise<void> {
  const child = spawn('ffmpeg', ['-v', 'error', '-y', '-re', ...SRC, ...ENC, '-t', '30', '-f', 'mp4', out], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, afterMs));
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
}
