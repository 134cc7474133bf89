// Runs every benchmark case in dist/cases/, in name order. Each case prints its own table of
// figures and ratios against a baseline it measures in the same run. Options: see options.ts.
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isQuick, only } from './options.js';

const casesDir = join(dirname(fileURLToPath(import.meta.url)), 'cases');
const files = readdirSync(casesDir)
  .filter((f) => f.endsWith('.js'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();
if (files.length === 0) throw new Error(`no case matches ${only.join(', ')}`);
if (isQuick) console.log('--quick: small counts, one repetition; the figures only prove that every case completes');
const start = performance.now();
for (const file of files) {
  console.log(`\n=== ${file.replace(/\.js$/, '')} ===`);
  const mod = (await import(pathToFileURL(join(casesDir, file)).href)) as { run?: () => Promise<void> };
  if (typeof mod.run !== 'function') throw new Error(`${file} does not export run()`);
  await mod.run();
}
console.log(`\nevery case completed in ${((performance.now() - start) / 1000).toFixed(1)} s`);
