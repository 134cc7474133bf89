#!/usr/bin/env node
// Sums the Vitest summary lines ("Tests  3 failed | 180 passed | 2 skipped (185)") of a test
// log — every package, both lanes — and prints one closing line:
//   tests: N passed, N failed, N skipped
// It exits 1 when the log has no summary line at all (no test ran) or any test failed.
import { readFileSync } from 'node:fs';

const log = readFileSync(process.argv[2], 'utf8').replace(/\x1b\[[0-9;]*m/g, '');
let passed = 0;
let failed = 0;
let skipped = 0;
let runs = 0;
for (const line of log.split('\n')) {
  if (!/^(?:\S+:\s+)?\s*Tests\s+\d/.test(line.replace(/^[^:]*:test(?::windows)?:/, ''))) continue;
  runs++;
  passed += Number(/(\d+) passed/.exec(line)?.[1] ?? 0);
  failed += Number(/(\d+) failed/.exec(line)?.[1] ?? 0);
  skipped += Number(/(\d+) skipped/.exec(line)?.[1] ?? 0);
}
console.log(`\n${runs} test runs (packages x lanes)`);
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(runs === 0 || failed > 0 ? 1 : 0);
