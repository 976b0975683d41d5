import { spawn, spawnSync } from 'node:child_process';
import { request } from 'node:http';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type {} from 'vitest';

// Helpers of the `containers` project (vitest.config.ts): podman's Docker API on a private socket, started by
// global-setup.ts through deploy/local-images.sh, and docker-compose (v1) against it.

/** The repository root. (Not the testkit's repoRoot: global-setup.ts imports this file in vitest's main process,
 * where workspace packages resolve to their unbuilt dist/.) */
export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** What global-setup.ts provides to the test files (vitest `inject('podman')`). */
export type PodmanSetup =
  | {
      state: 'ready';
      /** unix socket of podman's Docker API (DOCKER_HOST=unix://…). */
      socket: string;
      /** `deploy/local-images.sh env`: DOCKER_HOST and the variables selecting the stand-in images. */
      env: Record<string, string>;
      /** How long `deploy/local-images.sh prepare` took, ms (stand-in images; seconds when they exist). */
      prepareMs: number;
      /** The compose project name global-setup cleans up after (also if the run is killed). */
      project: string;
    }
  | { state: 'skip'; reason: string }
  | { state: 'error'; reason: string };

declare module 'vitest' {
  export interface ProvidedContext {
    podman: PodmanSetup;
  }
}

/** Whether this machine can run the container tests at all, and if not, why. */
export function podmanProblem(): string | null {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'not root (the stand-in images and podman run rootful here)';
  const which = spawnSync('sh', ['-c', 'command -v podman && command -v docker-compose'], { encoding: 'utf8' });
  if (which.status !== 0) return 'podman or docker-compose is not installed (apt-get install podman docker-compose; .ci/run does it in CI)';
  return null;
}

export interface RunResult {
  code: number | null;
  out: string;
  ms: number;
}

/** Run a command without blocking the event loop; rejects after `timeoutMs` (the process group is killed). */
export function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs: number; cwd?: string }): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const child = spawn(cmd, args, { cwd: opts.cwd ?? REPO, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // gone already
      }
      reject(new Error(`${cmd} ${args.join(' ')}: no result within ${opts.timeoutMs} ms\n${out.slice(-3000)}`));
    }, opts.timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out, ms: Date.now() - t0 });
    });
  });
}

/** Like `run`, but rejects on a non-zero exit with the end of the output. */
export async function runOk(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs: number; cwd?: string }): Promise<RunResult> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}:\n${r.out.slice(-4000)}`);
  return r;
}

/** Parse `export NAME=value` lines (deploy/local-images.sh env / start). */
export function parseExports(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const m of text.matchAll(/^export ([A-Z_][A-Z0-9_]*)=(.*)$/gm)) env[m[1]!] = m[2]!;
  return env;
}

/** One Docker API request on the socket; JSON bodies are parsed. */
export function dockerApi<T = unknown>(socket: string, method: string, path: string, timeoutMs = 30_000): Promise<{ status: number; body: T }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: socket, method, path: `/v1.41${path}`, headers: { host: 'd' }, timeout: timeoutMs }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => {
        let body: unknown = text;
        try {
          body = text ? JSON.parse(text) : null;
        } catch {
          // not JSON
        }
        resolve({ status: res.statusCode ?? 0, body: body as T });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

export interface ContainerSummary {
  Id: string;
  Names: string[];
  Image: string;
  State: string;
  Status: string;
  Labels: Record<string, string>;
  Mounts?: Array<{ Source?: string; Destination?: string }>;
  Ports?: Array<{ PrivatePort?: number; PublicPort?: number }>;
}

/** Containers (all states) carrying `label` (`key=value` or `key`). */
export async function containersWith(socket: string, label: string): Promise<ContainerSummary[]> {
  const q = encodeURIComponent(JSON.stringify({ label: [label] }));
  const r = await dockerApi<ContainerSummary[]>(socket, 'GET', `/containers/json?all=true&filters=${q}`);
  if (r.status !== 200) throw new Error(`listing containers answered ${r.status}`);
  return r.body;
}

export interface ContainerInspect {
  Id: string;
  Name: string;
  RestartCount: number;
  State: { Status: string; Running: boolean; ExitCode: number; Pid: number; Health?: { Status: string } };
  Config: { Labels: Record<string, string> };
}

export async function inspect(socket: string, id: string): Promise<ContainerInspect> {
  const r = await dockerApi<ContainerInspect>(socket, 'GET', `/containers/${id}/json`);
  if (r.status !== 200) throw new Error(`inspecting ${id} answered ${r.status}`);
  return r.body;
}

/** Remove every container, network and volume carrying `label` (the last line of cleanup). */
export async function removeLabelled(socket: string, label: string): Promise<void> {
  const q = encodeURIComponent(JSON.stringify({ label: [label] }));
  for (const c of await containersWith(socket, label)) await dockerApi(socket, 'DELETE', `/containers/${c.Id}?force=true&v=true`, 60_000);
  const nets = await dockerApi<Array<{ Id: string }>>(socket, 'GET', `/networks?filters=${q}`);
  for (const n of Array.isArray(nets.body) ? nets.body : []) await dockerApi(socket, 'DELETE', `/networks/${n.Id}`);
  const vols = await dockerApi<{ Volumes: Array<{ Name: string }> | null }>(socket, 'GET', `/volumes?filters=${q}`);
  for (const v of vols.body?.Volumes ?? []) await dockerApi(socket, 'DELETE', `/volumes/${encodeURIComponent(v.Name)}?force=true`);
}
