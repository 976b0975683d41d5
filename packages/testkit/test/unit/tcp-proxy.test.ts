import { once } from 'node:events';
import * as net from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { waitFor } from '@switchboard/core';
import { TcpProxy } from '../../src/index.js';

/** An echo server on a loopback port; remembers its open sockets. */
async function echoServer(): Promise<{ port: number; sockets: Set<net.Socket>; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const srv = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    s.pipe(s);
  });
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  return {
    port: (srv.address() as net.AddressInfo).port,
    sockets,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => srv.close(() => resolve()));
    },
  };
}

/** A client through the proxy that collects what it receives and notes when it closes. */
async function dial(port: number): Promise<{ socket: net.Socket; received: () => string; closed: () => boolean }> {
  const socket = net.connect(port, '127.0.0.1');
  let data = '';
  let isClosed = false;
  socket.setEncoding('utf8');
  socket.on('data', (d: string) => (data += d));
  socket.on('error', () => undefined);
  socket.on('close', () => (isClosed = true));
  await once(socket, 'connect');
  return { socket, received: () => data, closed: () => isClosed };
}

/** Resolves with the error code of a connection attempt that fails. */
async function refusal(port: number): Promise<string | undefined> {
  const socket = net.connect(port, '127.0.0.1');
  const [err] = (await once(socket, 'error')) as [NodeJS.ErrnoException];
  return err.code;
}

describe('TcpProxy', () => {
  let echo: Awaited<ReturnType<typeof echoServer>>;
  let proxy: TcpProxy;

  beforeEach(async () => {
    echo = await echoServer();
    proxy = new TcpProxy({ host: '127.0.0.1', port: echo.port });
    await proxy.start();
  });

  afterEach(async () => {
    await proxy.close();
    await echo.close();
  });

  it('start - listens on a free loopback port and forwards both ways', async () => {
    expect(proxy.port).toBeGreaterThan(0);
    expect(proxy.url(`redis://:pw@db.example:6379/2`)).toBe(`redis://:pw@127.0.0.1:${proxy.port}/2`);
    const c = await dial(proxy.port);
    c.socket.write('hello');
    await waitFor(() => c.received() === 'hello', { timeoutMs: 2_000, what: 'echo through the proxy' });
    expect(proxy.connections).toBe(1);
  });

  it('toward - a started proxy toward the host and port of a URL, or the default port', async () => {
    const named = await TcpProxy.toward(`amqp://u:p@127.0.0.1:${echo.port}/vhost`, 1);
    const unnamed = await TcpProxy.toward('redis://127.0.0.1', echo.port);
    try {
      expect(named.target).toEqual({ host: '127.0.0.1', port: echo.port });
      expect(unnamed.target).toEqual({ host: '127.0.0.1', port: echo.port });
      const c = await dial(named.port);
      c.socket.write('via url');
      await waitFor(() => c.received() === 'via url', { timeoutMs: 2_000, what: 'echo through the proxy' });
    } finally {
      await named.close();
      await unnamed.close();
    }
  });

  it('freeze - drops bytes both ways without closing; resume forwards again', async () => {
    const c = await dial(proxy.port);
    await waitFor(() => proxy.connections === 1, { timeoutMs: 2_000, what: 'accepted' });
    proxy.freeze();
    c.socket.write('lost');
    await new Promise((r) => setTimeout(r, 100));
    expect(c.received()).toBe('');
    expect(c.closed()).toBe(false);
    proxy.resume();
    c.socket.write('back');
    await waitFor(() => c.received() === 'back', { timeoutMs: 2_000, what: 'echo after resume' });
  });

  it('sever - closes every connection and keeps accepting new ones', async () => {
    const c = await dial(proxy.port);
    await waitFor(() => echo.sockets.size === 1, { timeoutMs: 2_000, what: 'upstream connected' });
    proxy.sever();
    await waitFor(() => c.closed() && echo.sockets.size === 0, { timeoutMs: 2_000, what: 'both sides closed' });
    expect(proxy.connections).toBe(0);
    const again = await dial(proxy.port);
    again.socket.write('x');
    await waitFor(() => again.received() === 'x', { timeoutMs: 2_000, what: 'echo on a new connection' });
  });

  it('halfSever - closes the client side only; the target side stays open', async () => {
    const c = await dial(proxy.port);
    await waitFor(() => echo.sockets.size === 1, { timeoutMs: 2_000, what: 'upstream connected' });
    proxy.halfSever();
    await waitFor(() => c.closed(), { timeoutMs: 2_000, what: 'client side closed' });
    await new Promise((r) => setTimeout(r, 50));
    expect(echo.sockets.size).toBe(1);
    expect(proxy.connections).toBe(0);
  });

  it('stop - refuses connections until start, which reuses the port', async () => {
    const c = await dial(proxy.port);
    const port = proxy.port;
    await proxy.stop();
    await waitFor(() => c.closed(), { timeoutMs: 2_000, what: 'connection cut' });
    expect(await refusal(port)).toBe('ECONNREFUSED');
    await proxy.start();
    expect(proxy.port).toBe(port);
    const again = await dial(port);
    again.socket.write('y');
    await waitFor(() => again.received() === 'y', { timeoutMs: 2_000, what: 'echo after restart' });
  });

  it('close - destroys every socket, including half-severed ones; start fails afterwards; idempotent', async () => {
    const a = await dial(proxy.port);
    await dial(proxy.port);
    await waitFor(() => echo.sockets.size === 2, { timeoutMs: 2_000, what: 'upstreams connected' });
    proxy.halfSever();
    const b = await dial(proxy.port);
    await waitFor(() => echo.sockets.size === 3, { timeoutMs: 2_000, what: 'third upstream connected' });
    await proxy.close();
    await proxy.close();
    await waitFor(() => a.closed() && b.closed() && echo.sockets.size === 0, { timeoutMs: 2_000, what: 'every socket closed' });
    expect(proxy.connections).toBe(0);
    await expect(proxy.start()).rejects.toThrow('TcpProxy is closed');
  });
});
