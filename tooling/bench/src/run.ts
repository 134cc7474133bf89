// Runs every benchmark case in dist/cases/, in name order. Each case prints its own table of
// figures and ratios against a baseline it measures in the same run.
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const casesDir = join(dirname(fileURLToPath(import.meta.url)), 'cases');
const only = process.argv.slice(2);
const files = readdirSync(casesDir)
  .filter((f) => f.endsWith('.js'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();
for (const file of files) {
  console.log(`\n=== ${file.replace(/\.js$/, '')} ===`);
  const mod = (await import(pathToFileURL(join(casesDir, file)).href)) as { run?: () => Promise<void> };
  if (typeof mod.run !== 'function') throw new Error(`${file} does not export run()`);
  await mod.run();
}
