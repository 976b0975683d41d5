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
