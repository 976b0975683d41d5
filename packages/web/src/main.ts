/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
import { createClient, MessageStore, type ChatMessage, type ClientState, type StoreEvent, type SwitchboardClient } from '@switchboard/client';
import { KickoutCode } from '@switchboard/protocol';
import { SessionStore } from './session.js';
import { STATE_TEXT, T } from './strings.js';
import { conversationItem, conversationItems, messageElement } from './views.js';

// The chat page. Network and UI are decoupled: the SDK client talks to the server, the
// MessageStore turns its events (and the server's history) into conversations, and this file only
// renders the store and the client's state events (HarmonyChat's split). The session survives a
// reload (session.ts); every text is in strings.ts or index.html.

function el<T extends HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (!e) throw new Error(`#${id} missing from index.html`);
  return e as T;
}

const ui = {
  loginView: el('login-view'),
  loginForm: el<HTMLFormElement>('login-form'),
  loginUid: el<HTMLInputElement>('login-uid'),
  loginToken: el<HTMLInputElement>('login-token'),
  loginButton: el<HTMLButtonElement>('login-button'),
  loginError: el('login-error'),
  chatView: el('chat-view'),
  lamp: el('lamp'),
  me: el('me'),
  connText: el('conn-text'),
  logout: el<HTMLButtonElement>('logout-button'),
  banner: el('banner'),
  bannerText: el('banner-text'),
  bannerButton: el<HTMLButtonElement>('banner-button'),
  peerForm: el<HTMLFormElement>('peer-form'),
  peerInput: el<HTMLInputElement>('peer-input'),
  peerList: el<HTMLUListElement>('peer-list'),
  peerTitle: el('peer-title'),
  messages: el<HTMLOListElement>('messages'),
  composer: el<HTMLFormElement>('composer'),
  input: el<HTMLTextAreaElement>('message-input'),
  send: el<HTMLButtonElement>('send-button'),
};

/** Dispatch lives on the origin that served this page; `?dispatch=` points elsewhere (Vite dev server). */
const params = new URLSearchParams(location.search);
const dispatchUrl = params.get('dispatch') ?? location.origin;
/** The tab's title without unread count (index.html's). */
const baseTitle = document.title;
const session = new SessionStore(storage());

let client: SwitchboardClient | null = null;
let store: MessageStore | null = null;
/** Key of the open conversation: a user, or a group's address. */
let peer: string | null = null;
let offs: Array<() => void> = [];
/** Conversations whose history this session asked for (once each). */
let historyAsked = new Set<string>();
let minuteTimer: ReturnType<typeof setInterval> | null = null;

function storage(): Storage | null {
  try {
    return window.sessionStorage;
  } catch {
    return null; // storage disabled: no session survives a reload
  }
}

function show(view: 'login' | 'chat'): void {
  ui.loginView.hidden = view !== 'login';
  ui.chatView.hidden = view !== 'chat';
}

function loginError(text: string | null): void {
  ui.loginError.hidden = text === null;
  ui.loginError.textContent = text ?? '';
}

