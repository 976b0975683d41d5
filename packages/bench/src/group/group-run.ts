import { loadavg } from 'node:os';
import { putGroup } from '../shared/dispatch-client.js';
import { processReport } from '../shared/proc.js';
import { installSignalStop, type RunIo } from '../shared/run-io.js';
import type { Sut } from '../shared/sut.js';
import { pool } from '../shared/wait.js';
import { machineInfo, startSut } from '../load/run.js';
import { groupId, type GroupOptions } from './group-args.js';
import { runGroupPhase } from './group-phase.js';
import { groupChecks, type GroupReport } from './group-report.js';

/**
 * Run group mode as `opts` says: start the system under test if asked, create the groups through
 * dispatch's admin API, run the group phase (login, load, drain, collect), stop what it started.
 * Never throws for a bad result (the report's `checks` say so); throws when the run itself fails
 * (no dispatch, a group refused, fewer than two users logged in).
 */
export async function runGroupBench(opts: GroupOptions, io: RunIo): Promise<GroupReport> {
  const startedAt = new Date().toISOString();
  const loadAvgAtStart = loadavg()[0] ?? NaN;
  let sut: Sut | null = null;
  const stopSignals = installSignalStop(io);
  try {
    sut = await startSut(opts, io);
    const dispatchUrl = sut ? sut.dispatchUrl : opts.target.kind === 'dispatch' ? opts.target.url : null;
    if (dispatchUrl === null) throw new Error('group mode needs a dispatch target (the argument parser refuses --ws)');
    await createGroups(dispatchUrl, opts, io);
    const group = await runGroupPhase(opts, { dispatchUrl, sut, pids: null, chaos: [], io, aborted: () => stopSignals.aborted });
    if (sut) {
      io.log('stopping the system under test…');
      await sut.stop();
    }
    return {
      version: 1,
      mode: 'group',
      startedAt,
      finishedAt: new Date().toISOString(),
      machine: machineInfo(loadAvgAtStart),
      options: opts,
      target: { kind: opts.target.kind, dispatch: dispatchUrl },
      group,
      processes: sut ? sut.processes.map(processReport) : [],
      checks: groupChecks(group, stopSignals.aborted),
    };
  } finally {
    stopSignals.dispose();
    if (sut) await sut.stop();
  }
}

/** `PUT /admin/groups/:gid` for every group: group g has users g·M … g·M + M − 1 of this run. */
async function createGroups(dispatchUrl: string, opts: GroupOptions, io: RunIo): Promise<void> {
  const { groups, members, adminToken } = opts.group;
  io.log(`creating ${groups} group(s) of ${members} members through ${dispatchUrl}/admin/groups…`);
  const t0 = performance.now();
  const ids = Array.from({ length: groups }, (_, g) => g);
  await pool(ids, 8, (g) =>
    putGroup(
      dispatchUrl,
      groupId(opts.uidPrefix, g),
      { name: `bench group ${g}`, members: Array.from({ length: members }, (_, k) => `${opts.uidPrefix}${g * members + k}`) },
      adminToken,
    ),
  );
  io.log(`groups created in ${Math.round(performance.now() - t0)} ms`);
}
