/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
import { applyStatic, I18n, isLang, LANG_NAMES, LANGS } from '../i18n/i18n.js';
import { AdminApi, AdminApiError, type AdminNode, type AdminStats, type AdminUser } from './api.js';
import { SeriesChart } from './charts.js';
import { formatAddress, formatAge, formatClock, formatCpu, formatLag, formatNumber, loadScore } from './format.js';
import { ADMIN_CATALOGS } from './i18n/catalogs.js';

// The admin dashboard (architecture §10), served by dispatch at /admin/. It asks for the admin
// token, then polls GET /admin/nodes and GET /admin/stats every POLL_INTERVAL_MS and renders the
// gateways, the totals and two charts; it looks users up, kicks them and drains gateways after a
// confirmation. Everything goes through dispatch's admin API on this page's own origin.

/** How often the dashboard refreshes, ms: dispatch samples its history every 2 s too. */
export const POLL_INTERVAL_MS = 2_000;
/** sessionStorage key of the admin token: kept per tab, gone when the tab closes. */
export const TOKEN_KEY = 'switchboard.adminToken';

function el<T extends HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (!e) throw new Error(`#${id} missing from admin/index.html`);
  return e as T;
}

const ui = {
  tokenView: el('token-view'),
  tokenLang: el<HTMLSelectElement>('token-lang'),
  dashLang: el<HTMLSelectElement>('dash-lang'),
  tokenForm: el<HTMLFormElement>('token-form'),
  tokenInput: el<HTMLInputElement>('token-input'),
  tokenButton: el<HTMLButtonElement>('token-button'),
  tokenError: el('token-error'),
  dashView: el('dash-view'),
  live: el('live'),
  forget: el<HTMLButtonElement>('forget-button'),
  pollError: el('poll-error'),
  totalGateways: el('total-gateways'),
  totalDraining: el('total-draining'),
  totalConnections: el('total-connections'),
  totalMsgRate: el('total-msgrate'),
  chartMsgRate: el('chart-msgrate'),
  chartConnections: el('chart-connections'),
  gatewayRows: el<HTMLTableSectionElement>('gateway-rows'),
  noGateways: el('no-gateways'),
  findForm: el<HTMLFormElement>('find-form'),
  findInput: el<HTMLInputElement>('find-input'),
  findButton: el<HTMLButtonElement>('find-button'),
  findResult: el('find-result'),
  userForm: el<HTMLFormElement>('user-form'),
  userInput: el<HTMLInputElement>('user-input'),
  userButton: el<HTMLButtonElement>('user-button'),
  userError: el('user-error'),
  userResult: el('user-result'),
  userId: el('user-id'),
  userOnline: el('user-online'),
  userNode: el('user-node'),
  userConn: el('user-conn'),
  userSince: el('user-since'),
  userQueue: el('user-queue'),
  kick: el<HTMLButtonElement>('kick-button'),
  actionStatus: el('action-status'),
  confirm: el<HTMLDialogElement>('confirm'),
  confirmForm: el<HTMLFormElement>('confirm-form'),
  confirmTitle: el('confirm-title'),
  confirmText: el('confirm-text'),
  reasonRow: el('reason-row'),
  reasonInput: el<HTMLInputElement>('reason-input'),
  confirmError: el('confirm-error'),
  confirmCancel: el<HTMLButtonElement>('confirm-cancel'),
  confirmOk: el<HTMLButtonElement>('confirm-ok'),
};

let api: AdminApi | null = null;
/** Bumped on every sign-in and sign-out, so answers of an older session are ignored. */
let session = 0;
let pollTimer: ReturnType<typeof setTimeout> | null = null;
let charts: { msgRate: SeriesChart; connections: SeriesChart } | null = null;
let nodes: AdminNode[] = [];
/** Gateways this page asked to drain: shown as draining at once, and reported when they leave. */
const drainRequested = new Set<string>();
/** The user shown in the lookup panel, refreshed with every poll. */
let shownUser: AdminUser | null = null;
let lastUpdate = 0;
/** The gateway row the "find a user" box points at (the user's node), until the next search. */
let foundNode: string | null = null;

// ---------------------------------------------------------------- token

function readToken(): string | null {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null; // storage disabled: ask every time
  }
}