function startSession(uid: string, token: string): void {
  stopSession();
  const saved = session.start(uid, token);
  const c = createClient({ uid, token: token || null, dispatchUrl, sendReceipts: true });
  const s = new MessageStore(c, { syncReads: true });
  client = c;
  store = s;
  for (const [p, seq] of Object.entries(saved.readBy)) s.applyRead(p, seq);
  ui.me.textContent = uid;
  setBanner(null);
  setLamp('connecting', STATE_TEXT.connecting);
  show('chat');
  offs = [
    c.on('state', (e) => onState(e.state, e.reason)),
    c.on('reconnect', (e) => {
      if (c.state === 'reconnecting' || c.state === 'connecting') setLamp(c.state, T.attempt(c.state, e.attempt, e.error?.message ?? null));
    }),
    c.on('ping', () => pulse('ping')),
    c.on('pong', () => pulse('pong')),
    c.on('kicked', (e) => {
      session.forget(); // a reload must not log in again and kick the newer session in turn
      setBanner(e.code === KickoutCode.ADMIN ? T.kickedByAdmin(e.reason) : T.kickedByLogin, true);
    }),
    c.on('read', (e) => {
      if (e.group === undefined) session.rememberRead(e.peer, e.seq);
    }),
    // Every login (a re-login too) brings the conversation list and unread counts up to date.
    c.on('login', () => void loadConversations(s)),
    s.subscribe(onStoreEvent),
  ];
  minuteTimer = setInterval(() => renderConversation(), 60_000);
  if (saved.open) openConversation(saved.open);
  renderPeers();
  renderConversation();
  c.connect().catch((err: unknown) => {
    if (c !== client) return;
    if (c.state === 'rejected') {
      stopSession();
      session.forget();
      show('login');
      loginError(T.loginRefused(err instanceof Error ? err.message : null));
      ui.loginUid.value = uid;
    }
  });
}

function stopSession(): void {
  for (const off of offs) off();
  offs = [];
  if (minuteTimer) clearInterval(minuteTimer);
  minuteTimer = null;
  store?.detach();
  void client?.close();
  client = null;
  store = null;
  peer = null;
  historyAsked = new Set();
  document.title = baseTitle;
}

/** The server's conversation list; then the open conversation's history. Without history (or on failure) the page goes on with what arrives. */
async function loadConversations(s: MessageStore): Promise<void> {
  try {
    await s.load();
  } catch {
    return; // history off, or the user API unreachable: live messages only
  }
  if (s !== store || !peer) return;
  markViewed(); // the list's counts may predate a marker request still on its way
  loadHistory(s, peer);
}

/** The newest page of `key`'s history, once per session; a failure (history off) leaves the conversation to what arrives. */
function loadHistory(s: MessageStore, key: string): void {
  if (historyAsked.has(key)) return;
  historyAsked.add(key);
  s.loadHistory(key).then(
    () => {
      if (s === store && key === peer) markViewed();
    },
    () => historyAsked.delete(key), // asked again at the next login or opening
  );
}

function onState(state: ClientState, reason: string | null): void {
  setLamp(state, state === 'online' ? T.online(client?.node) : T.stateWithReason(state, reason));
  updateComposer();
  if (state === 'reconnecting') setBanner(T.reconnecting);
  else if (state === 'online') setBanner(null);
}

function updateComposer(): void {
  const state = client?.state;
  const canType = state !== undefined && state !== 'kicked' && state !== 'rejected' && state !== 'closed';
  ui.input.disabled = !canType || peer === null;
  ui.send.disabled = ui.input.disabled;
}

function setLamp(state: ClientState, text: string): void {
  ui.lamp.dataset['state'] = state;
  ui.lamp.setAttribute('aria-label', T.lampLabel(state));
  ui.connText.textContent = text;
}

/** Restart the lamp's heartbeat animation. */
function pulse(kind: 'ping' | 'pong'): void {
  ui.lamp.classList.remove('ping', 'pong');
  void ui.lamp.offsetWidth; // restart the CSS animation
  ui.lamp.classList.add(kind);
  ui.lamp.dataset['beats'] = String(Number(ui.lamp.dataset['beats'] ?? '0') + 1);
}

function setBanner(text: string | null, relogin = false): void {
  ui.banner.hidden = text === null;
  ui.bannerText.textContent = text ?? '';
  ui.banner.dataset['kind'] = relogin ? 'terminal' : 'info';
  ui.bannerButton.hidden = !relogin;
}

/** Open the conversation with `key` (a user id, or a group's address from the list). */
function openConversation(key: string): void {
  const trimmed = key.trim();
  if (!trimmed || !client || !store) return;
  peer = trimmed;
  session.setOpen(peer);
  updateComposer();
  markViewed();
  loadHistory(store, peer);
  renderPeers();
  renderConversation();
  if (!ui.input.disabled) ui.input.focus();
}

