/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
import { ClientError, createClient, MessageStore, type ChatMessage, type ClientState, type StoreEvent, type SwitchboardClient } from '@switchboard/client';
import { KickoutCode } from '@switchboard/protocol';
import { CATALOGS } from './i18n/catalogs.js';
import { applyStatic, I18n, isLang, LANG_NAMES, LANGS, titleWithUnread } from './i18n/i18n.js';
import type { Messages } from './i18n/en.js';
import { LivePresence } from './live-presence.js';
import { Notifier } from './notifier.js';
import { presenceText } from './presence.js';
import { SessionStore } from './session.js';
import { ui } from './ui.js';
import { conversationItem, conversationItems, messageElement } from './views.js';

// The chat page. Network and UI are decoupled: the SDK client talks to the server, the
// MessageStore turns its events (and the server's history) into conversations, and this file only
// renders the store and the client's state events (HarmonyChat's split). The session survives a
// reload (session.ts); every text comes from the catalogs in i18n/, so a language switch re-renders.
// Below 641 px the list and the conversation are two screens (`data-screen` on #chat-view).

/** Dispatch lives on the origin that served this page; `?dispatch=` points elsewhere (Vite dev server). */
const params = new URLSearchParams(location.search);
const dispatchUrl = params.get('dispatch') ?? location.origin;
const session = new SessionStore(storage('sessionStorage'));
const i18n = new I18n(CATALOGS, storage('localStorage'), navigator.languages ?? [navigator.language]);
const notifier = new Notifier(storage('localStorage'));
const phone = window.matchMedia('(max-width: 640px)');

let client: SwitchboardClient | null = null;
let store: MessageStore | null = null;
let presence: LivePresence | null = null;
/** Key of the open conversation: a user, or a group's address. */
let peer: string | null = null;
let offs: Array<() => void> = [];
/** Conversations whose history this session asked for (once each). */
let historyAsked = new Set<string>();
let minuteTimer: ReturnType<typeof setInterval> | null = null;
/** What the lamp and the texts that depend on state show, kept so a language switch can redraw them. */
let lamp: { state: ClientState; attempt: number | null } = { state: 'connecting', attempt: null };
let banner: { text: (t: Messages) => string; relogin: boolean } | null = null;
let loginErr: ((t: Messages) => string) | null = null;
let notifyHint: ((t: Messages) => string) | null = null;

function t(): Messages {
  return i18n.t;
}

function storage(kind: 'sessionStorage' | 'localStorage'): Storage | null {
  try {
    return window[kind];
  } catch {
    return null; // storage disabled: nothing survives a reload
  }
}

function show(view: 'login' | 'chat'): void {
  ui.loginView.hidden = view !== 'login';
  ui.chatView.hidden = view !== 'chat';
}

/** Which of the two phone screens shows (the desktop layout shows both). */
function setScreen(screen: 'list' | 'conversation'): void {
  ui.chatView.dataset['screen'] = screen;
}

function loginError(text: ((t: Messages) => string) | null): void {
  loginErr = text;
  ui.loginError.hidden = text === null;
  ui.loginError.textContent = text?.(t()) ?? '';
}

function startSession(uid: string, token: string): void {
  stopSession();
  const saved = session.start(uid, token);
  const c = createClient({ uid, token: token || null, dispatchUrl, sendReceipts: true });
  const s = new MessageStore(c, { syncReads: true });
  client = c;
  store = s;
  presence = new LivePresence(c, () => renderLive());
  for (const [p, seq] of Object.entries(saved.readBy)) s.applyRead(p, seq);
  ui.me.textContent = uid;
  setBanner(null);
  setLamp('connecting', null);
  show('chat');
  offs = [
    c.on('state', (e) => onState(e.state)),
    c.on('reconnect', (e) => {
      if (c.state === 'reconnecting' || c.state === 'connecting') setLamp(c.state, e.attempt);
    }),
    c.on('ping', () => pulse('ping')),
    c.on('pong', () => pulse('pong')),
    c.on('kicked', (e) => {
      session.forget(); // a reload must not log in again and kick the newer session in turn
      setBanner(e.code === KickoutCode.ADMIN ? (m) => m.kickedByAdmin(e.reason) : (m) => m.kickedByLogin, true);
    }),
    c.on('read', (e) => {
      if (e.group === undefined) session.rememberRead(e.peer, e.seq);
    }),
    // Every login (a re-login too) brings the conversation list and unread counts up to date.
    c.on('login', () => void loadConversations(s)),
    s.subscribe(onStoreEvent),
  ];
  minuteTimer = setInterval(() => renderConversation(), 60_000);
  if (saved.open) openConversation(saved.open, false);
  else setScreen('list');
  renderPeers();
  renderConversation();
  c.connect().catch((err: unknown) => {
    if (c !== client) return;
    if (c.state === 'rejected') {
      stopSession();
      session.forget();
      show('login');
      const code = err instanceof ClientError ? (err.serverCode ?? null) : null;
      loginError((m) => m.loginRefused(code));
      ui.loginUid.value = uid;
    }
  });
}

