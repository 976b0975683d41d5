import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from '@switchboard/testkit';

/** Absolute path of a file of the repository. */
export const repoPath = (...parts: string[]): string => path.join(repoRoot(), ...parts);

// ---------------------------------------------------------------------------------------------------------------
// docker-compose (v1, Debian's package): validation and the normalized config, without a Docker engine.

export interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile?: string; args?: Record<string, string> };
  command?: string[];
  environment?: Record<string, string | null>;
  network_mode?: string;
  /** docker-compose v1 prints the short syntax for some entries and the long one for others: read them with `portsOf`. */
  ports?: Array<string | { published?: number | string; target: number; host_ip?: string; protocol?: string }>;
  /** Read them with `volumesOf`. */
  volumes?: Array<string | { type: string; source?: string; target: string; read_only?: boolean }>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test?: string[] | string; disable?: boolean; interval?: string; timeout?: string; retries?: number };
  profiles?: string[];
  stop_grace_period?: string;
  restart?: string;
  hostname?: string;
}

export interface ComposeConfig {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

export interface PortMapping {
  hostIp: string | null;
  published: number | null;
  target: number;
}

/** A service's published ports, whichever syntax the normalized config uses (`127.0.0.1:6379:6379/tcp` or long). */
export function portsOf(s: ComposeService): PortMapping[] {
  return (s.ports ?? []).map((p) => {
    if (typeof p !== 'string') return { hostIp: p.host_ip ?? null, published: p.published === undefined ? null : Number(p.published), target: Number(p.target) };
    const parts = p.replace(/\/(tcp|udp)$/, '').split(':');
    const target = Number(parts.pop());
    const published = parts.length ? Number(parts.pop()) : null;
    return { hostIp: parts.length ? parts.join(':') : null, published, target };
  });
}

export interface VolumeMount {
  /** Named volume, or an absolute host path for a bind mount. */
  source: string;
  target: string;
  readOnly: boolean;
}

/** A service's mounts, whichever syntax the normalized config uses (`src:target:ro` or long). */
export function volumesOf(s: ComposeService): VolumeMount[] {
  return (s.volumes ?? []).map((v) => {
    if (typeof v !== 'string') return { source: v.source ?? '', target: v.target, readOnly: v.read_only === true };
    const [source = '', target = '', mode = 'rw'] = v.split(':');
    return { source, target, readOnly: mode.split(',').includes('ro') };
  });
}

const COMPOSE_MISSING =
  'docker-compose (v1, Debian\'s package) is not installed, so docker-compose.yml cannot be validated offline. ' +
  'Install it with `apt-get install -y docker-compose` (.ci/run does this when it is missing).';

/**
 * A clean environment for docker-compose, so the `${VAR:-default}` interpolations take the file's defaults and
 * not whatever IM_* variables the test runner happens to carry.
 */
function composeEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: process.env['HOME'] ?? '/tmp', LANG: 'C.UTF-8', ...extra };
}

