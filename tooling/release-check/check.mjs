#!/usr/bin/env node
// The release check (run by .ci/run after the build): every published package as a user gets
// it from the registry, outside this workspace.
//
//   1. `changeset version` on a throwaway copy of the repo: one version for the fixed group,
//      a CHANGELOG.md per published package, every pending changeset consumed, private
//      packages untouched.
//   2. `pnpm pack` each published package (workspace:^ ranges become real ones), then
//      `npm publish --dry-run` of the tarball.
//   3. Per package, a scratch project in a temp dir (outside the workspace), the tarball and
//      the tarballs of its ipcez dependencies installed with plain npm (ws and koffi come from
//      the registry; --prefer-offline keeps a warm npm cache useful), then used there alone:
//      the first runnable code block of the package's README, or a smoke script where the
//      README's example cannot run here (named pipes on Linux).
//   4. Types: a consumer importing the package compiles under `tsc --strict` without
//      skipLibCheck; without @types/node either it compiles, or the package README says
//      @types/node is needed (and it compiles with it).
//   5. @ipcez/framing in headless Chromium, loaded from the tarball through an import map.
//   6. The facade's CLI through npx: `npx ipcez --version`, and a real echo/send.
//
// Usage: node tooling/release-check/check.mjs   (needs the workspace installed and built)
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const tsc = join(dirname(fileURLToPath(import.meta.resolve('typescript'))), '..', 'bin', 'tsc');
const work = mkdtempSync(join(tmpdir(), 'ipcez-release-'));
const started = Date.now();
/** Each published package's scratch project (removed at the end). */
const scratchOf = new Map();
let failures = 0;