function writeToken(token: string | null): void {
  try {
    if (token === null) sessionStorage.removeItem(TOKEN_KEY);
    else sessionStorage.setItem(TOKEN_KEY, token);
  } catch {
    // storage disabled: the token lives as long as the page
  }
}

function authMessage(err: AdminApiError, hadToken: boolean): string {
  if (err.status === 403) {
    return 'Dispatch refused the request (403): it runs without IM_ADMIN_TOKEN and answers admin requests only from its own machine. Open the dashboard there, or give dispatch an admin token.';
  }
  return hadToken
    ? 'Dispatch refused this token (401). Enter the IM_ADMIN_TOKEN the cluster runs with.'
    : 'Dispatch needs an admin token (401). Enter the IM_ADMIN_TOKEN the cluster runs with.';
}

function askToken(message: string | null): void {
  stop();
  ui.dashView.hidden = true;
  ui.tokenView.hidden = false;
  ui.tokenError.hidden = message === null;
  ui.tokenError.textContent = message ?? '';
  ui.tokenButton.disabled = false;
  ui.tokenInput.value = '';
  ui.tokenInput.focus();
}

/** Try `token` with one request; open the dashboard when it works, else ask again saying why. */
async function signIn(token: string): Promise<void> {
  const mine = ++session;
  const candidate = new AdminApi(location.origin, token);
  ui.tokenButton.disabled = true;
  ui.tokenError.hidden = true;
  try {
    const first = await candidate.nodes();
    if (mine !== session) return;
    writeToken(token);
    api = candidate;
    ui.tokenView.hidden = true;
    ui.dashView.hidden = false;
    charts ??= {
      msgRate: new SeriesChart({ host: ui.chartMsgRate, label: 'Messages per second', field: 'msgRate', stroke: '#07a35a', fill: 'rgba(7, 163, 90, 0.12)' }),
      connections: new SeriesChart({ host: ui.chartConnections, label: 'Connections', field: 'connections', stroke: '#2f6fde', fill: 'rgba(47, 111, 222, 0.12)' }),
    };
    renderNodes(first);
    void poll(mine);
  } catch (err) {
    if (mine !== session) return;
    writeToken(null);
    if (err instanceof AdminApiError && err.kind === 'auth') askToken(authMessage(err, token !== ''));
    else askToken(`Could not open the dashboard: ${errorText(err)}`);
  }
}

function stop(): void {
  session++;
  if (pollTimer) clearTimeout(pollTimer);
  pollTimer = null;
  api = null;
}

// ---------------------------------------------------------------- polling

/** One refresh of nodes, stats and the shown user; schedules the next one (never two at once). */
async function poll(mine: number): Promise<void> {
  const a = api;
  if (!a || mine !== session) return;
  try {
    const [n, s] = await Promise.all([a.nodes(), a.stats()]);
    if (mine !== session) return;
    renderNodes(n);
    renderStats(s);
    lastUpdate = Date.now();
    setLive('live', `Live · updated ${formatClock(lastUpdate)}`);
    setPollError(null);
    if (shownUser) await refreshUser(shownUser.userId, mine, false);
  } catch (err) {
    if (mine !== session) return;
    if (err instanceof AdminApiError && err.kind === 'auth') {
      writeToken(null);
      askToken(authMessage(err, a.token !== ''));
      return;
    }
    setLive('stale', lastUpdate ? `Not updating · last update ${formatClock(lastUpdate)}` : 'Not updating');
    setPollError(`${errorText(err)}. Retrying every ${POLL_INTERVAL_MS / 1000} s; the figures below are from the last successful update.`);
  }
  if (mine === session) pollTimer = setTimeout(() => void poll(mine), POLL_INTERVAL_MS);
}

/** Refresh at once (after an action) instead of waiting for the next tick. */
function pollNow(): void {
  if (!api) return;
  if (pollTimer) clearTimeout(pollTimer);
  pollTimer = null;
  void poll(session);
}

function setLive(state: 'live' | 'stale', text: string): void {
  ui.live.dataset['state'] = state;
  ui.live.textContent = text;
}

function setPollError(text: string | null): void {
  ui.pollError.hidden = text === null;
  ui.pollError.textContent = text ?? '';
  ui.dashView.classList.toggle('stale', text !== null);
}

// ---------------------------------------------------------------- rendering

