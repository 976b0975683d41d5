import { WebSocket } from 'ws';
import { SwitchboardClient, type ClientOptions } from '../client.js';
import { webSocketTransport, type Transport, type WebSocketConstructor } from '../transport.js';
import { tcpTransport } from './tcp-transport.js';

export { tcpTransport } from './tcp-transport.js';

/** WebSocket transport for Node, over the `ws` package (one text frame per packet, no subprotocol). */
export function wsTransport(): Transport {
  return webSocketTransport(WebSocket as unknown as WebSocketConstructor);
}

export interface NodeClientOptions extends Omit<ClientOptions, 'transport'> {
  /** `ws` (WebSocket, the `ws` package) or `tcp` (MobileIMSDK's framed TCP). @default 'ws' */
  transport?: 'ws' | 'tcp' | Transport;
}

/** Create a client for Node: WebSocket through `ws`, or TCP. */
export function createNodeClient(opts: NodeClientOptions): SwitchboardClient {
  const t = opts.transport ?? 'ws';
  const transport = t === 'ws' ? wsTransport() : t === 'tcp' ? tcpTransport() : t;
  return new SwitchboardClient({ ...opts, transport });
}