function step(title) {
  console.log(`\n--- ${title} (${((Date.now() - started) / 1000).toFixed(1)}s)`);
}
function ok(message) {
  console.log(`ok   ${message}`);
}
function fail(message) {
  failures++;
  console.log(`FAIL ${message}`);
}
function run(cmd, args, options = {}) {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...options });
}
function tryRun(cmd, args, options = {}) {
  try {
    return { ok: true, output: run(cmd, args, options) };
  } catch (error) {
    return { ok: false, output: `${error.stdout ?? ''}${error.stderr ?? ''}${error.message}` };
  }
}
/** `tryRun`, without blocking: for the installs that run side by side. */
async function runAsync(cmd, args, options) {
  const child = spawn(cmd, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const [code] = await once(child, 'close');
  return { ok: code === 0, output };
}
const readJson = (path) => JSON.parse(readFileSync(path, 'utf8'));
const pnpm = (() => {
  const probe = tryRun('pnpm', ['--version']);
  return probe.ok && probe.output.startsWith('10.') ? ['pnpm'] : ['npx', '-y', 'pnpm@10'];
})();

const packages = readdirSync(join(root, 'packages'))
  .map((dir) => ({ dir: join(root, 'packages', dir), json: readJson(join(root, 'packages', dir, 'package.json')) }))
  .filter((p) => p.json.private !== true);
const byName = new Map(packages.map((p) => [p.json.name, p]));

/** The package and, transitively, the ipcez packages it depends on. */
// What a package's README tells users to install beside it (`npm install @ipcez/rpc ipcez`):
// its example uses it, so its scratch project gets it too (and nothing else).
const COMPANIONS = { '@ipcez/rpc': ['ipcez'] };

/** The package, its ipcez dependencies, and its README's companions with theirs. */
function installSet(name) {
  const set = closure(name);
  for (const companion of COMPANIONS[name] ?? []) closure(companion, set);
  return set;
}

function closure(name, seen = new Set()) {
  if (seen.has(name)) return seen;
  seen.add(name);
  for (const dep of Object.keys(byName.get(name).json.dependencies ?? {})) if (byName.has(dep)) closure(dep, seen);
  return seen;
}

try {
  // 1 ---------------------------------------------------------------------------------------
  step('changeset version on a throwaway copy');
  {
    const copy = join(work, 'repo');
    mkdirSync(copy);
    const files = run('git', ['ls-files', '-co', '--exclude-standard', '-z'], { cwd: root })
      .split('\0')
      .filter(Boolean);
    for (const file of files) if (existsSync(join(root, file))) cpSync(join(root, file), join(copy, file));
    // The GitHub changelog generator needs a token and the network; the version logic is the
    // same with the default generator.
    const config = readJson(join(copy, '.changeset', 'config.json'));
    config.changelog = '@changesets/cli/changelog';
    writeFileSync(join(copy, '.changeset', 'config.json'), JSON.stringify(config));
    symlinkSync(join(root, 'node_modules'), join(copy, 'node_modules'));
    const pending = readdirSync(join(copy, '.changeset')).filter((f) => f.endsWith('.md') && f !== 'README.md');
    const cli = join(dirname(fileURLToPath(import.meta.resolve('@changesets/cli/package.json'))), 'bin.js');
    run(process.execPath, [cli, 'version'], { cwd: copy });
    const versions = new Set(
      packages.map((p) => readJson(join(copy, 'packages', p.dir.split('/').pop(), 'package.json')).version),
    );
    const [version] = versions;
    if (versions.size === 1 && version !== packages[0].json.version)
      ok(`${pending.length} changesets → every published package at ${version}`);
    else fail(`versions after changeset version: ${[...versions].join(', ')}`);
    for (const p of packages) {
      const name = p.dir.split('/').pop();
      const changelog = join(copy, 'packages', name, 'CHANGELOG.md');
      if (existsSync(changelog) && readFileSync(changelog, 'utf8').includes(`## ${version}`))
        ok(`${p.json.name}: CHANGELOG.md has ${version}`);
      else fail(`${p.json.name}: no CHANGELOG.md entry for ${version}`);
      const deps = readJson(join(copy, 'packages', name, 'package.json')).dependencies ?? {};
      for (const [dep, range] of Object.entries(deps))
        if (byName.has(dep) && range !== 'workspace:^') fail(`${p.json.name}: dependency ${dep} became ${range}`);
    }
    const left = readdirSync(join(copy, '.changeset')).filter((f) => f.endsWith('.md') && f !== 'README.md');
    if (left.length === 0) ok('every pending changeset consumed');
    else fail(`changesets left: ${left.join(', ')}`);
    for (const dir of readdirSync(join(copy, 'tooling'))) {
      const pkg = join(copy, 'tooling', dir, 'package.json');
      if (existsSync(pkg) && readJson(pkg).version !== '0.0.0') fail(`private ${dir} was versioned`);
    }
  }

  // 2 ---------------------------------------------------------------------------------------
  step('pnpm pack + npm publish --dry-run');
  const tarballs = new Map();
  const packs = join(work, 'packs');
  mkdirSync(packs);
  for (const p of packages) {
    run(pnpm[0], [...pnpm.slice(1), 'pack', '--pack-destination', packs], { cwd: p.dir });
    const file = readdirSync(packs).find((f) => f.startsWith(p.json.name.replace('@', '').replace('/', '-') + '-'));
    tarballs.set(p.json.name, join(packs, file));
    const listing = run('tar', ['tzf', join(packs, file)])
      .split('\n')
      .filter(Boolean);
    const bad = listing.filter((f) => /^package\/(src|demo|test)\/|\.map$/.test(f));
    if (!listing.includes('package/LICENSE')) fail(`${p.json.name}: the tarball has no LICENSE`);
    if (bad.length > 0) fail(`${p.json.name}: the tarball ships ${bad.join(', ')}`);
    const dry = tryRun('npm', ['publish', '--dry-run', '--json', join(packs, file)], { cwd: packs });
    if (dry.ok) ok(`${p.json.name}: ${listing.length} files, npm publish --dry-run passes`);
    else fail(`${p.json.name}: npm publish --dry-run failed\n${dry.output}`);
  }

  // 3 + 4 -----------------------------------------------------------------------------------
  step('npm install of each tarball into its own scratch project (in parallel)');
  const installs = new Map(
    await Promise.all(
      packages.map(async (p) => {
        const name = p.json.name;
        const scratch = mkdtempSync(join(tmpdir(), 'ipcez-scratch-'));
        scratchOf.set(name, scratch);
        writeFileSync(
          join(scratch, 'package.json'),
          JSON.stringify({ name: 'scratch', private: true, type: 'module' }),
        );
        const wanted = [...installSet(name)].map((n) => tarballs.get(n));
        const args = ['install', '--prefer-offline', '--no-audit', '--no-fund', ...wanted, '@types/node@20'];
        return [name, await runAsync('npm', args, { cwd: scratch })];
      }),
    ),
  );
  for (const p of packages) {
    const name = p.json.name;
    step(`${name}: installed alone from its tarball`);
    const scratch = scratchOf.get(name);
    const install = installs.get(name);
    if (!install.ok) {
      fail(`${name}: npm install failed\n${install.output}`);
      continue;
    }
    const installed = readdirSync(join(scratch, 'node_modules', '@ipcez')).map((d) => `@ipcez/${d}`);
    if (existsSync(join(scratch, 'node_modules', 'ipcez'))) installed.push('ipcez');
    const extra = installed.filter((n) => !installSet(name).has(n));
    if (extra.length > 0) fail(`${name}: more than its dependencies installed: ${extra.join(', ')}`);

    // The README's first runnable example, exactly as the README runner runs it.
    const readme = readFileSync(join(p.dir, 'README.md'), 'utf8');
    const block = /^```(ts|js)\n([\s\S]*?)^```$/m.exec(readme);
    let source;
    let what;
    if (block) {
      source = ts.transpileModule(block[2], {
        compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ESNext },
      }).outputText;
      what = 'its README example';
    } else if (name === '@ipcez/transport-pipe') {
      // Windows only: here, importing works and every call says why it cannot.
      source = `import { isPipeSupported, listenPipe, resolvePipeName } from '@ipcez/transport-pipe';
if (isPipeSupported()) throw new Error('expected no named pipes here');
if (resolvePipeName('app') !== '\\\\\\\\.\\\\pipe\\\\app') throw new Error(resolvePipeName('app'));
await listenPipe('app').then(() => { throw new Error('listened'); }, (e) => { if (e.code !== 'IPCEZ_ERR_UNSUPPORTED_PLATFORM') throw e; });
console.log('named pipes: unsupported here, as documented');`;
      what = 'a smoke script (its README example is Windows only)';
    } else {
      fail(`${name}: its README has no runnable example`);
      continue;
    }
    writeFileSync(join(scratch, 'example.mjs'), source);
    const tmp = mkdtempSync(join(tmpdir(), 'ipcez-ex-'));
    const example = tryRun(process.execPath, ['example.mjs'], {
      cwd: scratch,
      env: { ...process.env, target: 'local', os: 'linux', TMPDIR: tmp },
      timeout: 30_000,
    });
    rmSync(tmp, { recursive: true, force: true });
    if (example.ok) ok(`${name}: ${what} runs (${example.output.trim().split('\n').pop()})`);
    else fail(`${name}: ${what} failed\n${example.output}`);

    // Types, as a TypeScript user compiles against the published .d.ts.
    writeFileSync(
      join(scratch, 'consumer.ts'),
      `import * as api from '${name}';\nexport const names: string[] = Object.keys(api);\n`,
    );
    // TypeScript's default lib for es2022 includes the DOM (AbortSignal, the WHATWG streams).
    // The three compiles run side by side, each with its own tsconfig.
    const compile = (label, types, lib) => {
      const compilerOptions = {
        module: 'nodenext',
        target: 'es2022',
        strict: true,
        noEmit: true,
        skipLibCheck: false,
        types,
      };
      if (lib !== undefined) compilerOptions.lib = lib;
      const config = `tsconfig.${label}.json`;
      writeFileSync(join(scratch, config), JSON.stringify({ compilerOptions, files: ['consumer.ts'] }));
      return runAsync(process.execPath, [tsc, '-p', config], { cwd: scratch });
    };
    const [bare, disposable, withNode] = await Promise.all([
      compile('bare', []),
      // AsyncDisposable / Symbol.asyncDispose (for `await using`) come from this lib, or from @types/node.
      compile('disposable', [], ['es2022', 'dom', 'esnext.disposable']),
      compile('node', ['node']),
    ]);
    const says = (text) => readme.includes(text);
    if (!withNode.ok) fail(`${name}: a consumer does not compile even with @types/node\n${withNode.output}`);
    else if (bare.ok) ok(`${name}: a consumer compiles without @types/node`);
    else if (disposable.ok && says('`esnext.disposable`') && says('`@types/node`'))
      ok(`${name}: compiles with the esnext.disposable lib or @types/node, as its README says`);
    else if (!disposable.ok && says('`@types/node`') && !says('`esnext.disposable`'))
      ok(`${name}: needs @types/node, and its README says so`);
    else
      fail(
        `${name}: the README does not state the types it needs (esnext.disposable lib: ${disposable.ok ? 'enough' : 'not enough'})\n${bare.output}`,
      );
  }

  // 5 ---------------------------------------------------------------------------------------
  step('@ipcez/framing in headless Chromium, through an import map');
  {
    const framing = join(scratchOf.get('@ipcez/framing'), 'node_modules', '@ipcez', 'framing');
    const page = `<!doctype html><script type="importmap">{"imports":{"@ipcez/framing":"/framing/dist/index.js"}}</script>
<script type="module">
import { encodeFrame, FrameDecoder, MAX_MESSAGE_BYTES } from '@ipcez/framing';
const [header, payload] = encodeFrame(new TextEncoder().encode('hello'));
const decoder = new FrameDecoder();
const wire = new Uint8Array([...header, ...payload]);
const out = [...decoder.push(wire.subarray(0, 3)), ...decoder.push(wire.subarray(3))];
window.result = { header: [...header], text: new TextDecoder().decode(out[0]), count: out.length, limit: MAX_MESSAGE_BYTES };
</script>`;
    const server = createServer((req, res) => {
      const path = req.url === '/' ? null : req.url.replace(/^\/framing\//, '');
      if (path === null) {
        res.writeHead(200, { 'content-type': 'text/html' }).end(page);
      } else if (/^[\w./-]+$/.test(path) && !path.includes('..') && existsSync(join(framing, path))) {
        res.writeHead(200, { 'content-type': 'text/javascript' }).end(readFileSync(join(framing, path)));
      } else {
        res.writeHead(404).end();
      }
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'],
      timeout: 45_000,
    });
    try {
      const tab = await browser.newPage();
      const errors = [];
      tab.on('pageerror', (e) => errors.push(e.message));
      await tab.goto(`http://127.0.0.1:${server.address().port}/`);
      const result = await tab
        .waitForFunction(() => window.result, undefined, { timeout: 20_000 })
        .then((h) => h.jsonValue());
      const expected = { header: [0, 0, 0, 5], text: 'hello', count: 1, limit: 4194304 };
      if (JSON.stringify(result) === JSON.stringify(expected) && errors.length === 0)
        ok('encoded and decoded in the page');
      else fail(`framing in Chromium: ${JSON.stringify(result)} ${errors.join('; ')}`);
    } finally {
      await browser.close();
      server.close();
    }
  }

  // 6 ---------------------------------------------------------------------------------------
  step('the ipcez CLI through npx');
  {
    const scratch = scratchOf.get('ipcez');
    const env = { ...process.env, target: 'local', os: 'linux' };
    const version = run('npx', ['--no-install', 'ipcez', '--version'], { cwd: scratch, env }).trim();
    if (version === byName.get('ipcez').json.version) ok(`npx ipcez --version: ${version}`);
    else fail(`npx ipcez --version printed ${version}`);
    const dir = mkdtempSync(join(tmpdir(), 'ipcez-npx-'));
    const sock = join(dir, 'echo.sock');
    // Its own process group, stopped as Ctrl-C stops it: SIGINT to npx and ipcez together
    // (npx does not pass a SIGTERM sent to it alone on to its child).
    const echo = spawn('npx', ['--no-install', 'ipcez', 'echo', sock], {
      cwd: scratch,
      env,
      stdio: ['ignore', 'pipe', 'inherit'],
      detached: true,
    });
    try {
      const [line] = await Promise.race([
        once(createInterface({ input: echo.stdout }), 'line'),
        once(echo, 'exit').then(([code]) => [`exited ${code}`]),
      ]);
      if (line !== `listening ${sock}`) fail(`npx ipcez echo printed ${line}`);
      const reply = tryRun('npx', ['--no-install', 'ipcez', 'send', sock, 'hello from npx', '--replies', '1'], {
        cwd: scratch,
        env,
        timeout: 30_000,
      });
      if (reply.ok && reply.output === 'hello from npx\n') ok('npx ipcez echo + npx ipcez send: the echo came back');
      else fail(`npx ipcez send: ${reply.output}`);
    } finally {
      const exited = echo.exitCode === null ? once(echo.stdout, 'close') : Promise.resolve();
      process.kill(-echo.pid, 'SIGINT');
      // A bound to stop a hang, not a speed judgement.
      const timer = setTimeout(() => process.kill(-echo.pid, 'SIGKILL'), 15_000);
      // stdout closes when the last process holding it (ipcez itself) has exited.
      await exited;
      clearTimeout(timer);
    }
    if (existsSync(sock)) fail('the echo server left its socket file');
    else ok('npx ipcez echo stopped on SIGINT and removed its socket file');
    rmSync(dir, { recursive: true, force: true });
  }
} catch (error) {
  fail(`the check itself failed: ${error.stack ?? error}`);
} finally {
  for (const dir of scratchOf.values()) rmSync(dir, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
}

console.log(
  `\nrelease check: ${failures === 0 ? 'passed' : `${failures} failure(s)`} in ${((Date.now() - started) / 1000).toFixed(1)}s`,
);
process.exitCode = failures === 0 ? 0 : 1;