const COLUMNS = ['id', 'state', 'address', 'connections', 'load', 'lag', 'cpu', 'rate', 'age'] as const;
type Column = (typeof COLUMNS)[number];
const NUMERIC: ReadonlySet<Column> = new Set(['connections', 'load', 'lag', 'cpu', 'rate', 'age']);

function renderNodes(list: AdminNode[]): void {
  const now = Date.now();
  const live = new Set(list.map((n) => n.id));
  for (const id of [...drainRequested]) {
    if (live.has(id)) continue;
    drainRequested.delete(id);
    setActionStatus(`${id} drained and left the cluster.`);
  }
  nodes = list;
  const rows = new Map<string, HTMLTableRowElement>();
  for (const tr of ui.gatewayRows.rows) rows.set(tr.dataset['node'] ?? '', tr);
  for (const [id, tr] of rows) if (!live.has(id)) tr.remove();
  list.forEach((n, i) => {
    const tr = rows.get(n.id) ?? createRow(n.id);
    const state = n.state === 'draining' || drainRequested.has(n.id) ? 'draining' : 'active';
    tr.dataset['state'] = state;
    tr.dataset['reportedState'] = n.state; // what dispatch says, before the page's own note of a drain request
    const text: Record<Column, string> = {
      id: n.id,
      state,
      address: formatAddress(n),
      connections: String(n.connections),
      load: formatNumber(loadScore(n)),
      lag: formatLag(n.loopLagMs),
      cpu: formatCpu(n.cpu),
      rate: formatNumber(n.msgRate),
      age: formatAge(n.startedAt, now),
    };
    COLUMNS.forEach((c, j) => {
      const cell = tr.cells[j]!;
      if (cell.textContent !== text[c]) cell.textContent = text[c];
    });
    tr.cells[COLUMNS.indexOf('age')]!.title = `started ${new Date(n.startedAt).toLocaleString()}, last report ${formatClock(n.reportedAt)}`;
    const drain = tr.querySelector('button')!;
    drain.disabled = state === 'draining';
    tr.classList.toggle('found', n.id === foundNode);
    if (ui.gatewayRows.rows[i] !== tr) ui.gatewayRows.insertBefore(tr, ui.gatewayRows.rows[i] ?? null);
  });
  ui.noGateways.hidden = list.length > 0;
}

function createRow(id: string): HTMLTableRowElement {
  const tr = document.createElement('tr');
  tr.dataset['node'] = id;
  for (const c of COLUMNS) {
    const cell = document.createElement(c === 'id' ? 'th' : 'td');
    if (c === 'id') cell.setAttribute('scope', 'row');
    cell.className = `col-${c}${NUMERIC.has(c) ? ' num' : ''}`;
    tr.append(cell);
  }
  const actions = document.createElement('td');
  const drain = document.createElement('button');
  drain.type = 'button';
  drain.className = 'danger small';
  drain.textContent = 'Drain…';
  drain.setAttribute('aria-label', `Drain ${id}`);
  drain.addEventListener('click', () => confirmDrain(id));
  actions.append(drain);
  tr.append(actions);
  return tr;
}

function renderStats(s: AdminStats): void {
  ui.totalGateways.textContent = String(s.gateways);
  ui.totalDraining.textContent = String(s.draining);
  ui.totalConnections.textContent = formatNumber(s.connections);
  ui.totalMsgRate.textContent = formatNumber(s.msgRate);
  charts?.msgRate.update(s.history);
  charts?.connections.update(s.history);
}

// ---------------------------------------------------------------- user lookup

/** "Find a user's gateway": asks GET /admin/users/:uid and marks the row of the node holding the user. */
async function findUser(uid: string): Promise<void> {
  const a = api;
  if (!a || !uid) return;
  ui.findButton.disabled = true;
  try {
    const u = await a.user(uid);
    foundNode = u.route?.nodeId ?? null;
    renderNodes(nodes);
    const row = foundNode ? ui.gatewayRows.querySelector<HTMLTableRowElement>(`tr[data-node="${CSS.escape(foundNode)}"]`) : null;
    row?.scrollIntoView({ block: 'nearest' });
    const queue = `${u.offlineQueue} message${u.offlineQueue === 1 ? '' : 's'} in its offline queue`;
    setFindResult(u.route ? `${u.userId} is on ${u.route.nodeId} (connection ${u.route.connId}, since ${new Date(u.route.since).toLocaleTimeString()})${row ? '' : ', a gateway not in the table'}.` : `${u.userId} is offline; ${queue}.`, u.online);
  } catch (err) {
    if (err instanceof AdminApiError && err.kind === 'auth') {
      writeToken(null);
      askToken(authMessage(err, a.token !== ''));
      return;
    }
    foundNode = null;
    renderNodes(nodes);
    setFindResult(`Lookup of ${uid} failed: ${errorText(err)}`, false);
  } finally {
    ui.findButton.disabled = false;
  }
}

