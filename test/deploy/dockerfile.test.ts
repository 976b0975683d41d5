import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cliSources, copySources, execForm, parseDockerfile, parseDockerignore, repoPath } from './deploy-files.js';

// No Docker engine here (toolchain.md), and no hadolint: the image is checked statically, and its file tree is
// built and run without Docker by compose.test.ts (the same pnpm commands as the build stage).

const dockerfile = parseDockerfile(readFileSync(repoPath('deploy/Dockerfile'), 'utf8'));
const ignore = parseDockerignore(readFileSync(repoPath('.dockerignore'), 'utf8'));
const rootPkg = JSON.parse(readFileSync(repoPath('package.json'), 'utf8')) as { packageManager: string };
const final = dockerfile.stages.at(-1)!;
const runs = (stage: string) => dockerfile.of(stage, 'RUN').map((r) => r.args);

describe('deploy/Dockerfile', () => {
  it('stages - multi-stage build on a Node 20 slim base', () => {
    expect(dockerfile.stages.length).toBeGreaterThanOrEqual(2);
    for (const s of dockerfile.stages) expect(s.from).toMatch(/^node:20(\.[\d.]+)?-(bookworm-|bullseye-)?slim$/);
  });

  it('COPY - every source exists in the build context and .dockerignore does not drop it', () => {
    const stageNames = new Set(dockerfile.stages.map((s) => s.name));
    const copies = dockerfile.instructions.filter((i) => i.op === 'COPY' || i.op === 'ADD');
    expect(copies.length).toBeGreaterThan(0);
    for (const c of copies) {
      const { from, sources } = copySources(c.args);
      if (from !== null) {
        expect(stageNames.has(from), `line ${c.line}: --from=${from} names no stage`).toBe(true);
        continue;
      }
      for (const src of sources) {
        if (src === '.') continue;
        expect(existsSync(repoPath(src)), `line ${c.line}: COPY source ${src} does not exist`).toBe(true);
        expect(ignore.ignored(src), `line ${c.line}: COPY source ${src} is excluded by .dockerignore`).toBe(false);
      }
    }
  });

  it('.dockerignore - keeps node_modules, dist and .git out of the context, keeps manifests and sources in', () => {
    for (const p of ['node_modules', 'packages/cli/node_modules/x', 'packages/core/dist/index.js', '.git/HEAD', 'docs/operations.md', 'test/deploy/compose.test.ts']) {
      expect(ignore.ignored(p), p).toBe(true);
    }
    for (const p of ['package.json', 'pnpm-lock.yaml', 'pnpm-workspace.yaml', '.npmrc', 'tsconfig.base.json', 'packages/cli/src/main.ts', 'packages/cli/bin/switchboard.mjs', 'packages/cluster/src/redis/lua/route-claim.lua', 'deploy/docker/healthcheck.mjs']) {
      expect(ignore.ignored(p), p).toBe(false);
    }
  });

  it('build - pnpm pinned to packageManager, frozen lockfile, every package built, production-only deploy', () => {
    const build = runs(dockerfile.stages[0]!.name).join('\n');
    const pnpm = rootPkg.packageManager.replace(/^pnpm@/, '');
    expect(build).toContain(`pnpm@${pnpm}`);
    expect(build).toMatch(/pnpm install --frozen-lockfile/);
    expect(build).toContain("pnpm -r --filter './packages/**' build");
    expect(build).toMatch(/pnpm --filter switchboard deploy --prod/);
    // The final stage takes only the deployed tree from the build stage: no dev dependencies, no sources tree.
    const fromBuild = dockerfile.of(final.name, 'COPY').filter((c) => copySources(c.args).from !== null);
    expect(fromBuild.map((c) => copySources(c.args).sources)).toEqual([['/out']]);
    expect(runs(final.name).join('\n')).not.toMatch(/pnpm|npm install/);
  });

  it('runtime - IM_READY_FILE for the health check, a path the node user can write, a known config variable', () => {
    const envs = dockerfile.of(final.name, 'ENV').map((e) => e.args).join(' ');
    const file = /IM_READY_FILE=(\S+)/.exec(envs)?.[1];
    expect(file).toMatch(/^\/tmp\/[\w.-]+$/);
    expect(readFileSync(repoPath('packages/cli/src/config.ts'), 'utf8')).toMatch(/^\s+IM_READY_FILE:/m);
    expect(readFileSync(repoPath('deploy/docker/healthcheck.mjs'), 'utf8')).toContain('IM_READY_FILE');
  });

  it('base image - one NODE_IMAGE argument for both stages (docker-compose.yml passes SWITCHBOARD_NODE_IMAGE)', () => {
    expect(readFileSync(repoPath('deploy/Dockerfile'), 'utf8')).toMatch(/^ARG NODE_IMAGE=node:20-bookworm-slim$/m);
    for (const f of dockerfile.instructions.filter((i) => i.op === 'FROM')) expect(f.args).toMatch(/^\$\{NODE_IMAGE\} AS \w+$/);
  });

  it('runtime - non-root user, HEALTHCHECK through the health script, CMD `switchboard <role>` with a role the CLI knows', () => {
    const user = dockerfile.of(final.name, 'USER');
    expect(user.length).toBe(1);
    expect(user[0]!.args).not.toMatch(/^(root|0)(:|$)/);
    const health = dockerfile.of(final.name, 'HEALTHCHECK');
    expect(health.length).toBe(1);
    const hc = execForm(health[0]!.args);
    expect(hc.slice(0, 2)).toEqual(['node', '/app/deploy/healthcheck.mjs']);
    const copied = dockerfile.of(final.name, 'COPY').map((c) => copySources(c.args));
    expect(copied.some((c) => c.sources.includes('deploy/docker/healthcheck.mjs') && c.dest === '/app/deploy/')).toBe(true);

    const cmd = execForm(dockerfile.of(final.name, 'CMD')[0]!.args);
    expect(cmd[0]).toBe('switchboard');
    const usage = cliSources().map((t) => /Usage: switchboard[\s\S]*?`/.exec(t)?.[0] ?? '').join('\n');
    const commands = [...usage.matchAll(/^ {2}([a-z]+)\s{2,}/gm)].map((m) => m[1]);
    expect(commands).toContain(cmd[1]);
    // `switchboard` resolves to the CLI's bin, which runs dist/ when it exists.
    expect(runs(final.name).join('\n')).toContain('exec node /app/bin/switchboard.mjs');
    expect(readFileSync(repoPath('packages/cli/bin/switchboard.mjs'), 'utf8')).toContain("'dist', 'main.js'");
  });
});
