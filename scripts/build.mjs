// Bundles each app (apps/<name>/src/main.ts, the @tapo/* libs it uses and
// the npm packages they import) into one minified dist/<name>.mjs, run by
// plain node. No TypeScript loader at run time saves ~30 MB per process (tsx's
// loader thread); one minified file instead of hundreds of node_modules files
// saves several MB more (V8 keeps every module's source text in memory: the
// worker's live heap went from ~17.7 to ~14.0 MB). Packages that find files
// beside their own code at run time stay external (loaded from node_modules):
// pino's transports (worker threads started by file name) and Bull Board (its
// UI's static files), with express alongside it. Takes about a second.
//   node scripts/build.mjs            all apps
//   node scripts/build.mjs worker     one app
import { build } from 'esbuild';
import { readdirSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const wanted = process.argv.slice(2);
const apps = readdirSync(path.join(root, 'apps')).filter(
  (a) => existsSync(path.join(root, 'apps', a, 'src', 'main.ts')) && (wanted.length === 0 || wanted.includes(a)),
);

/** npm packages loaded from node_modules at run time (they read files next to their own code). */
// The S3 SDK (~650 KB) is loaded from node_modules on first use of an s3 target, so a worker without one does not hold its source.
const EXTERNAL = ['pino', 'pino-pretty', 'thread-stream', 'express', '@bull-board/api', '@bull-board/express', '@bull-board/ui', '@aws-sdk/client-s3'];
const packageName = (spec) => (spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]);
const someExternal = {
  name: 'some-npm-packages-external',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith('node:') || !EXTERNAL.includes(packageName(args.path))) return undefined;
      return { path: args.path, external: true };
    });
  },
};

const started = Date.now();
await Promise.all(
  apps.map((app) =>
    build({
      // The CLI is split: its entry answers --help alone; the commands (Redis, BullMQ, ...) are a chunk
      // loaded by a dynamic import only when one runs (`recorder --help` in ~0.1 s instead of ~0.6 s).
      ...(app === 'cli'
        ? { entryPoints: { [app]: path.join(root, 'apps', app, 'src', 'main.ts') }, outdir: path.join(root, 'dist'), splitting: true, chunkNames: 'chunks/[name]-[hash]', outExtension: { '.js': '.mjs' } }
        : { entryPoints: [path.join(root, 'apps', app, 'src', 'main.ts')], outfile: path.join(root, 'dist', `${app}.mjs`) }),
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      sourcemap: 'linked',
      // Minified, but class and function names kept: errors are told apart by name (BullMQ's UnrecoverableError, ...).
      minify: true,
      keepNames: true,
      logLevel: 'warning',
      plugins: [someExternal],
      // CommonJS packages inside an ES module bundle call require().
      banner: {
        js: `// Built from apps/${app}/src/main.ts by scripts/build.mjs: edit the sources, not this file.\nimport { createRequire as __createRequire } from 'node:module';\nconst require = __createRequire(import.meta.url);`,
      },
    }),
  ),
);
console.error(`built ${apps.map((a) => `dist/${a}.mjs`).join(', ')} in ${Date.now() - started} ms`);