function setFindResult(text: string | null, online: boolean): void {
  ui.findResult.hidden = text === null;
  ui.findResult.textContent = text ?? '';
  ui.findResult.dataset['online'] = String(online);
}

async function lookUp(uid: string): Promise<void> {
  if (!uid) {
    showUserError('Enter a user id.');
    return;
  }
  ui.userButton.disabled = true;
  try {
    await refreshUser(uid, session, true);
  } finally {
    ui.userButton.disabled = false;
  }
}

/** Fetch and show one user; `explicit` lookups report errors, background refreshes only note them. */
async function refreshUser(uid: string, mine: number, explicit: boolean): Promise<void> {
  const a = api;
  if (!a) return;
  try {
    const u = await a.user(uid);
    if (mine !== session) return;
    if (!explicit && shownUser?.userId !== uid) return; // another lookup replaced it meanwhile
    showUser(u);
  } catch (err) {
    if (mine !== session) return;
    if (err instanceof AdminApiError && err.kind === 'auth') {
      writeToken(null);
      askToken(authMessage(err, a.token !== ''));
      return;
    }
    if (explicit) showUserError(`Lookup of ${uid} failed: ${errorText(err)}`);
  }
}

function showUser(u: AdminUser): void {
  shownUser = u;
  ui.userError.hidden = true;
  ui.userResult.hidden = false;
  ui.userResult.dataset['online'] = String(u.online);
  ui.userId.textContent = u.userId;
  ui.userOnline.textContent = u.online ? 'online' : 'offline';
  ui.userOnline.className = u.online ? 'badge good' : 'badge muted';
  ui.userNode.textContent = u.route?.nodeId ?? '–';
  ui.userConn.textContent = u.route?.connId ?? '–';
  ui.userSince.textContent = u.route ? `${new Date(u.route.since).toLocaleTimeString()} (${formatAge(u.route.since, Date.now())} ago)` : '–';
  ui.userQueue.textContent = `${u.offlineQueue} message${u.offlineQueue === 1 ? '' : 's'}`;
  ui.kick.disabled = !u.online;
  ui.kick.setAttribute('aria-label', `Kick ${u.userId}`);
}

function showUserError(text: string): void {
  ui.userError.hidden = false;
  ui.userError.textContent = text;
}

// ---------------------------------------------------------------- confirmations

interface Confirmation {
  title: string;
  text: string;
  ok: string;
  withReason: boolean;
  /** Runs the action; resolves to the status line shown after it, or throws to keep the dialog open. */
  run: (reason: string) => Promise<string>;
}

let pending: Confirmation | null = null;

function ask(c: Confirmation): void {
  pending = c;
  ui.confirmTitle.textContent = c.title;
  ui.confirmText.textContent = c.text;
  ui.confirmOk.textContent = c.ok;
  ui.confirmOk.disabled = false;
  ui.reasonRow.hidden = !c.withReason;
  ui.reasonInput.value = '';
  ui.confirmError.hidden = true;
  ui.confirm.showModal();
  (c.withReason ? ui.reasonInput : ui.confirmCancel).focus();
}

async function confirmed(): Promise<void> {
  const c = pending;
  if (!c) return;
  ui.confirmOk.disabled = true;
  ui.confirmError.hidden = true;
  try {
    const status = await c.run(ui.reasonInput.value.trim());
    setActionStatus(status); // even when the dialog was dismissed meanwhile: the action happened
    if (pending !== c) return;
    pending = null;
    ui.confirm.close();
  } catch (err) {
    if (pending !== c) return;
    if (err instanceof AdminApiError && err.kind === 'auth') {
      pending = null;
      ui.confirm.close();
      writeToken(null);
      askToken(authMessage(err, (api?.token ?? '') !== ''));
      return;
    }
    ui.confirmError.hidden = false;
    ui.confirmError.textContent = errorText(err);
    ui.confirmOk.disabled = false;
  }
}

