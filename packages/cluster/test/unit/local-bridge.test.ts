import { describe, expect, it } from 'vitest';
import { ImErrorCode, newNodeId, waitFor } from '@switchboard/core';
import type { BridgeMessage } from '../../src/bridge.js';
import { LocalBridge, LocalBus } from '../../src/memory/local-bridge.js';
import { bridgeContract } from '../contract/bridge.contract.js';

bridgeContract('LocalBridge', async () => {
  const bus = new LocalBus();
  return { a: new LocalBridge(bus, newNodeId('a')), b: new LocalBridge(bus, newNodeId('b')) };
});

describe('LocalBridge', () => {
  it('failNextSends - fails exactly the next n sends with UnavailableError', async () => {
    const bus = new LocalBus();
    const a = new LocalBridge(bus, newNodeId('a'));
    const b = new LocalBridge(bus, newNodeId('b'));
    const got: BridgeMessage[] = [];
    await a.start(() => undefined);
    await b.start((m) => got.push(m));
    const msg: BridgeMessage = { type: 'control', origin: a.nodeId, action: 'drain' };
    a.failNextSends(2);
    await expect(a.send(b.nodeId, msg)).rejects.toMatchObject({ code: ImErrorCode.UNAVAILABLE });
    await expect(a.send(b.nodeId, msg)).rejects.toMatchObject({ code: ImErrorCode.UNAVAILABLE });
    await a.send(b.nodeId, msg);
    await waitFor(() => got.length === 1, { what: 'one message' });
    expect(got).toEqual([msg]);
    await a.close();
    await b.close();
  });
});
