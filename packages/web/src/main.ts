/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
import {
  createClient,
  MessageStore,
  type ChatMessage,
  type ClientState,
  type StoreEvent,
  type SwitchboardClient,
} from '@switchboard/client';
import { KickoutCode } from '@switchboard/protocol';
import { needsTimeLabel, timeLabel } from './time-label.js';

// The chat page. Network and UI are decoupled: the SDK client talks to the server, the
// MessageStore turns its events into conversations, and this file only renders the store and the
// client's state events (HarmonyChat's split).

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

const STATE_TEXT: Record<ClientState, string> = {
  idle: 'offline',
  connecting: 'connecting…',
  online: 'online',
  reconnecting: 'reconnecting…',
  kicked: 'signed out',
  rejected: 'login refused',
  closed: 'offline',
};
const MESSAGE_STATE_TEXT: Record<ChatMessage['state'], string> = {
  sending: 'sending…',
  sent: 'sent',
  delivered: 'delivered',
  read: 'read',
  failed: 'failed',
  received: '',
};

let client: SwitchboardClient | null = null;
let store: MessageStore | null = null;
let peer: string | null = null;
let offs: Array<() => void> = [];
let minuteTimer: ReturnType<typeof setInterval> | null = null;

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
  const c = createClient({ uid, token: token || null, dispatchUrl, sendReceipts: true });
  const s = new MessageStore(c);
  client = c;
  store = s;
  ui.me.textContent = uid;
  setBanner(null);
  setLamp('connecting', 'connecting…');
  show('chat');
  offs = [
    c.on('state', (e) => onState(e.state, e.reason)),
    c.on('reconnect', (e) => {
      if (c.state === 'reconnecting' || c.state === 'connecting') {
        setLamp(c.state, `${STATE_TEXT[c.state]} (attempt ${e.attempt}${e.error ? `: ${e.error.message}` : ''})`);
      }
    }),
    c.on('ping', () => pulse('ping')),
    c.on('pong', () => pulse('pong')),
    c.on('kicked', (e) => {
      setBanner(
        e.code === KickoutCode.ADMIN
          ? `An administrator signed you out${e.reason ? `: ${e.reason}` : ''}.`
          : 'You were signed out: this user logged in somewhere else.',
        true,
      );
    }),
    s.subscribe(onStoreEvent),
  ];
  minuteTimer = setInterval(() => renderConversation(), 60_000);
  renderPeers();
  renderConversation();
  c.connect().catch((err: unknown) => {
    if (c !== client) return;
    if (c.state === 'rejected') {
      stopSession();
      show('login');
      loginError(`Login refused${err instanceof Error ? `: ${err.message}` : ''}`);
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
}

function onState(state: ClientState, reason: string | null): void {
  const node = client?.node;
  setLamp(state, state === 'online' ? `online${node ? ` · ${node}` : ''}` : `${STATE_TEXT[state]}${reason && state !== 'closed' ? ` (${reason})` : ''}`);
  const canType = state !== 'kicked' && state !== 'rejected' && state !== 'closed';
  ui.input.disabled = !canType || peer === null;
  ui.send.disabled = ui.input.disabled;
  if (state === 'reconnecting') setBanner('Connection lost. Reconnecting by itself; messages you send now go out once it is back.');
  else if (state === 'online') setBanner(null);
}

function setLamp(state: ClientState, text: string): void {
  ui.lamp.dataset['state'] = state;
  ui.lamp.setAttribute('aria-label', `Connection: ${STATE_TEXT[state]}`);
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

function openPeer(p: string): void {
  const trimmed = p.trim();
  if (!trimmed || !client) return;
  peer = trimmed;
  store?.markRead(peer);
  ui.peerTitle.textContent = peer;
  const canType = client.state !== 'kicked' && client.state !== 'rejected' && client.state !== 'closed';
  ui.input.disabled = !canType;
  ui.send.disabled = !canType;
  renderPeers();
  renderConversation();
  if (canType) ui.input.focus();
}

function onStoreEvent(e: StoreEvent): void {
  if (e.type !== 'added' && e.type !== 'updated') return renderPeers();
  const m = e.message;
  if (m.peer === peer) {
    if (e.type === 'added' && m.direction === 'in') store?.markRead(m.peer);
    if (e.type === 'updated') updateMessage(m);
    else renderConversation();
  }
  if (e.type === 'added') renderPeers();
}

function renderPeers(): void {
  if (!store) return;
  const peers = store.peers();
  if (peer && !peers.includes(peer)) peers.unshift(peer);
  ui.peerList.replaceChildren(
    ...peers.map((p) => {
      const li = document.createElement('li');
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'peer' + (p === peer ? ' current' : '');
      b.dataset['peer'] = p;
      b.textContent = p;
      if (p === peer) b.setAttribute('aria-current', 'true');
      const n = store!.unread(p);
      if (n > 0) {
        const badge = document.createElement('span');
        badge.className = 'badge';
        badge.textContent = String(n);
        badge.setAttribute('aria-label', `${n} unread`);
        b.append(badge);
      }
      b.addEventListener('click', () => openPeer(p));
      li.append(b);
      return li;
    }),
  );
}

function renderConversation(): void {
  if (!store || !peer) {
    ui.messages.replaceChildren();
    return;
  }
  const now = Date.now();
  const items: HTMLElement[] = [];
  let previous: number | undefined;
  for (const m of store.conversation(peer)) {
    if (needsTimeLabel(previous, m.time)) {
      const li = document.createElement('li');
      li.className = 'time-label';
      const t = document.createElement('time');
      t.dateTime = new Date(m.time).toISOString();
      t.textContent = timeLabel(m.time, now);
      li.append(t);
      items.push(li);
    }
    previous = m.time;
    items.push(messageElement(m));
  }
  const atBottom = ui.messages.scrollHeight - ui.messages.scrollTop - ui.messages.clientHeight < 40;
  ui.messages.replaceChildren(...items);
  if (atBottom || items.length < 2) ui.messages.scrollTop = ui.messages.scrollHeight;
}

function messageElement(m: ChatMessage): HTMLLIElement {
  const li = document.createElement('li');
  li.className = `msg ${m.direction}`;
  li.dataset['id'] = m.id;
  li.dataset['state'] = m.state;
  const bubble = document.createElement('div');
  bubble.className = 'bubble';
  const text = document.createElement('p');
  text.className = 'text';
  text.textContent = m.content;
  bubble.append(text);
  if (m.direction === 'out') {
    const state = document.createElement('span');
    state.className = 'state';
    state.textContent = MESSAGE_STATE_TEXT[m.state];
    if (m.error) state.title = m.error;
    bubble.append(state);
    if (m.state === 'failed') {
      const retry = document.createElement('button');
      retry.type = 'button';
      retry.className = 'retry';
      retry.textContent = 'Retry';
      retry.setAttribute('aria-label', `Send "${m.content.slice(0, 40)}" again`);
      retry.addEventListener('click', () => store?.send(m.peer, m.content));
      bubble.append(retry);
    }
  }
  li.append(bubble);
  return li;
}

function updateMessage(m: ChatMessage): void {
  const old = ui.messages.querySelector<HTMLLIElement>(`li.msg[data-id="${CSS.escape(m.id)}"]`);
  if (old) old.replaceWith(messageElement(m));
  else renderConversation();
}

function sendCurrent(): void {
  const text = ui.input.value;
  if (!store || !peer || text.trim() === '') return;
  store.send(peer, text);
  ui.input.value = '';
  ui.input.focus();
}

ui.loginForm.addEventListener('submit', (e) => {
  e.preventDefault();
  const uid = ui.loginUid.value.trim();
  if (!uid) {
    loginError('Enter a user id.');
    ui.loginUid.focus();
    return;
  }
  if (uid === '0' || uid === '-1') {
    loginError('"0" and "-1" are reserved user ids.');
    return;
  }
  loginError(null);
  startSession(uid, ui.loginToken.value);
});

ui.peerForm.addEventListener('submit', (e) => {
  e.preventDefault();
  openPeer(ui.peerInput.value);
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

ui.logout.addEventListener('click', () => {
  const uid = client?.uid ?? '';
  stopSession();
  show('login');
  ui.loginUid.value = uid;
  ui.loginUid.focus();
});

ui.bannerButton.addEventListener('click', () => {
  const uid = client?.uid ?? '';
  stopSession();
  show('login');
  ui.loginUid.value = uid;
  ui.loginButton.focus();
});

window.addEventListener('pagehide', () => stopSession());

show('login');