/** The open conversation is on screen: it is read (on the server too), unless the tab is hidden. */
function markViewed(): void {
  if (store && peer && document.visibilityState === 'visible') store.markRead(peer);
}

function onStoreEvent(e: StoreEvent): void {
  if (e.type === 'added' || e.type === 'updated') {
    const m = e.message;
    if (m.peer === peer) {
      if (e.type === 'added' && m.direction === 'in') markViewed();
      if (e.type === 'updated') updateMessage(m);
      else renderConversation();
    }
    if (e.type === 'added') renderPeers();
    return;
  }
  if (e.type === 'loaded' && e.peer === peer) renderConversation();
  renderPeers();
}

function renderPeers(): void {
  const s = store;
  if (!s) return;
  const list = s.conversations();
  if (peer && !list.some((c) => c.peer === peer)) {
    const gid = client?.groupOf(peer) ?? null;
    list.unshift({ peer, group: gid, name: gid ?? peer, unread: 0, lastTime: 0 });
  }
  ui.peerList.replaceChildren(...list.map((c) => conversationItem(c, c.peer === peer, openConversation)));
  const current = list.find((c) => c.peer === peer);
  ui.peerTitle.textContent = current ? current.name : T.noConversation;
  document.title = T.title(baseTitle, s.totalUnread());
}

function renderConversation(): void {
  if (!store || !peer) {
    ui.messages.replaceChildren();
    return;
  }
  const items = conversationItems(store.conversation(peer), Date.now(), retry);
  const atBottom = ui.messages.scrollHeight - ui.messages.scrollTop - ui.messages.clientHeight < 40;
  ui.messages.replaceChildren(...items);
  if (atBottom || items.length < 2) ui.messages.scrollTop = ui.messages.scrollHeight;
}

function retry(m: ChatMessage): void {
  store?.send(m.peer, m.content);
}

function updateMessage(m: ChatMessage): void {
  const old = ui.messages.querySelector<HTMLLIElement>(`li.msg[data-id="${CSS.escape(m.id)}"]`);
  if (old) old.replaceWith(messageElement(m, retry));
  else renderConversation();
}

function sendCurrent(): void {
  const text = ui.input.value;
  if (!store || !peer || text.trim() === '') return;
  store.send(peer, text);
  ui.input.value = '';
  ui.input.focus();
}

/** Back to the login form (logout, or "Log in again"): the session is forgotten. */
function toLogin(focus: HTMLElement): void {
  const uid = client?.uid ?? '';
  stopSession();
  session.forget();
  show('login');
  ui.loginUid.value = uid;
  focus.focus();
}

ui.loginForm.addEventListener('submit', (e) => {
  e.preventDefault();
  const uid = ui.loginUid.value.trim();
  if (!uid) {
    loginError(T.loginNeedsUid);
    ui.loginUid.focus();
    return;
  }
  if (uid === '0' || uid === '-1') {
    loginError(T.loginReservedUid);
    return;
  }
  loginError(null);
  startSession(uid, ui.loginToken.value);
});

ui.peerForm.addEventListener('submit', (e) => {
  e.preventDefault();
  openConversation(ui.peerInput.value);
  ui.peerInput.value = '';
});

ui.composer.addEventListener('submit', (e) => {
  e.preventDefault();
  sendCurrent();
});

ui.input.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    sendCurrent();
  }
});

ui.logout.addEventListener('click', () => toLogin(ui.loginUid));
ui.bannerButton.addEventListener('click', () => toLogin(ui.loginButton));
document.addEventListener('visibilitychange', () => markViewed());
// The session stays saved: a reload logs in again.
window.addEventListener('pagehide', () => stopSession());

const saved = session.load();
if (saved) startSession(saved.uid, saved.token);
else show('login');
