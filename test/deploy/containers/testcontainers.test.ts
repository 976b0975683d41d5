import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { connect as tcpConnect } from 'node:net';
import { connect as amqpConnect } from 'amqplib';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { waitFor } from '@switchboard/core';
import { DEFAULT_REDIS_URL, locateService } from '@switchboard/testkit';
import { REPO, containersWith, run, type ContainerSummary } from './podman.js';

// The order the README promises for the integration tests' Redis and RabbitMQ, exercised for real on podman:
// IM_REDIS_URL / IM_AMQP_URL when set → a container started by testcontainers when a Docker API answers (here
// podman's, with the stand-in images of deploy/local-images.sh and its stand-in reaper) → the loopback default.
// Then the integration project runs in a child vitest with DOCKER_HOST set and no IM_*_URL: every file gets its
// services from testcontainers, and the reaper removes the containers after each file's process ends.
// SWITCHBOARD_TESTCONTAINERS_SUITE=quick runs three of its files instead of all of them.

const setup = inject('podman');

/** One inline command to the Redis at `url`; resolves with the first reply bytes. */
function redisInline(url: string, command: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const sock = tcpConnect({ host: hostname, port: Number(port) }, () => sock.write(`${command}\r\n`));
    sock.setTimeout(5_000, () => sock.destroy(new Error(`no answer from ${url}`)));
    sock.once('data', (d) => {
      resolve(d.toString('latin1'));
      sock.end();
    });
    sock.once('error', reject);
  });
}
const QUICK = ['packages/testkit/test/integration/services.test.ts', 'packages/cluster/test/integration/amqp-bridge.test.ts', 'packages/cluster/test/integration/redis-route-store.test.ts'];

