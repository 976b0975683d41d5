/**
 * Entry of one `switchboard bench --workers N` load worker process (forked by the parent with the
 * bench's node flags). Talks to the parent over IPC (`load-ipc.ts`): `ready`; on `login` logs its
 * users in and answers `logged-in`; on `start` runs the load from the common start time with a
 * `progress` message every second, then sends `result` and exits. SIGINT/SIGTERM (a Ctrl-C reaches
 * the whole process group) and `abort` end the load early as in the parent; the worker still drains
 * and reports. Any failure is an `error` message and exit code 1.
 */
import { LOAD_WORKER_REPORT_INTERVAL_MS } from '../../shared/defaults.js';
import type { LoadParentMessage, LoadWorkerMessage } from './load-ipc.js';
import { WorkerLoad } from './worker-load.js';

function send(m: LoadWorkerMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send || !process.connected) return resolve();
    process.send(m, undefined, {}, () => resolve());
  });
}

if (!process.send) {
  process.stderr.write('load-worker: must be started by `switchboard bench --workers N` (child_process.fork with IPC)\n');
  process.exit(2);
}

let load: WorkerLoad | null = null;
let aborted = false;
const io = { log: () => {} };

async function fail(err: unknown): Promise<never> {
  load?.stop();
  await send({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  process.exit(1);
}

async function runLoad(startAt: number): Promise<void> {
  const l = load;
  if (!l) return fail(new Error('start before login'));
  const progress = setInterval(() => void send({ type: 'progress', progress: l.progress() }), LOAD_WORKER_REPORT_INTERVAL_MS);
  try {
    const part = await l.run(startAt, () => aborted);
    clearInterval(progress);
    await send({ type: 'result', part });
    process.exit(0);
  } catch (err) {
    clearInterval(progress);
    await fail(err);
  }
}

process.on('message', (m: LoadParentMessage) => {
  if (m.type === 'login' && load === null) {
    WorkerLoad.logIn(m.job, io).then((l) => {
      load = l;
      return send({ type: 'logged-in', login: l.login });
    }, fail);
  } else if (m.type === 'start') {
    void runLoad(m.startAt);
  } else if (m.type === 'abort') {
    aborted = true;
  }
});
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => (aborted = true));
// The parent is gone (crashed or killed): nothing left to report to.
process.on('disconnect', () => process.exit(0));
void send({ type: 'ready', pid: process.pid });
