/// <reference lib="dom" />

// The chat page's elements (index.html), looked up once.

function el<T extends HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (!e) throw new Error(`#${id} missing from index.html`);
  return e as T;
}

export const ui = {
  loginView: el('login-view'),
  loginForm: el<HTMLFormElement>('login-form'),
  loginLang: el<HTMLSelectElement>('login-lang'),
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
  notifyToggle: el<HTMLInputElement>('notify-toggle'),
  notifyHint: el('notify-hint'),
  chatLang: el<HTMLSelectElement>('chat-lang'),
  back: el<HTMLButtonElement>('back-button'),
  peerDot: el('peer-dot'),
  peerTitle: el('peer-title'),
  peerPresence: el('peer-presence'),
  messages: el<HTMLOListElement>('messages'),
  typing: el('typing'),
  composer: el<HTMLFormElement>('composer'),
  input: el<HTMLTextAreaElement>('message-input'),
  send: el<HTMLButtonElement>('send-button'),
};