describe.skipIf(setup.state === 'skip')('testcontainers on podman: IM_*_URL → testcontainers → loopback', () => {
  const ready = setup.state === 'ready' ? setup : null;
  const socket = ready?.socket ?? '';
  const saved = { ...process.env };
  let work = '';

  /** The environment testcontainers reads (it reads process.env itself, and some of it when first imported). */
  function useDocker(dockerHost: string): void {
    Object.assign(process.env, ready!.env, { DOCKER_HOST: dockerHost, TESTCONTAINERS_RYUK_TEST_LABEL: 'true' });
  }

  beforeAll(() => {
    if (!ready) throw new Error(`the container tests cannot run: ${setup.state === 'error' ? setup.reason : 'no setup'}`);
    work = mkdtempSync(path.join(tmpdir(), 'sb-testcontainers-'));
  });
  afterAll(() => {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('IM_REDIS_URL / IM_AMQP_URL set: used as they are, even with a Docker API reachable', async () => {
    useDocker(`unix://${socket}`);
    const env = { DOCKER_HOST: `unix://${socket}`, IM_REDIS_URL: DEFAULT_REDIS_URL, IM_AMQP_URL: 'amqp://guest:guest@127.0.0.1:5672' };
    expect(await locateService('redis', { env })).toBe(DEFAULT_REDIS_URL);
    expect(await locateService('amqp', { env })).toBe('amqp://guest:guest@127.0.0.1:5672');
  });

  it('no URL, a Docker API: testcontainers starts the stand-in Redis and RabbitMQ, which answer', async () => {
    useDocker(`unix://${socket}`);
    const env = { DOCKER_HOST: `unix://${socket}` };
    // No loopback fallback here (a port nothing listens on): a container that fails to start fails the test.
    const redisUrl = await locateService('redis', { env, localUrl: 'redis://127.0.0.1:1' });
    const amqpUrl = await locateService('amqp', { env, localUrl: 'amqp://guest:guest@127.0.0.1:1' });
    const mapped = (url: string) => Number(new URL(url).port);
    const running = (await containersWith(socket, 'org.testcontainers=true')).filter((c) => c.State === 'running');
    const publishing = (image: string, port: number) =>
      running.some((c) => c.Image.endsWith(image.replace(/^localhost\//, '')) && (c.Ports ?? []).some((p) => p.PublicPort === port));
    expect(publishing(ready!.env['SWITCHBOARD_TEST_REDIS_IMAGE']!, mapped(redisUrl)), `a stand-in Redis container publishes ${redisUrl}`).toBe(true);
    expect(publishing(ready!.env['SWITCHBOARD_TEST_RABBITMQ_IMAGE']!, mapped(amqpUrl)), `a stand-in RabbitMQ container publishes ${amqpUrl}`).toBe(true);

    expect(await redisInline(redisUrl, 'INFO server')).toMatch(/redis_version:/);
    expect(await redisInline(redisUrl, 'PING')).toMatch(/^\+PONG/);
    const conn = await amqpConnect(amqpUrl);
    const ch = await conn.createChannel();
    const q = await ch.assertQueue('', { exclusive: true });
    ch.sendToQueue(q.queue, Buffer.from('through testcontainers'));
    await waitFor(async () => ((await ch.get(q.queue, { noAck: true })) || null), { timeoutMs: 5_000, what: 'the message back' });
    await conn.close();
  });

  // In a process of its own: testcontainers reads its configuration (DOCKER_HOST) once per process and keeps it.
  it('no URL and no working Docker API: testcontainers fails, the loopback default answers', async () => {
    const dead = `unix://${path.join(work, 'nobody.sock')}`;
    const env: NodeJS.ProcessEnv = { ...saved, ...ready!.env, DOCKER_HOST: dead };
    delete env['IM_REDIS_URL'];
    const script =
      "const { locateService } = await import('@switchboard/testkit');" +
      "process.stdout.write('URL ' + await locateService('redis', { env: process.env }) + '\\n');";
    const r = await run(process.execPath, ['--conditions=source', '--import', 'tsx', '--input-type=module', '-e', script], { env, timeoutMs: 60_000, cwd: REPO });
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain(`URL ${DEFAULT_REDIS_URL}\n`);
  });

  it('the integration project through testcontainers: every file passes, and its containers are reaped afterwards', async () => {
    const quick = process.env['SWITCHBOARD_TESTCONTAINERS_SUITE'] === 'quick';
    const results = path.join(work, 'results.json');
    // SWITCHBOARD_TEST_REQUIRE_CONTAINERS: no loopback fallback, every file's services must come from containers.
    const env: NodeJS.ProcessEnv = { ...saved, ...ready!.env, TESTCONTAINERS_RYUK_TEST_LABEL: 'true', SWITCHBOARD_TEST_REQUIRE_CONTAINERS: '1' };
    delete env['IM_REDIS_URL'];
    delete env['IM_AMQP_URL'];
    // Containers the child starts: every testcontainers container that appears while it runs.
    const before = new Set((await containersWith(socket, 'org.testcontainers=true')).map((c) => c.Id));
    const seen = new Map<string, ContainerSummary>();
    const poll = setInterval(() => {
      void containersWith(socket, 'org.testcontainers=true').then(
        (list) => list.filter((c) => !before.has(c.Id)).forEach((c) => seen.set(c.Id, c)),
        () => {},
      );
    }, 500);
    const t0 = Date.now();
    const child = await run(
      process.execPath,
      [path.join(REPO, 'node_modules', 'vitest', 'vitest.mjs'), 'run', '--project', 'integration', '--reporter=dot', '--reporter=json', `--outputFile.json=${results}`, ...(quick ? QUICK : [])],
      { env, timeoutMs: 12 * 60_000 },
    ).finally(() => clearInterval(poll));
    const ms = Date.now() - t0;
    const r = JSON.parse(readFileSync(results, 'utf8')) as { numPassedTests: number; numFailedTests: number; numTotalTestSuites: number; testResults: Array<{ name: string; status: string }> };
    expect(child.code, child.out.slice(-6000)).toBe(0);
    expect(r.numFailedTests).toBe(0);
    expect(r.numPassedTests).toBeGreaterThan(0);
    const images = new Set([...seen.values()].map((c) => c.Image));
    const redisContainers = [...seen.values()].filter((c) => c.Image.includes('redis')).length;
    const rabbitContainers = [...seen.values()].filter((c) => c.Image.includes('rabbitmq')).length;
    expect(redisContainers, `images seen: ${[...images].join(', ')}`).toBeGreaterThan(0);
    expect(rabbitContainers, `images seen: ${[...images].join(', ')}`).toBeGreaterThan(0);
    // Ryuk's stand-in removes a process's containers ~10 s after the process has gone.
    await waitFor(
      async () => {
        const left = (await containersWith(socket, 'org.testcontainers=true')).filter((c) => seen.has(c.Id));
        return left.length === 0 ? true : null;
      },
      { timeoutMs: 60_000, intervalMs: 1_000, what: 'the reaper to remove the containers of the integration run' },
    );
    console.info(
      `containers/testcontainers: ${quick ? 'quick' : 'whole'} integration project through testcontainers in ${(ms / 1000).toFixed(1)} s: ` +
        `${r.testResults.length} files, ${r.numPassedTests} tests passed, ${redisContainers} Redis and ${rabbitContainers} RabbitMQ containers started and reaped`,
    );
  });
});
