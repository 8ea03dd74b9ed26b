// Bundles each app (apps/<name>/src/main.ts plus the @tapo/* libs it uses) into
// dist/<name>.mjs, run by plain node: no TypeScript loader at run time, which
// saves ~30 MB of memory per process (tsx's loader thread). npm packages stay
// external (loaded from node_modules). Takes well under a second.
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

/** Bundle our workspace libs; leave every npm package to node_modules. */
const npmPackagesExternal = {
  name: 'npm-packages-external',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith('@tapo/') || args.path.startsWith('node:')) return undefined;
      return { path: args.path, external: true };
    });
  },
};

const started = Date.now();
await Promise.all(
  apps.map((app) =>
    build({
      entryPoints: [path.join(root, 'apps', app, 'src', 'main.ts')],
      outfile: path.join(root, 'dist', `${app}.mjs`),
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      sourcemap: 'linked',
      logLevel: 'warning',
      plugins: [npmPackagesExternal],
      banner: { js: `// Built from apps/${app}/src/main.ts by scripts/build.mjs: edit the sources, not this file.` },
    }),
  ),
);
console.error(`built ${apps.map((a) => `dist/${a}.mjs`).join(', ')} in ${Date.now() - started} ms`);