function confirmKick(): void {
  const u = shownUser;
  if (!u?.online) return;
  ask({
    title: `Kick ${u.userId}?`,
    text:
      `${u.userId} is signed out of ${u.route?.nodeId ?? 'its gateway'} with kickout code 2 (admin). ` +
      'Official clients do not reconnect by themselves after a kick; the user can log in again.',
    ok: `Kick ${u.userId}`,
    withReason: true,
    run: async (reason) => {
      const a = requireApi();
      const r = await a.kick(u.userId, reason);
      void refreshUser(u.userId, session, true);
      return `Kicked ${u.userId} from ${r.nodeId}.`;
    },
  });
}

function confirmDrain(id: string): void {
  const n = nodes.find((x) => x.id === id);
  const conns = n ? `its ${n.connections} connection${n.connections === 1 ? '' : 's'}` : 'its connections';
  const last = nodes.filter((x) => x.state === 'active' && x.id !== id).length === 0;
  ask({
    title: `Drain ${id}?`,
    text:
      `${id} stops getting new clients, closes ${conns} in batches so they reconnect through dispatch, ` +
      'hands undelivered messages to the offline queues, and exits.' +
      (last ? ' It is the only active gateway: clients cannot reconnect until another one starts (a standalone install stops).' : ''),
    ok: `Drain ${id}`,
    withReason: false,
    run: async () => {
      const a = requireApi();
      await a.drain(id);
      drainRequested.add(id);
      renderNodes(nodes);
      pollNow();
      return `Draining ${id}…`;
    },
  });
}

function requireApi(): AdminApi {
  if (!api) throw new Error('signed out');
  return api;
}

function setActionStatus(text: string): void {
  ui.actionStatus.textContent = text;
}

function errorText(err: unknown): string {
  if (err instanceof AdminApiError) {
    if (err.kind === 'network') return err.message;
    if (err.status === 404) return `Not found: ${err.message.replace(/^[A-Z]+ \S+: 404 /, '')}`;
    return err.message;
  }
  return err instanceof Error ? err.message : String(err);
}

// ---------------------------------------------------------------- language

/** The static labels' language (the chat page's choice, shared through localStorage); the script's own texts stay English. */
const i18n = new I18n(ADMIN_CATALOGS, localStore(), navigator.languages ?? [navigator.language]);

function localStore(): Storage | null {
  try {
    return window.localStorage;
  } catch {
    return null; // storage disabled: the browser's preference decides
  }
}

function renderLabels(): void {
  document.documentElement.lang = i18n.lang;
  applyStatic(document, i18n.t);
  document.title = i18n.t.adminTitle;
  for (const select of [ui.tokenLang, ui.dashLang]) select.value = i18n.lang;
}

for (const select of [ui.tokenLang, ui.dashLang]) {
  select.replaceChildren(...LANGS.map((l) => new Option(LANG_NAMES[l], l)));
  select.addEventListener('change', () => {
    if (isLang(select.value)) i18n.set(select.value);
  });
}
i18n.onChange(() => {
  renderLabels();
  pollNow(); // the live line and the charts' labels, which the labels just reset
});
renderLabels();

// ---------------------------------------------------------------- wiring

ui.tokenForm.addEventListener('submit', (e) => {
  e.preventDefault();
  void signIn(ui.tokenInput.value.trim());
});
ui.forget.addEventListener('click', () => {
  writeToken(null);
  shownUser = null;
  ui.userResult.hidden = true;
  askToken(null);
});
ui.userForm.addEventListener('submit', (e) => {
  e.preventDefault();
  void lookUp(ui.userInput.value.trim());
});
ui.findForm.addEventListener('submit', (e) => {
  e.preventDefault();
  void findUser(ui.findInput.value.trim());
});
ui.findInput.addEventListener('input', () => {
  if (ui.findInput.value !== '' || foundNode === null) return;
  foundNode = null; // the search box cleared: no row stays marked
  renderNodes(nodes);
  setFindResult(null, false);
});
ui.kick.addEventListener('click', confirmKick);
ui.confirmForm.addEventListener('submit', (e) => {
  e.preventDefault();
  void confirmed();
});
ui.confirmCancel.addEventListener('click', () => ui.confirm.close());
ui.confirm.addEventListener('close', () => {
  pending = null;
});

const saved = readToken();
if (saved === null) askToken(null);
else void signIn(saved);
