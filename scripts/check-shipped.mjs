#!/usr/bin/env node
// Shipped files must not point at documents users do not have. The design contract and the
// house style are the maintainers' working notes, not part of any package: published code,
// declarations and READMEs cite the repo's own docs (docs/PROTOCOL.md, packages/framing/SPEC.md,
// a package README) instead.
//
// Checks, for every published package (packages/* without "private": true), the files its
// tarball ships (`dist/**`, README.md and the other `files` entries) and its `src/**`, and the
// pending changesets (they become the CHANGELOG.md npm ships). Run after the build, so dist/
// exists. Exits 1 listing each hit.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const FORBIDDEN = /\b(DESIGN|STYLE)\.md\b/;

function* walk(path) {
  if (!existsSync(path)) return;
  if (statSync(path).isDirectory()) {
    for (const entry of readdirSync(path)) if (entry !== 'node_modules') yield* walk(join(path, entry));
  } else {
    yield path;
  }
}

const hits = [];
let checked = 0;
function scan(file) {
  checked++;
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (FORBIDDEN.test(line)) hits.push(`${relative(root, file)}:${i + 1}: ${line.trim()}`);
    });
}
for (const dir of readdirSync(join(root, 'packages'))) {
  const pkgDir = join(root, 'packages', dir);
  const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
  if (pkg.private === true) continue;
  if (!existsSync(join(pkgDir, 'dist'))) {
    hits.push(`${relative(root, pkgDir)}: no dist/ (build first)`);
    continue;
  }
  const shipped = (pkg.files ?? []).filter((f) => !f.startsWith('!'));
  for (const entry of new Set([...shipped, 'src', 'package.json'])) {
    for (const file of walk(join(pkgDir, entry))) scan(file);
  }
}
// Pending changesets become the packages' CHANGELOG.md, which npm ships in every tarball.
for (const file of walk(join(root, '.changeset'))) {
  if (file.endsWith('.md') && !file.endsWith('README.md')) scan(file);
}
if (hits.length > 0) {
  console.error(
    `Shipped files mention the maintainers' working notes (cite docs/PROTOCOL.md, SPEC.md or a README instead):`,
  );
  for (const hit of hits) console.error(`  ${hit}`);
  process.exit(1);
}
console.log(`shipped files: ${checked} checked, none mentions DESIGN.md or STYLE.md`);
