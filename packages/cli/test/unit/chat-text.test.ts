import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ClientError, ClientErrorCode } from '@switchboard/client';
import { describeStored } from '../../src/chat-history.js';
import { attemptErrorText, chatDispatchUrl, LOGIN_CODE_TEXT, loginCodeText, loginRefusedLine, nameOf } from '../../src/chat-text.js';

const refused = (code?: number) =>
  new ClientError(ClientErrorCode.LOGIN_REJECTED, `login refused with code ${code}`, code === undefined ? {} : { serverCode: code, retryable: code !== 1025 });

describe('terminal chat texts', () => {
  it('dispatch - --dispatch URL wins, else loopback on IM_DISPATCH_PORT, else 8080; a bad port or URL is a problem', () => {
    expect(chatDispatchUrl('https://im.example.com', { IM_DISPATCH_PORT: '9999' })).toEqual({ url: 'https://im.example.com' });
    expect(chatDispatchUrl(undefined, { IM_DISPATCH_PORT: '18080' })).toEqual({ url: 'http://127.0.0.1:18080' });
    expect(chatDispatchUrl(undefined, {})).toEqual({ url: 'http://127.0.0.1:8080' });
    expect(chatDispatchUrl(undefined, { IM_DISPATCH_PORT: '' })).toEqual({ url: 'http://127.0.0.1:8080' });
    for (const bad of ['0', '65536', 'x', '80.5', '-1']) {
      expect(chatDispatchUrl(undefined, { IM_DISPATCH_PORT: bad })).toEqual({ problem: `chat: IM_DISPATCH_PORT must be a port from 1 to 65535, got "${bad}" (or give --dispatch URL)` });
    }
    expect(chatDispatchUrl('127.0.0.1:8080', {})).toEqual({ problem: 'chat: --dispatch must be an http(s) URL' });
  });

  it('login codes - in words, and what to do: a new token for 1025, retrying for 1030 and 1033', () => {
    expect(loginCodeText(1025)).toBe('1025 AUTH_FAILED: the token is missing, invalid or expired, or the auth service refused it');
    expect(loginCodeText(1033)).toBe('1033 AUTH_UNAVAILABLE: the auth backend could not be reached or answered garbage, so the login could not be verified');
    expect(loginCodeText(4711)).toMatch(/^4711: a code of the application's auth service \(IM_AUTH=http\)/);
    expect(loginCodeText(undefined)).toMatch(/4502 \(login failed\)/);
    expect(loginRefusedLine(refused(1025), 'alice')).toBe(
      '* login refused (1025 AUTH_FAILED: the token is missing, invalid or expired, or the auth service refused it). Start again with a valid token: ' +
        'with IM_AUTH=jwt, --token "$(switchboard token --uid alice)" run where IM_JWT_SECRET is the server\'s; with IM_AUTH=http, a token your auth service accepts',
    );
    expect(loginRefusedLine(refused(4711), 'alice')).toMatch(/^\* login refused \(4711: .*\); not retrying$/);
    expect(attemptErrorText(refused(1030))).toBe('login refused (1030 UNAVAILABLE: a backend the gateway needs (route store, offline store, bridge) is unreachable); temporary, retrying');
    const other = new ClientError(ClientErrorCode.DISPATCH_FAILED, 'dispatch answered 503: no live gateway');
    expect(attemptErrorText(other)).toBe('dispatch answered 503: no live gateway');
  });

  it('login codes - each text is the start of its row in docs/errors.md', () => {
    const doc = readFileSync(new URL('../../../../docs/errors.md', import.meta.url), 'utf8');
    for (const [code, { name, means }] of Object.entries(LOGIN_CODE_TEXT)) {
      const row = doc.split('\n').find((l) => l.startsWith(`| \`${code}\` | ${name} |`));
      expect(row, `docs/errors.md row of ${code}`).toBeDefined();
      expect(row!.split(' | ')[3], `${code}`).toMatch(new RegExp(`^${means.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    }
  });

  it('server pushes - "0" shows as server, live and in /history', () => {
    expect(nameOf('0')).toBe('server');
    expect(nameOf('bob')).toBe('bob');
    const m = { seq: 1, fp: 'f', from: '0', to: 'alice', content: 'maintenance at 22:00', typeu: -1, sentAt: 0 };
    expect(describeStored(m, 'alice')).toBe('seq 1 ← server: maintenance at 22:00');
  });
});
