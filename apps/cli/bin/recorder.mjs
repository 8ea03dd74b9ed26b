#!/usr/bin/env node
// The `recorder` command (npx recorder ...). Runs the CLI bundle dist/cli.mjs
// (`recorder --help` in ~0.15 s and ~45 MB; through tsx it took ~3 s and
// ~150 MB). The bundle is (re)built first when a source is newer than it
// (~1-2 s, once); where dist/ cannot be written (a read-only install), the
// sources run through tsx instead.
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const bundle = path.join(root, 'dist', 'cli.mjs');

function mtime(p) {
  try {
    return statSync(p).mtimeMs;
  } catch {
    return 0;
  }
}

/** Newest mtime of the TypeScript sources the CLI is built from (apps/cli, every lib), and of the lockfile. */
function newestSource() {
  let newest = Math.max(mtime(path.join(root, 'package-lock.json')), mtime(path.join(root, 'scripts', 'build.mjs')));
  const walk = (dir) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) {
        if (e.name !== 'node_modules') walk(p);
      } else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')) newest = Math.max(newest, mtime(p));
    }
  };
  walk(path.join(root, 'apps', 'cli', 'src'));
  for (const lib of readdirSync(path.join(root, 'libs'))) walk(path.join(root, 'libs', lib, 'src'));
  return newest;
}

let useBundle = mtime(bundle) > newestSource();
if (!useBundle) {
  try {
    execFileSync(process.execPath, [path.join(root, 'scripts', 'build.mjs'), 'cli'], { stdio: ['ignore', 'ignore', 'pipe'] });
    useBundle = true;
  } catch {
    useBundle = false;
  }
}
if (useBundle) {
  await import(pathToFileURL(bundle).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/main.ts');
}