function stopSession(): void {
  for (const off of offs) off();
  offs = [];
  if (minuteTimer) clearInterval(minuteTimer);
  minuteTimer = null;
  presence?.close();
  presence = null;
  store?.detach();
  void client?.close();
  client = null;
  store = null;
  peer = null;
  historyAsked = new Set();
  document.title = t().pageTitle;
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

/** The state as the user reads it: never the SDK's error text (it names URLs and sockets). */
function onState(state: ClientState): void {
  setLamp(state, null);
  updateComposer();
  if (state === 'reconnecting') setBanner((m) => m.reconnectingBanner);
  else if (state === 'online') setBanner(null);
}

function updateComposer(): void {
  const state = client?.state;
  const canType = state !== undefined && state !== 'kicked' && state !== 'rejected' && state !== 'closed';
  ui.input.disabled = !canType || peer === null;
  ui.send.disabled = ui.input.disabled;
}

function setLamp(state: ClientState, attempt: number | null): void {
  lamp = { state, attempt };
  renderLamp();
}

function renderLamp(): void {
  const m = t();
  const { state, attempt } = lamp;
  ui.lamp.dataset['state'] = state;
  ui.lamp.setAttribute('aria-label', m.lampLabel(m.state[state]));
  ui.connText.textContent = state === 'online' ? m.online(client?.node) : attempt !== null ? m.attempt(m.state[state], attempt) : m.state[state];
}

/** Restart the lamp's heartbeat animation. */
function pulse(kind: 'ping' | 'pong'): void {
  ui.lamp.classList.remove('ping', 'pong');
  void ui.lamp.offsetWidth; // restart the CSS animation
  ui.lamp.classList.add(kind);
  ui.lamp.dataset['beats'] = String(Number(ui.lamp.dataset['beats'] ?? '0') + 1);
}

function setBanner(text: ((t: Messages) => string) | null, relogin = false): void {
  banner = text ? { text, relogin } : null;
  renderBanner();
}

function renderBanner(): void {
  ui.banner.hidden = banner === null;
  ui.bannerText.textContent = banner?.text(t()) ?? '';
  ui.banner.dataset['kind'] = banner?.relogin ? 'terminal' : 'info';
  ui.bannerButton.hidden = !banner?.relogin;
}

/** Open the conversation with `key` (a user id, or a group's address from the list). */
function openConversation(key: string, focus = true): void {
  const trimmed = key.trim();
  if (!trimmed || !client || !store) return;
  peer = trimmed;
  session.setOpen(peer);
  setScreen('conversation');
  updateComposer();
  markViewed();
  loadHistory(store, peer);
  renderPeers();
  renderConversation();
  if (focus && !ui.input.disabled) ui.input.focus();
}

/** Back to the list (the phone layout's back button): the conversation closes, so nothing is marked read behind the list. */
function closeConversation(): void {
  peer = null;
  session.setOpen(null);
  setScreen('list');
  updateComposer();
  renderPeers();
  renderConversation();
  ui.peerList.querySelector<HTMLButtonElement>('button.peer')?.focus();
}

/** The open conversation is on screen: it is read (on the server too), unless the tab is hidden. */
function markViewed(): void {
  if (store && peer && document.visibilityState === 'visible') store.markRead(peer);
}

function onStoreEvent(e: StoreEvent): void {
  if (e.type === 'added' || e.type === 'updated') {
    const m = e.message;
    if (e.type === 'added' && m.direction === 'in') {
      presence?.clearTyping(m.peer, m.from);
      notifyOf(m);
    }
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

/** A browser notification for a message that arrives while the tab is hidden (when opted in). */
function notifyOf(m: ChatMessage): void {
  const m2 = t();
  const title = m.group === null ? m2.notifyTitle(m.from) : m2.notifyGroupTitle(m.group, m.from);
  notifier.notify(title, m.content, m.peer, () => openConversation(m.peer));
}

function renderPeers(): void {
  const s = store;
  if (!s) return;
  const m = t();
  const now = Date.now();
  const list = s.conversations();
  if (peer && !list.some((c) => c.peer === peer)) {
    const gid = client?.groupOf(peer) ?? null;
    list.unshift({ peer, group: gid, name: gid ?? peer, unread: 0, lastTime: 0 });
  }
  presence?.watch(list.filter((c) => c.group === null).map((c) => c.peer));
  const states = presence?.states;
  ui.peerList.replaceChildren(...list.map((c) => conversationItem(c, c.peer === peer, openConversation, m, c.group === null ? states?.get(c.peer) : undefined, now)));
  const current = list.find((c) => c.peer === peer);
  ui.peerTitle.textContent = current ? current.name : m.noConversation;
  renderHeader(current?.group ?? null);
  document.title = titleWithUnread(m.pageTitle, s.totalUnread());
}

/** The conversation header's presence ("online", "last seen …") and the "typing…" line. */
function renderHeader(group: string | null): void {
  const m = t();
  const p = peer && group === null ? presence?.states.get(peer) : undefined;
  ui.peerDot.hidden = ui.peerPresence.hidden = p === undefined;
  if (p) {
    ui.peerDot.dataset['online'] = String(p.online);
    ui.peerPresence.textContent = presenceText(p, Date.now(), m);
  }
  const who = peer ? (presence?.typingIn(peer) ?? null) : null;
  ui.typing.hidden = who === null;
  ui.typing.textContent = who === null ? '' : group === null ? m.typing : m.typingNamed(who);
}

/** Presence or typing changed. */
function renderLive(): void {
  renderPeers();
}

function renderConversation(): void {
  if (!store || !peer) {
    ui.messages.replaceChildren();
    return;
  }
  const items = conversationItems(store.conversation(peer), Date.now(), retry, t(), i18n.lang);
  const atBottom = ui.messages.scrollHeight - ui.messages.scrollTop - ui.messages.clientHeight < 40;
  ui.messages.replaceChildren(...items);
  if (atBottom || items.length < 2) ui.messages.scrollTop = ui.messages.scrollHeight;
}

function retry(m: ChatMessage): void {
  store?.send(m.peer, m.content);
}

function updateMessage(m: ChatMessage): void {
  const old = ui.messages.querySelector<HTMLLIElement>(`li.msg[data-id="${CSS.escape(m.id)}"]`);
  if (old) old.replaceWith(messageElement(m, retry, t(), i18n.lang));
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

// ---------------------------------------------------------------- language and preferences

/** Every text on the page in the current language. */
function renderTexts(): void {
  const m = t();
  document.documentElement.lang = i18n.lang;
  applyStatic(document, m);
  ui.input.placeholder = phone.matches ? m.messagePlaceholderShort : m.messagePlaceholder;
  for (const select of [ui.loginLang, ui.chatLang]) select.value = i18n.lang;
  ui.loginError.textContent = loginErr?.(m) ?? '';
  ui.notifyHint.textContent = notifyHint?.(m) ?? '';
  renderLamp();
  renderBanner();
  document.title = m.pageTitle;
  renderPeers();
  renderConversation();
}

function setNotifyHint(text: ((t: Messages) => string) | null): void {
  notifyHint = text;
  ui.notifyHint.hidden = text === null;
  ui.notifyHint.textContent = text?.(t()) ?? '';
}

for (const select of [ui.loginLang, ui.chatLang]) {
  select.replaceChildren(...LANGS.map((l) => new Option(LANG_NAMES[l], l)));
  select.addEventListener('change', () => {
    if (isLang(select.value)) i18n.set(select.value);
  });
}
i18n.onChange(() => renderTexts());
phone.addEventListener('change', () => renderTexts());

ui.notifyToggle.checked = notifier.enabled;
ui.notifyToggle.addEventListener('change', () => {
  if (!ui.notifyToggle.checked) {
    notifier.disable();
    setNotifyHint(null);
    return;
  }
  void notifier.enable().then((r) => {
    ui.notifyToggle.checked = r === 'granted';
    setNotifyHint(r === 'granted' ? null : r === 'denied' ? (m) => m.notifyDenied : (m) => m.notifyUnsupported);
  });
});

// ---------------------------------------------------------------- wiring

ui.loginForm.addEventListener('submit', (e) => {
  e.preventDefault();
  const uid = ui.loginUid.value.trim();
  if (!uid) {
    loginError((m) => m.loginNeedsUid);
    ui.loginUid.focus();
    return;
  }
  if (uid === '0' || uid === '-1') {
    loginError((m) => m.loginReservedUid);
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
ui.input.addEventListener('input', () => {
  if (peer && ui.input.value.trim() !== '') presence?.typing(peer, client?.groupOf(peer) ?? null);
});

ui.back.addEventListener('click', () => closeConversation());
ui.logout.addEventListener('click', () => toLogin(ui.loginUid));
ui.bannerButton.addEventListener('click', () => toLogin(ui.loginButton));
document.addEventListener('visibilitychange', () => markViewed());
// The session stays saved: a reload logs in again.
window.addEventListener('pagehide', () => stopSession());

renderTexts();
const saved = session.load();
if (saved) startSession(saved.uid, saved.token);
else show('login');
