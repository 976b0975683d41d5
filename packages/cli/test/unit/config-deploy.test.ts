import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';

const HOOK = 'https://app.example/hooks';

describe('loadConfig - first deployment', () => {
  it('IM_WEBHOOK_SECRET: a whsec_ (Standard Webhooks) secret must decode to at least 16 bytes', () => {
    const ok = 'whsec_' + Buffer.from('0123456789abcdef').toString('base64');
    expect(loadConfig('standalone', { IM_WEBHOOK_URL: HOOK, IM_WEBHOOK_SECRET: ok }).webhook?.secret).toBe(ok);
    const short = 'whsec_' + Buffer.from('0123456789').toString('base64');
    expect(() => loadConfig('standalone', { IM_WEBHOOK_URL: HOOK, IM_WEBHOOK_SECRET: short })).toThrow(/IM_WEBHOOK_SECRET: a whsec_ secret must be base64 of at least 16 bytes/);
  });
});

describe('loadConfig - TLS and the public WebSocket URL', () => {
  it('IM_TLS_CERT and IM_TLS_KEY: both or neither; the reload interval defaults to 10 s', () => {
    expect(loadConfig('standalone', {}).tls).toBeUndefined();
    expect(loadConfig('standalone', { IM_TLS_CERT: '/c.pem', IM_TLS_KEY: '/k.pem' }).tls).toEqual({ certPath: '/c.pem', keyPath: '/k.pem', reloadIntervalMs: 10_000 });
    expect(loadConfig('standalone', { IM_TLS_CERT: '/c.pem', IM_TLS_KEY: '/k.pem', IM_TLS_RELOAD_INTERVAL_MS: '500' }).tls?.reloadIntervalMs).toBe(500);
    expect(() => loadConfig('standalone', { IM_TLS_CERT: '/c.pem' })).toThrow(/IM_TLS_KEY: required with IM_TLS_CERT/);
    expect(() => loadConfig('standalone', { IM_TLS_KEY: '/k.pem' })).toThrow(/IM_TLS_CERT: required with IM_TLS_KEY/);
    expect(() => loadConfig('standalone', { IM_TLS_RELOAD_INTERVAL_MS: '5' })).toThrow(/IM_TLS_RELOAD_INTERVAL_MS/);
  });

  it('IM_PUBLIC_WS_URL: a ws:// or wss:// URL, {port} and {node} allowed', () => {
    expect(loadConfig('standalone', {}).publicWsUrl).toBeUndefined();
    expect(loadConfig('standalone', { IM_PUBLIC_WS_URL: 'wss://im.example.com/websocket' }).publicWsUrl).toBe('wss://im.example.com/websocket');
    expect(loadConfig('standalone', { IM_PUBLIC_WS_URL: 'wss://im.example.com:{port}/gw/{node}/websocket' }).publicWsUrl).toBe('wss://im.example.com:{port}/gw/{node}/websocket');
    expect(() => loadConfig('standalone', { IM_PUBLIC_WS_URL: 'https://im.example.com/websocket' })).toThrow(/IM_PUBLIC_WS_URL: must be a ws:\/\/ or wss:\/\/ URL/);
    expect(() => loadConfig('standalone', { IM_PUBLIC_WS_URL: 'not a url' })).toThrow(/IM_PUBLIC_WS_URL/);
  });
});
