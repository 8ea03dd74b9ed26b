#!/usr/bin/env node
// The `recorder` command (npx recorder ...): runs apps/cli/src/main.ts through tsx.
import { register } from 'tsx/esm/api';
register();
await import('../src/main.ts');
