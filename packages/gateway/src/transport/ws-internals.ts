import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';

/**
 * The only place the gateway reaches past ws's public API. Everything here depends on the
 * internals of ws 8.x as pinned (8.23.0, see packages/gateway/package.json) and is checked against
 * the installed copy by test/unit/ws-internals.test.ts: upgrading ws means running that test first.
 *
 * What is used, and why there is no public way:
 * - `WebSocket#_socket`: the net.Socket a server-side WebSocket writes its frames to. ws exposes no
 *   accessor, and the transport corks it to turn a turn's frames into one writev (WriteBatcher).
 * - `WebSocket#_receiver`: the connection's Receiver (a Writable that parses frames), and on it
 *   `_fragmented` (the opcode of a fragmented message under way, 0 when none) and
 *   `Receiver.prototype.getInfo` (parses the first two bytes of each frame header). ws reassembles
 *   fragmented messages and has no option to refuse them at the first fragment (its `maxFragments`
 *   counts fragments and fails with 1008 only past the limit), but MobileIMSDK servers close such
 *   connections.
 *
 * Every function degrades to "not available" (undefined / false) rather than throwing when ws no
 * longer has what it looks for, so a ws upgrade cannot take connections down; the test is what
 * notices.
 */

/** Told when a fragmented message starts on the connection it watches (see `watchFragments`). */
export interface FragmentWatcher {
  fragmented(): void;
}

/**
 * The TCP socket under a WebSocket that completed its handshake (ws 8.x keeps it in `_socket`;
 * it is the upgrade request's socket, and ws writes every frame to it). Undefined when ws does not
 * have it there.
 */
export function wsSocket(ws: WebSocket): Socket | undefined {
  return (ws as unknown as { _socket?: Socket | null })._socket ?? undefined;
}

const kWatcher = Symbol('switchboard.fragmentWatcher');

/** The parts of ws's Receiver this module touches. */
interface ReceiverInternals {
  getInfo?: (cb: unknown) => void;
  /** Opcode of the fragmented message under way (set when a non-FIN data frame's header is parsed), 0 when none. */
  _fragmented?: number;
  [kWatcher]?: FragmentWatcher;
}

/** Receiver prototypes whose `getInfo` was wrapped (one in practice: ws's Receiver.prototype). */
const patchedProtos = new WeakSet<object>();

/**
 * Call `watcher.fragmented()` as soon as ws has parsed the header of a frame that starts or
 * continues a fragmented message on `ws` (a server-side WebSocket), before the message is
 * reassembled; it may be called more than once per connection, so the watcher closes the
 * connection on the first call and ignores the rest.
 *
 * How: the receivers' shared `Receiver.prototype.getInfo` is wrapped once per process (not one
 * wrapper function per connection: tens of thousands of connections), and looks at `_fragmented`
 * after the original ran. The watcher hangs off the receiver under a symbol; receivers without one
 * (ws clients in the same process, such as tests and the bench) behave exactly as before.
 *
 * Returns false, and watches nothing, when ws does not have the receiver or `getInfo` there.
 */
export function watchFragments(ws: WebSocket, watcher: FragmentWatcher): boolean {
  const rx = (ws as unknown as { _receiver?: ReceiverInternals | null })._receiver;
  if (!rx || typeof rx.getInfo !== 'function') return false;
  const proto = Object.getPrototypeOf(rx) as ReceiverInternals | null;
  if (proto === null || typeof proto.getInfo !== 'function') return false;
  rx[kWatcher] = watcher;
  if (patchedProtos.has(proto)) return true;
  patchedProtos.add(proto);
  const original = proto.getInfo;
  proto.getInfo = function (this: ReceiverInternals, cb: unknown) {
    original.call(this, cb);
    if (this._fragmented) this[kWatcher]?.fragmented();
  };
  return true;
}
