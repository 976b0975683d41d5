import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

// The published package as a consumer outside the workspace sees it: built with the package's own
// tsconfig.build.json (what `pnpm --filter @switchboard/client build` runs) into a node_modules of a
// temporary directory, then type-checked by a consumer without the workspace's `source` condition,
// so the exports map's `types` (the built .d.ts) are what it resolves.

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../../../..');
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const tmp = mkdtempSync(join(tmpdir(), 'sb-client-types-'));
const modules = join(tmp, 'node_modules');

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

type Exports = Record<string, Record<string, string>>;

/** Copy `packages/<name>`'s package.json and sources, and build its sources into node_modules/@switchboard/<name>/dist. */
async function install(name: string): Promise<{ dir: string; exports: Exports }> {
  const dir = join(modules, '@switchboard', name);
  mkdirSync(dir, { recursive: true });
  cpSync(join(root, 'packages', name, 'package.json'), join(dir, 'package.json'));
  cpSync(join(root, 'packages', name, 'src'), join(dir, 'src'), { recursive: true }); // published too ("files")
  await run(process.execPath, [tsc, '-p', join(root, 'packages', name, 'tsconfig.build.json'), '--outDir', join(dir, 'dist')], { cwd: root });
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { exports: Exports };
  return { dir, exports: pkg.exports };
}

/** Link a dependency the built declarations need from the workspace's node_modules. */
function link(name: string): void {
  const target = join(modules, name);
  mkdirSync(dirname(target), { recursive: true });
  symlinkSync(dirname(createRequire(join(root, 'packages', 'client', 'package.json')).resolve(`${name}/package.json`)), target);
}

const CONSUMER = `import { createClient, MessageLostError, type ClientOptions, type GetToken, type SendOptions } from '@switchboard/client';
import { createNodeClient } from '@switchboard/client/node';
import type { SenseMode } from '@switchboard/protocol';

const getToken: GetToken = async ({ uid, reason }) => \`\${uid}:\${reason}\`;
const opts: ClientOptions = { uid: 'alice', dispatchUrl: 'http://127.0.0.1:8080', getToken, sendTimeoutMs: 5_000 };
const send: SendOptions = { timeoutMs: 2_000 };
const mode: SenseMode | undefined = opts.senseMode;
export async function main(): Promise<void> {
  const client = createClient(opts);
  const node = createNodeClient({ ...opts, transport: 'tcp' });
  const r = await client.send('bob', 'hi', send).catch((e: unknown) => (e instanceof MessageLostError ? e.reason : null));
  node.on('state', (e) => e.state);
  void r;
  void mode;
  // @ts-expect-error: the types are the real ones, not \`any\`: no such reason
  const wrong: GetToken = ({ reason }) => (reason === 'bogus' ? 'x' : 'y');
  void wrong;
}
`;

describe('published package types', () => {
  it('the built package has every file its exports map names, and a consumer without the source condition type-checks against the built .d.ts (NodeNext and Bundler)', async () => {
    const [client, protocol] = await Promise.all([install('client'), install('protocol')]);
    for (const { dir, exports } of [client, protocol]) {
      for (const [entry, conditions] of Object.entries(exports)) {
        expect(Object.keys(conditions)[0], `${entry}: "source" first, so the workspace reads the sources`).toBe('source');
        expect(conditions['types'], entry).toMatch(/^\.\/dist\/.*\.d\.ts$/);
        for (const c of ['types', 'default']) expect(existsSync(join(dir, conditions[c]!)), `${entry} ${c}: ${conditions[c]}`).toBe(true);
      }
    }
    link('ws');
    link('@types/ws');
    link('@types/node');
    writeFileSync(join(tmp, 'consumer.ts'), CONSUMER);
    const base = { strict: true, noEmit: true, target: 'ES2022', lib: ['ES2023', 'DOM'], types: ['node'], skipLibCheck: false };
    const configs = {
      nodenext: { ...base, module: 'NodeNext', moduleResolution: 'NodeNext' },
      bundler: { ...base, module: 'ESNext', moduleResolution: 'Bundler' },
    };
    const results = await Promise.all(
      Object.entries(configs).map(async ([name, compilerOptions]) => {
        writeFileSync(join(tmp, `tsconfig.${name}.json`), JSON.stringify({ compilerOptions, files: ['consumer.ts'] }));
        const out = await run(process.execPath, [tsc, '-p', join(tmp, `tsconfig.${name}.json`), '--listFiles'], { cwd: tmp }).catch(
          (e: { stdout?: string; stderr?: string }) => ({ stdout: `${e.stdout ?? ''}${e.stderr ?? ''}`, failed: true }),
        );
        return { name, out: out.stdout, failed: 'failed' in out };
      }),
    );
    for (const r of results) {
      expect(r.failed ? r.out : '', `${r.name}: tsc errors`).toBe('');
      const files = r.out.split('\n').filter((f) => f.includes('@switchboard'));
      expect(files.some((f) => f.endsWith('@switchboard/client/dist/index.d.ts')), r.name).toBe(true);
      expect(files.some((f) => f.endsWith('@switchboard/client/dist/node/index.d.ts')), r.name).toBe(true);
      expect(files.some((f) => f.endsWith('@switchboard/protocol/dist/index.d.ts')), r.name).toBe(true);
      expect(files.filter((f) => !f.endsWith('.d.ts')).map((f) => f.slice(tmp.length)), r.name).toEqual([]);
    }
  }, 120_000);
});
