import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Config } from './config.js';
import { clearReadyFile, writeReadyFile } from './ready-file.js';

/**
 * `switchboard cluster --gateways N`: dispatch and N gateways as child processes of this one,
 * for a machine without Docker. Children inherit the environment; gateways bind free ports.
 * Every child's output is forwarded; SIGINT/SIGTERM stop all children.
 */
export async function runCluster(cfg: Config, gateways: number): Promise<void> {
  clearReadyFile(cfg.readyFile);
  const script = process.argv[1]!;
  const children: ChildProcess[] = [];
  const readies: Record<string, unknown>[] = [];
  let stopping = false;

  const start = (role: string, env: NodeJS.ProcessEnv) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const child = spawn(process.execPath, [...process.execArgv, script, role], {
        env: childEnv(env),
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      children.push(child);
      let ready = false;
      createInterface({ input: child.stdout! }).on('line', (line) => {
        process.stdout.write(line + '\n');
        if (!ready && line.includes('"event":"ready"')) {
          ready = true;
          resolve(JSON.parse(line) as Record<string, unknown>);
        }
      });
      child.on('exit', (code, signal) => {
        // The child printed why (one line on stderr); its exit code is passed on (2: configuration).
        if (!ready) reject(Object.assign(new Error(`${role} exited before it was ready (code ${code}, signal ${signal})`), { exitCode: code === 2 ? 2 : 1 }));
        else if (!stopping) process.stderr.write(`switchboard cluster: ${role} exited (code ${code}, signal ${signal})\n`);
      });
    });

  const childEnv = (extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv => {
    const e = { ...process.env, ...extra };
    delete e['IM_NODE_ID']; // every gateway gets a fresh id
    delete e['IM_READY_FILE']; // the cluster's own ready line goes there, not each child's
    return e;
  };

  const stopAll = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    const exits = children.filter((c) => c.exitCode === null && c.signalCode === null).map(
      (c) =>
        new Promise<void>((r) => {
          c.once('exit', () => r());
          c.kill('SIGTERM');
          setTimeout(() => c.kill('SIGKILL'), cfg.drainTimeoutMs + 2_000).unref();
        }),
    );
    await Promise.all(exits);
  };
  process.once('SIGINT', () => void stopAll().then(() => process.exit(0)));
  process.once('SIGTERM', () => void stopAll().then(() => process.exit(0)));

  try {
    readies.push(await start('dispatch', {}));
    const gws = await Promise.all(
      Array.from({ length: gateways }, () =>
        start('gateway', { IM_WS_PORT: '0', IM_TCP_PORT: '0', IM_UDP_PORT: '0', IM_ADMIN_PORT: '0' }),
      ),
    );
    readies.push(...gws);
  } catch (err) {
    process.stderr.write(`switchboard cluster: ${(err as Error).message}\n`);
    await stopAll();
    process.exit((err as { exitCode?: number }).exitCode ?? 1);
  }
  process.stdout.write(
    JSON.stringify({
      event: 'ready',
      role: 'cluster',
      ports: { dispatch: (readies[0]!['ports'] as { dispatch: number }).dispatch },
      gateways: readies.slice(1).map((r) => ({ nodeId: r['nodeId'], ports: r['ports'] })),
    }) + '\n',
  );
  writeReadyFile(cfg.readyFile, { event: 'ready', role: 'cluster', ports: { dispatch: (readies[0]!['ports'] as { dispatch: number }).dispatch } });
}
