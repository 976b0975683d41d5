/**
 * Entry of one `switchboard bench idle` client worker process (started by the parent with
 * `child_process.fork`, same node flags as the bench). Holds its share of the users in an
 * `IdleFleet` and talks to the parent over IPC (`idle-ipc.ts`): `ready`, then a `progress` message
 * every 250 ms, `logged-in` once its users are in, and `final` when told to `stop`.
 */
import { IdleFleet } from './idle-fleet.js';
import type { ParentMessage, WorkerMessage } from './idle-ipc.js';
import { IDLE_WORKER_REPORT_INTERVAL_MS } from '../shared/defaults.js';

function send(m: WorkerMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send || !process.connected) return resolve();
    process.send(m, undefined, {}, () => resolve());
  });
}

if (!process.send) {
  process.stderr.write('idle-worker: must be started by `switchboard bench idle` (child_process.fork with IPC)\n');
  process.exit(2);
}

let fleet: IdleFleet | null = null;
let progress: NodeJS.Timeout | null = null;

process.on('message', (m: ParentMessage) => {
  if (m.type === 'login' && fleet === null) {
    const f = new IdleFleet(m.job);
    fleet = f;
    progress = setInterval(() => {
      void send({ type: 'progress', counters: f.counters(), loginsPerSecond: f.takeLoginsPerSecond() });
    }, IDLE_WORKER_REPORT_INTERVAL_MS);
    f.loginAll().then(
      () =>
        send({
          type: 'logged-in',
          counters: f.counters(),
          loginsPerSecond: f.takeLoginsPerSecond(),
          firstStartAt: f.firstStartAt,
          lastLoginAt: f.lastLoginAt,
          loginLatency: f.loginLatencySnapshot(),
        }),
      async (err: unknown) => {
        await send({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
        process.exit(1);
      },
    );
  } else if (m.type === 'stop') {
    if (progress) clearInterval(progress);
    // Count who is still online before closing anything.
    const byGateway = fleet ? fleet.openByGateway() : [];
    const counters = fleet ? fleet.counters() : IdleFleet.emptyCounters();
    counters.online = byGateway.reduce((a, b) => a + b, 0);
    fleet?.close();
    void send({ type: 'final', counters, onlineByGateway: byGateway }).then(() => process.exit(0));
  }
});
// The parent is gone (crashed or killed): nothing left to report to.
process.on('disconnect', () => process.exit(0));
void send({ type: 'ready', pid: process.pid });
