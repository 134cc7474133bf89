#!/usr/bin/env node
// Sums the test summary lines of a test log — every package, both lanes — and prints one
// closing line:
//   tests: N passed, N failed, N skipped
// It reads Vitest's ("Tests  3 failed | 180 passed | 2 skipped (185)") and Python unittest's
// ("Ran 62 tests in 3.2s" followed by "OK (skipped=1)" or "FAILED (failures=1, errors=2)").
// It exits 1 when the log has no summary line at all (no test ran), any test failed, or a
// unittest run has no verdict line (it crashed before printing one).
import { readFileSync } from 'node:fs';

const log = readFileSync(process.argv[2], 'utf8').replace(/\x1b\[[0-9;]*m/g, '');
let passed = 0;
let failed = 0;
let skipped = 0;
let runs = 0;
let unittestRan; // tests of a unittest run whose verdict line has not been seen yet
let incomplete = 0;
const count = (text, name) => Number(new RegExp(`${name}=(\\d+)`).exec(text)?.[1] ?? 0);
for (const raw of log.split('\n')) {
  const line = raw.replace(/^[^:]*:test(?::windows)?:/, '');
  if (/^(?:\S+:\s+)?\s*Tests\s+\d/.test(line)) {
    runs++;
    passed += Number(/(\d+) passed/.exec(line)?.[1] ?? 0);
    failed += Number(/(\d+) failed/.exec(line)?.[1] ?? 0);
    skipped += Number(/(\d+) skipped/.exec(line)?.[1] ?? 0);
    continue;
  }
  const ran = /^\s*Ran (\d+) tests? in /.exec(line);
  if (ran) {
    if (unittestRan !== undefined) incomplete++;
    runs++;
    unittestRan = Number(ran[1]);
    continue;
  }
  const verdict = /^\s*(OK|FAILED)(?: \((.*)\))?\s*$/.exec(line);
  if (verdict && unittestRan !== undefined) {
    const details = verdict[2] ?? '';
    const bad = count(details, 'failures') + count(details, 'errors') + count(details, 'unexpected successes');
    const skip = count(details, 'skipped');
    failed += bad + (verdict[1] === 'FAILED' && bad === 0 ? 1 : 0);
    skipped += skip;
    passed += Math.max(0, unittestRan - bad - skip);
    unittestRan = undefined;
  }
}
if (unittestRan !== undefined) incomplete++;
console.log(`\n${runs} test runs (packages x lanes)`);
if (incomplete > 0) console.log(`${incomplete} unittest run(s) printed no verdict (OK/FAILED): counted as failed`);
console.log(`tests: ${passed} passed, ${failed + incomplete} failed, ${skipped} skipped`);
process.exit(runs === 0 || failed > 0 || incomplete > 0 ? 1 : 0);
