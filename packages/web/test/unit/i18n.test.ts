import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { en } from '../../src/i18n/en.js';
import { ADMIN_CATALOGS } from '../../src/admin/i18n/catalogs.js';
import { CATALOGS } from '../../src/i18n/catalogs.js';
import { I18N_ATTRS, I18n, LANG_KEY, LANGS, pickLang } from '../../src/i18n/i18n.js';
import { presenceText } from '../../src/presence.js';

const html = readFileSync(new URL('../../index.html', import.meta.url), 'utf8');
const adminHtml = readFileSync(new URL('../../admin/index.html', import.meta.url), 'utf8');

function memoryStorage() {
  const data = new Map<string, string>();
  return { data, getItem: (k: string) => data.get(k) ?? null, setItem: (k: string, v: string) => void data.set(k, v) };
}

/** Keys of a catalog, nested ones as `a.b`. */
function keys(o: object, prefix = ''): string[] {
  return Object.entries(o).flatMap(([k, v]) => (typeof v === 'object' && v !== null ? keys(v as object, `${prefix}${k}.`) : [`${prefix}${k}`]));
}

describe('chat page languages', () => {
  it('pickLang - a remembered choice wins; else the first Chinese or English browser preference; else English', () => {
    expect(pickLang(null, ['zh-CN', 'en'])).toBe('zh-CN');
    expect(pickLang(null, ['zh-TW'])).toBe('zh-CN');
    expect(pickLang(null, ['fr-FR', 'zh', 'en'])).toBe('zh-CN');
    expect(pickLang(null, ['en-GB', 'zh-CN'])).toBe('en');
    expect(pickLang(null, ['fr-FR', 'de'])).toBe('en');
    expect(pickLang(null, [])).toBe('en');
    expect(pickLang('en', ['zh-CN'])).toBe('en');
    expect(pickLang('zh-CN', ['en-US'])).toBe('zh-CN');
    expect(pickLang('klingon', ['zh-CN'])).toBe('zh-CN');
  });

  it('I18n - a switch is remembered in storage, tells the listeners, and the next page starts in it', () => {
    const storage = memoryStorage();
    const first = new I18n(CATALOGS, storage, ['en-US']);
    expect([first.lang, first.t.send]).toEqual(['en', 'Send']);
    const seen: string[] = [];
    first.onChange((l) => seen.push(l));
    first.set('zh-CN');
    expect([first.lang, first.t.send, seen, storage.data.get(LANG_KEY)]).toEqual(['zh-CN', '发送', ['zh-CN'], 'zh-CN']);
    expect(new I18n(CATALOGS, storage, ['en-US']).lang).toBe('zh-CN');
    expect(new I18n(CATALOGS, null, ['zh-CN']).lang).toBe('zh-CN');
  });

  it('catalogs - every language has exactly the reference keys (the types say so too) and no empty text but one', () => {
    for (const lang of LANGS) {
      expect(keys(CATALOGS[lang]).sort(), lang).toEqual(keys(en).sort());
      const empty = keys(CATALOGS[lang]).filter((k) => {
        const v = k.split('.').reduce<unknown>((o, p) => (o as Record<string, unknown>)[p], CATALOGS[lang]);
        return v === '';
      });
      expect(empty, lang).toEqual(['messageState.received']);
    }
    expect(CATALOGS['zh-CN'].state.reconnecting).toBe('重新连接中…');
    expect(CATALOGS['zh-CN'].unread(3)).toBe('3 条未读');
  });

  it('index.html - every key it names is a text of the catalogs, and it has no text of its own', () => {
    const named = [...html.matchAll(/data-i18n(?:-[a-z-]+)?="([^"]+)"/g)].map((m) => m[1]!);
    expect(named.length).toBeGreaterThan(20);
    for (const k of named) for (const lang of LANGS) expect(typeof (CATALOGS[lang] as Record<string, unknown>)[k], `${lang} ${k}`).toBe('string');
    expect(Object.keys(I18N_ATTRS)).toContain('data-i18n-placeholder');
    // Text between tags: none but the <title> before the script sets it, and the back arrow.
    const body = html.replace(/<!--[\s\S]*?-->/g, '').replace(/<script[\s\S]*?<\/script>/g, '');
    const texts = [...body.matchAll(/>([^<]+)</g)].map((m) => m[1]!.trim()).filter((s) => s !== '');
    expect(texts).toEqual(['Switchboard chat', '‹']);
    // Attributes a user sees are named by key, never written in.
    expect(body).not.toMatch(/\s(placeholder|aria-label|title)="/);
  });

  it('admin/index.html - every key it names is a static label of both dashboard catalogs, which have the same keys; no text of its own', () => {
    expect(keys(ADMIN_CATALOGS['zh-CN']).sort()).toEqual(keys(ADMIN_CATALOGS.en).sort());
    const named = [...adminHtml.matchAll(/data-i18n(?:-[a-z-]+)?="([^"]+)"/g)].map((m) => m[1]!);
    expect(named.length).toBeGreaterThan(40);
    for (const k of named) for (const lang of LANGS) expect(typeof (ADMIN_CATALOGS[lang] as Record<string, unknown>)[k], `${lang} ${k}`).toBe('string');
    const body = adminHtml.replace(/<!--[\s\S]*?-->/g, '').replace(/<script[\s\S]*?<\/script>/g, '');
    const texts = [...body.matchAll(/>([^<]+)</g)].map((m) => m[1]!.trim()).filter((s) => s !== '');
    expect(texts).toEqual(['Switchboard admin', 'IM_ADMIN_TOKEN', '–', '–', '–', '–']); // the <title>, a variable's name, empty figures
    expect(body).not.toMatch(/\s(placeholder|aria-label|title)="/);
  });

  it('presenceText - online, last seen with a time label, or offline', () => {
    const now = new Date(2026, 2, 12, 15, 30).getTime();
    const at = new Date(2026, 2, 11, 9, 5).getTime();
    expect(presenceText({ online: true }, now, en)).toBe('online');
    expect(presenceText({ online: false, lastSeen: at }, now, en)).toBe('last seen Yesterday 09:05');
    expect(presenceText({ online: false, lastSeen: at }, now, CATALOGS['zh-CN'])).toBe('最后在线 昨天 09:05');
    expect(presenceText({ online: false }, now, CATALOGS['zh-CN'])).toBe('离线');
  });
});