/** Run `docker-compose -f docker-compose.yml <args>`; throws a message saying how to install it when it is missing. */
export function dockerCompose(args: string[], extraEnv: Record<string, string> = {}): { status: number; stdout: string; stderr: string } {
  const res = spawnSync('docker-compose', ['-f', repoPath('docker-compose.yml'), ...args], {
    cwd: repoRoot(),
    env: composeEnv(extraEnv),
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (res.error && (res.error as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(COMPOSE_MISSING);
  if (res.error) throw res.error;
  return { status: res.status ?? -1, stdout: res.stdout, stderr: res.stderr };
}

/**
 * The compose file as docker-compose normalizes it (`docker-compose config`: anchors merged, variables
 * interpolated with their defaults, short syntax expanded), turned into JSON by python3's yaml module, which
 * docker-compose itself depends on.
 */
export function composeConfig(profiles: string[] = [], extraEnv: Record<string, string> = {}): ComposeConfig {
  const cfg = dockerCompose([...profiles.flatMap((p) => ['--profile', p]), 'config'], extraEnv);
  if (cfg.status !== 0) throw new Error(`docker-compose config failed (exit ${cfg.status}):\n${cfg.stderr}`);
  const res = spawnSync('python3', ['-c', 'import sys, json, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)'], {
    input: cfg.stdout,
    encoding: 'utf8',
  });
  if (res.status !== 0) {
    throw new Error(`python3 with the yaml module (python3-yaml, a dependency of docker-compose) could not read the config: ${res.stderr || res.error?.message}`);
  }
  return JSON.parse(res.stdout) as ComposeConfig;
}

/** The TypeScript sources of packages/cli/src (for what they declare: commands, roles). */
export function cliSources(): string[] {
  const dir = repoPath('packages/cli/src');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.ts'))
    .map((f) => readFileSync(path.join(dir, f), 'utf8'));
}

/** Read a YAML file of the repository as JSON (python3-yaml). */
export function readYaml(file: string): unknown {
  const res = spawnSync('python3', ['-c', 'import sys, json, yaml; json.dump(yaml.safe_load(open(sys.argv[1])), sys.stdout)', file], { encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`cannot read ${file} as YAML: ${res.stderr || res.error?.message}`);
  return JSON.parse(res.stdout) as unknown;
}

// ---------------------------------------------------------------------------------------------------------------
// Dockerfile: a small parser, enough for static checks.

export interface DockerInstruction {
  stage: string;
  op: string;
  args: string;
  line: number;
}

export interface Dockerfile {
  instructions: DockerInstruction[];
  /** Stage name (or index) → base image, with ARG defaults substituted. */
  stages: Array<{ name: string; from: string }>;
  /** Instructions of one stage. */
  of(stage: string, op?: string): DockerInstruction[];
}

export function parseDockerfile(text: string): Dockerfile {
  const instructions: DockerInstruction[] = [];
  const stages: Array<{ name: string; from: string }> = [];
  const args = new Map<string, string>();
  const lines = text.split('\n');
  let stage = '';
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let line = lines[i]!;
    if (/^\s*(#|$)/.test(line)) continue;
    while (/\\\s*$/.test(line) && i + 1 < lines.length) {
      line = line.replace(/\\\s*$/, ' ') + lines[++i]!.trim();
    }
    const m = /^\s*([A-Za-z]+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const op = m[1]!.toUpperCase();
    const rest = m[2]!.trim();
    if (op === 'ARG' && stage === '') {
      const [k, v] = rest.split('=', 2);
      if (k && v !== undefined) args.set(k, v);
    }
    if (op === 'FROM') {
      const fm = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest);
      const from = (fm?.[1] ?? rest).replace(/\$\{?(\w+)\}?/g, (_, k: string) => args.get(k) ?? '');
      stage = fm?.[2] ?? String(stages.length);
      stages.push({ name: stage, from });
    }
    instructions.push({ stage, op, args: rest, line: start + 1 });
  }
  return { instructions, stages, of: (s, op) => instructions.filter((x) => x.stage === s && (op === undefined || x.op === op)) };
}

/** The words of an exec-form (JSON array) instruction argument, or the shell form split on spaces. */
export function execForm(args: string): string[] {
  const json = args.replace(/^(--\S+\s+)*/, '').replace(/^CMD\s+/i, '');
  if (json.startsWith('[')) return JSON.parse(json) as string[];
  return json.split(/\s+/);
}

/** Sources of a COPY/ADD (flags and destination removed). */
export function copySources(args: string): { from: string | null; sources: string[]; dest: string } {
  const words = args.split(/\s+/);
  let from: string | null = null;
  while (words[0]?.startsWith('--')) {
    const flag = words.shift()!;
    if (flag.startsWith('--from=')) from = flag.slice('--from='.length);
  }
  const dest = words.pop() ?? '';
  return { from, sources: words, dest };
}

// ---------------------------------------------------------------------------------------------------------------
// .dockerignore, with Docker's rules: patterns relative to the context root, `*`, `?`, `**`, `!` re-includes,
// a pattern that matches a directory matches everything below it, and the last matching pattern wins.

export interface DockerIgnore {
  ignored(relPath: string): boolean;
}

export function parseDockerignore(text: string): DockerIgnore {
  const rules = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const negate = l.startsWith('!');
      const pattern = path.posix.normalize((negate ? l.slice(1) : l).replace(/^\/+/, ''));
      let re = '';
      for (let i = 0; i < pattern.length; i++) {
        const c = pattern[i]!;
        if (c === '*' && pattern[i + 1] === '*') {
          const slash = pattern[i + 2] === '/';
          re += slash ? '(?:.*/)?' : '.*';
          i += slash ? 2 : 1;
        } else if (c === '*') re += '[^/]*';
        else if (c === '?') re += '[^/]';
        else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
      }
      return { negate, re: new RegExp(`^${re}$`) };
    });
  return {
    ignored(relPath: string): boolean {
      const parts = relPath.split('/');
      const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
      let ignored = false;
      for (const r of rules) if (prefixes.some((p) => r.re.test(p))) ignored = !r.negate;
      return ignored;
    },
  };
}

/** Copy the repository as Docker would send it as build context (honouring .dockerignore) into `dest`. */
export function copyBuildContext(dest: string): void {
  const root = repoRoot();
  const ignore = parseDockerignore(readFileSync(path.join(root, '.dockerignore'), 'utf8'));
  const negations = readFileSync(path.join(root, '.dockerignore'), 'utf8')
    .split('\n')
    .filter((l) => l.trim().startsWith('!'))
    .map((l) => l.trim().slice(1).replace(/^\/+/, ''));
  cpSync(root, dest, {
    recursive: true,
    filter: (src) => {
      const rel = path.relative(root, src).split(path.sep).join('/');
      if (rel === '') return true;
      if (!ignore.ignored(rel)) return true;
      // An ignored directory is still entered when a `!` pattern re-includes something below it.
      return negations.some((n) => n.startsWith(rel + '/')) && existsSync(src);
    },
  });
}
