// Builds the app bundles (dist/*.mjs) once before the integration tests, so
// they run what `npm start` and the services run.
import { execFileSync } from 'node:child_process';
import path from 'node:path';

export default function setup(): void {
  execFileSync(process.execPath, [path.resolve(import.meta.dirname, '..', 'scripts', 'build.mjs')], { stdio: 'inherit' });
}
