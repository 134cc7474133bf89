import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ts from 'typescript';
import type { CodeBlock } from './blocks.js';

/** Languages run as an ES module with Node (TypeScript types stripped first). */
export const MODULE_LANGS: ReadonlySet<string> = new Set(['ts', 'typescript', 'js', 'javascript', 'mjs']);
/** Languages run with `python3`. */
export const PYTHON_LANGS: ReadonlySet<string> = new Set(['python', 'py']);

/** What running one block did. */
export interface BlockRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly timedOut: boolean;
  readonly stdout: string;
  readonly stderr: string;
  /** Files, sockets and semaphores the block left behind. */
  readonly leftovers: readonly string[];
}

/** Options of {@link runBlock}. */
export interface RunBlockOptions {
  /** Where the extracted file is written: a directory inside the workspace, so bare imports resolve. */
  readonly scratchDir: string;
  /** The bound after which the block is killed (default 30 s). */
  readonly boundMs?: number;
}

const SHM = '/dev/shm';

/** The semaphore file-name fragment for a path (the ipcez signal-name escaping). */
function escaped(path: string): string {
  return path.replaceAll('%', '%25').replaceAll('_', '%5F').replaceAll('/', '_');
}

function semaphores(): string[] {
  try {
    return readdirSync(SHM).filter((f) => f.startsWith('sem.ipcez'));
  } catch {
    return [];
  }
}

/**
 * Runs a `ts`/`js` block as an ES module (types stripped with TypeScript's `transpileModule`) or
 * a `python` block with `python3`, exactly as written: env `target=local os=linux`, the working
 * directory and `TMPDIR` a fresh empty directory, killed after the bound. Then looks for what it
 * left behind: anything in that directory, any `/tmp/…` path the code names that did not exist
 * before, and any new `/dev/shm/sem.ipcez*` of those paths.
 */
export async function runBlock(block: CodeBlock, options: RunBlockOptions): Promise<BlockRun> {
  const boundMs = options.boundMs ?? 30_000;
  const isPython = PYTHON_LANGS.has(block.lang);
  if (!isPython && !MODULE_LANGS.has(block.lang)) throw new TypeError(`not a runnable language: ${block.lang}`);
  mkdirSync(options.scratchDir, { recursive: true });
  const base = `${block.file.replace(/[^a-z0-9]+/gi, '-')}-${String(block.line)}-${String(process.pid)}`;
  const script = join(options.scratchDir, `${base}.${isPython ? 'py' : 'mjs'}`);
  const source = isPython
    ? block.code
    : ts.transpileModule(block.code, {
        fileName: `${base}.ts`,
        // ESNext: syntax is kept as written (`await using` stays and fails on Node 20, as it would for a user).
        compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ESNext },
      }).outputText;
  writeFileSync(script, source);
  const cwd = mkdtempSync(join(tmpdir(), 'readme-'));
  const literalPaths = [...new Set(block.code.match(/\/tmp\/[\w.@%+-]+(?:\/[\w.@%+-]+)*/g) ?? [])];
  const existedBefore = new Set(literalPaths.filter((p) => existsSync(p)));
  const semsBefore = new Set(semaphores());
  // Python blocks import the in-repo binding as a user who installed it would.
  const root = join(options.scratchDir, '..', '..', '..');
  const pythonPath = [
    join(root, 'bindings', 'python'),
    join(root, 'bindings', 'python', 'src'),
    process.env['PYTHONPATH'],
  ];
  const child = spawn(isPython ? 'python3' : process.execPath, [script], {
    cwd,
    env: {
      ...process.env,
      target: 'local',
      os: 'linux',
      TMPDIR: cwd,
      PYTHONPATH: pythonPath.filter((p) => p !== undefined && p !== '').join(':'),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, boundMs);
  try {
    const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
    const leftovers = [
      ...readdirSync(cwd).map((f) => join(cwd, f)),
      ...literalPaths.filter((p) => !existedBefore.has(p) && existsSync(p)),
      ...semaphores()
        .filter((s) => !semsBefore.has(s))
        .filter((s) => [cwd, ...literalPaths].some((p) => s.includes(escaped(p))))
        .map((s) => `${SHM}/${s}`),
    ];
    return { code, signal, timedOut, stdout, stderr, leftovers };
  } finally {
    clearTimeout(timer);
    rmSync(cwd, { recursive: true, force: true });
    rmSync(script, { force: true });
  }
}
