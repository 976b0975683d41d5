/// <reference lib="dom" />
import type { ChatConversation, ChatMessage } from '@switchboard/client';
import type { Messages } from './i18n/en.js';
import { presenceText, type PeerPresence } from './presence.js';
import { needsTimeLabel, timeLabel } from './time-label.js';

// The chat page's DOM pieces: a conversation in the list, a message bubble, a conversation's items
// with their time labels. No state of their own; main.ts decides what to show, and in which
// language (`t`, the current catalog).

function span(className: string, text: string): HTMLSpanElement {
  const s = document.createElement('span');
  s.className = className;
  s.textContent = text;
  return s;
}

/** One conversation of the list: its name (a group's with a tag), a user's presence dot, its unread badge. */
export function conversationItem(
  c: ChatConversation,
  current: boolean,
  open: (key: string) => void,
  t: Messages,
  presence: PeerPresence | undefined,
  now: number,
): HTMLLIElement {
  const li = document.createElement('li');
  const b = document.createElement('button');
  b.type = 'button';
  b.className = 'peer' + (c.group === null ? '' : ' group') + (current ? ' current' : '');
  b.dataset['peer'] = c.peer;
  const who = span('who', '');
  if (presence) {
    const dot = span('presence-dot', '');
    dot.dataset['online'] = String(presence.online);
    dot.title = presenceText(presence, now, t);
    b.dataset['online'] = String(presence.online);
    who.append(dot);
  }
  who.append(span('name', c.name));
  if (c.group !== null) {
    b.dataset['group'] = c.group;
    b.title = t.groupLabel(c.name);
    who.append(span('tag', t.groupTag));
  }
  b.append(who);
  if (current) b.setAttribute('aria-current', 'true');
  if (c.unread > 0) {
    const badge = span('badge', String(c.unread));
    badge.setAttribute('aria-label', t.unread(c.unread));
    b.append(badge);
  }
  b.addEventListener('click', () => open(c.peer));
  li.append(b);
  return li;
}

/** A message's bubble; in a group, received ones name their sender. `retry` sends a failed one again. */
export function messageElement(m: ChatMessage, retry: (m: ChatMessage) => void, t: Messages, lang: string): HTMLLIElement {
  const li = document.createElement('li');
  li.className = `msg ${m.direction}`;
  li.dataset['id'] = m.id;
  li.dataset['state'] = m.state;
  li.dataset['time'] = String(m.time);
  const bubble = document.createElement('div');
  bubble.className = 'bubble';
  bubble.title = new Date(m.time).toLocaleString(lang);
  if (m.group !== null && m.direction === 'in') bubble.append(span('sender', m.from));
  const text = document.createElement('p');
  text.className = 'text';
  text.textContent = m.content;
  bubble.append(text);
  if (m.direction === 'out') {
    const state = span('state', t.messageState[m.state]);
    if (m.state === 'failed') state.title = t.failedHint;
    bubble.append(state);
    if (m.state === 'failed') {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'retry';
      b.textContent = t.retry;
      b.setAttribute('aria-label', t.retryLabel(m.content));
      b.addEventListener('click', () => retry(m));
      bubble.append(b);
    }
  }
  li.append(bubble);
  return li;
}

/** A conversation's list items: its messages at their send time, a time label where one is due. */
export function conversationItems(messages: readonly ChatMessage[], now: number, retry: (m: ChatMessage) => void, t: Messages, lang: string): HTMLElement[] {
  const items: HTMLElement[] = [];
  let previous: number | undefined;
  for (const m of messages) {
    if (needsTimeLabel(previous, m.time)) {
      const li = document.createElement('li');
      li.className = 'time-label';
      const label = document.createElement('time');
      label.dateTime = new Date(m.time).toISOString();
      label.textContent = timeLabel(m.time, now, t.time);
      li.append(label);
      items.push(li);
    }
    previous = m.time;
    items.push(messageElement(m, retry, t, lang));
  }
  return items;
}
