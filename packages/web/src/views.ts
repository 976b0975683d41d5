/// <reference lib="dom" />
import type { ChatConversation, ChatMessage } from '@switchboard/client';
import { MESSAGE_STATE_TEXT, T } from './strings.js';
import { needsTimeLabel, timeLabel } from './time-label.js';

// The chat page's DOM pieces: a conversation in the list, a message bubble, a conversation's items
// with their time labels. No state of their own; main.ts decides what to show.

function span(className: string, text: string): HTMLSpanElement {
  const s = document.createElement('span');
  s.className = className;
  s.textContent = text;
  return s;
}

/** One conversation of the list: its name (a group's with a tag), its unread badge. */
export function conversationItem(c: ChatConversation, current: boolean, open: (key: string) => void): HTMLLIElement {
  const li = document.createElement('li');
  const b = document.createElement('button');
  b.type = 'button';
  b.className = 'peer' + (c.group === null ? '' : ' group') + (current ? ' current' : '');
  b.dataset['peer'] = c.peer;
  const who = span('who', '');
  who.append(span('name', c.name));
  if (c.group !== null) {
    b.dataset['group'] = c.group;
    b.title = T.groupLabel(c.name);
    who.append(span('tag', T.groupTag));
  }
  b.append(who);
  if (current) b.setAttribute('aria-current', 'true');
  if (c.unread > 0) {
    const badge = span('badge', String(c.unread));
    badge.setAttribute('aria-label', T.unread(c.unread));
    b.append(badge);
  }
  b.addEventListener('click', () => open(c.peer));
  li.append(b);
  return li;
}

/** A message's bubble; in a group, received ones name their sender. `retry` sends a failed one again. */
export function messageElement(m: ChatMessage, retry: (m: ChatMessage) => void): HTMLLIElement {
  const li = document.createElement('li');
  li.className = `msg ${m.direction}`;
  li.dataset['id'] = m.id;
  li.dataset['state'] = m.state;
  li.dataset['time'] = String(m.time);
  const bubble = document.createElement('div');
  bubble.className = 'bubble';
  bubble.title = new Date(m.time).toLocaleString();
  if (m.group !== null && m.direction === 'in') bubble.append(span('sender', m.from));
  const text = document.createElement('p');
  text.className = 'text';
  text.textContent = m.content;
  bubble.append(text);
  if (m.direction === 'out') {
    const state = span('state', MESSAGE_STATE_TEXT[m.state]);
    if (m.error) state.title = m.error;
    bubble.append(state);
    if (m.state === 'failed') {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'retry';
      b.textContent = T.retry;
      b.setAttribute('aria-label', T.retryLabel(m.content));
      b.addEventListener('click', () => retry(m));
      bubble.append(b);
    }
  }
  li.append(bubble);
  return li;
}

/** A conversation's list items: its messages at their send time, a time label where one is due. */
export function conversationItems(messages: readonly ChatMessage[], now: number, retry: (m: ChatMessage) => void): HTMLElement[] {
  const items: HTMLElement[] = [];
  let previous: number | undefined;
  for (const m of messages) {
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
    items.push(messageElement(m, retry));
  }
  return items;
}
