import type { ClientEvent, SwitchboardClient } from '@switchboard/client';
import { createNodeClient, type NodeClientOptions } from '@switchboard/client/node';

/** The events of one type out of a recorded list. */
export const ofType = <K extends ClientEvent['type']>(events: ClientEvent[], type: K) =>
  events.filter((e): e is Extract<ClientEvent, { type: K }> => e.type === type);

/** SDK clients of one test file, made with shared defaults, each recording its events; `closeAll()` in afterAll. */
export class Users {
  private readonly made: SwitchboardClient[] = [];

  /** `defaults` is read at each `add` (servers start in beforeAll). */
  constructor(private readonly defaults: () => Partial<NodeClientOptions>) {}

  add(uid: string, opts: Partial<NodeClientOptions> = {}): { c: SwitchboardClient; events: ClientEvent[] } {
    const c = createNodeClient({ uid, ...this.defaults(), ...opts });
    this.made.push(c);
    const events: ClientEvent[] = [];
    c.onAny((e) => events.push(e));
    return { c, events };
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.made.map((c) => c.close()));
  }
}
