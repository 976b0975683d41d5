import { afterEach, describe, expect, it, vi } from 'vitest';
import { Emitter, type ClientEvent, type SwitchboardClient } from '@switchboard/client';
import { LivePresence, TYPING_SHOW_MS } from '../../src/live-presence.js';

/** The part of the SDK client LivePresence uses, recording what it was asked. */
function fakeClient() {
  const events = new Emitter<ClientEvent>();
  const calls = { watch: [] as string[][], typing: [] as unknown[] };
  const client = {
    state: 'online',
    on: events.on.bind(events),
    groupAddress: (gid: string) => `g:${gid}`,
    watchPresence: (uids: readonly string[]) => void calls.watch.push([...uids]),
    sendTyping: (t: unknown) => (calls.typing.push(t), true),
  };
  return { events, calls, client: client as unknown as SwitchboardClient };
}

describe('LivePresence', () => {
  afterEach(() => vi.useRealTimers());

  it('watch - the direct conversations once per distinct set; presence events keep the latest state and the last-seen time', () => {
    const { events, calls, client } = fakeClient();
    const changes = vi.fn();
    const p = new LivePresence(client, changes);
    p.watch(['bob', 'carol', 'bob']);
    p.watch(['carol', 'bob']);
    p.watch([]);
    expect(calls.watch).toEqual([['bob', 'carol'], []]);
    events.emit({ type: 'presence', uid: 'bob', online: false, lastSeen: 1_000 });
    events.emit({ type: 'presence', uid: 'bob', online: true });
    expect(p.states.get('bob')).toEqual({ online: true, lastSeen: 1_000 });
    expect(changes).toHaveBeenCalledTimes(2);
    // Our own connection lost: the states are stale, so none are shown until the server sends them again.
    events.emit({ type: 'state', state: 'reconnecting', previous: 'online', reason: 'link lost' });
    expect([p.states.size, changes.mock.calls.length]).toEqual([0, 3]);
    p.close();
  });

  it('typing - passed on to a peer or a group while online, once the server showed it knows presence; "typing…" shows for a few seconds, ends with a message from the typer', () => {
    vi.useFakeTimers();
    const { events, calls, client } = fakeClient();
    const changes = vi.fn();
    const p = new LivePresence(client, changes);
    p.typing('bob', null); // no presence notice yet: maybe a gateway that would relay it as a message
    expect(calls.typing).toEqual([]);
    events.emit({ type: 'presence', uid: 'bob', online: true });
    p.typing('bob', null);
    p.typing('g:team', 'team');
    (client as { state: string }).state = 'reconnecting';
    p.typing('bob', null);
    expect(calls.typing).toEqual(['bob', { group: 'team' }]);

    events.emit({ type: 'typing', from: 'bob' });
    events.emit({ type: 'typing', from: 'carol', group: 'team' });
    expect([p.typingIn('bob'), p.typingIn('g:team'), p.typingIn('carol')]).toEqual(['bob', 'carol', null]);
    p.clearTyping('g:team', 'dave'); // another member's message: carol still types
    p.clearTyping('bob', 'bob');
    expect([p.typingIn('bob'), p.typingIn('g:team')]).toEqual([null, 'carol']);
    const before = changes.mock.calls.length;
    vi.advanceTimersByTime(TYPING_SHOW_MS + 50);
    expect(p.typingIn('g:team')).toBeNull();
    expect(changes.mock.calls.length).toBeGreaterThan(before); // re-rendered when it expired
    p.close();
  });
});
