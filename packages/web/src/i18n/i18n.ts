
/**
 * The chat page's languages: a small hand-written module rather than i18next. The page has two
 * languages and about sixty texts; plain typed objects give what it needs (a missing key is a
 * compile error, texts with values are typed functions) without a runtime, plural rules engine
 * or loader (i18next is about 40 KB minified and types its keys only through declaration merging).
 *
 * The choice: what the user picked (kept in `localStorage`, so it holds across sessions and tabs),
 * else the first of `navigator.languages` that is Chinese or English, else English.
 */

export const LANGS = ['en', 'zh-CN'] as const;
export type Lang = (typeof LANGS)[number];

/** Each language's name in itself, for the switch (not translated, by convention). */
export const LANG_NAMES: Readonly<Record<Lang, string>> = { en: 'English', 'zh-CN': '中文' };
/** `localStorage` key of the user's choice. */
export const LANG_KEY = 'switchboard.lang';

/** The part of the Web Storage API used (localStorage; a fake in unit tests). */
export type LangStorage = Pick<Storage, 'getItem' | 'setItem'>;

export function isLang(v: unknown): v is Lang {
  return typeof v === 'string' && (LANGS as readonly string[]).includes(v);
}

/** The language to start in: a remembered choice, else the browser's first Chinese or English preference, else English. */
export function pickLang(saved: string | null, preferred: readonly string[]): Lang {
  if (isLang(saved)) return saved;
  for (const tag of preferred) {
    const l = tag.toLowerCase();
    if (l === 'zh' || l.startsWith('zh-')) return 'zh-CN';
    if (l === 'en' || l.startsWith('en-')) return 'en';
  }
  return 'en';
}

/** The attributes static markup uses to name its texts: `data-i18n` for the text, the others for an attribute. */
export const I18N_ATTRS = { 'data-i18n': null, 'data-i18n-placeholder': 'placeholder', 'data-i18n-aria-label': 'aria-label', 'data-i18n-title': 'title' } as const;

/** Fill every element under `root` that names a key of catalog `m`: its text or an attribute. Unknown keys throw (a test reads the markup for them). */
export function applyStatic(root: ParentNode, m: object): void {
  for (const [attr, target] of Object.entries(I18N_ATTRS)) {
    for (const node of root.querySelectorAll<HTMLElement>(`[${attr}]`)) {
      const key = node.getAttribute(attr) ?? '';
      const text = (m as Record<string, unknown>)[key];
      if (typeof text !== 'string') throw new Error(`unknown text key ${key} in ${attr}`);
      if (target === null) node.textContent = text;
      else node.setAttribute(target, text);
    }
  }
}

/**
 * A page's current language and its catalog (the chat page's `CATALOGS`, the dashboard's
 * `ADMIN_CATALOGS`); listeners re-render on a switch. The choice is shared by both pages.
 */
export class I18n<M extends object> {
  private current: Lang;
  private readonly listeners = new Set<(lang: Lang) => void>();

  constructor(
    private readonly catalogs: Readonly<Record<Lang, M>>,
    private readonly storage: LangStorage | null,
    preferred: readonly string[],
  ) {
    let saved: string | null = null;
    try {
      saved = storage?.getItem(LANG_KEY) ?? null;
    } catch {
      // storage disabled: the browser's preference decides
    }
    this.current = pickLang(saved, preferred);
  }

  get lang(): Lang {
    return this.current;
  }

  /** The current catalog. */
  get t(): M {
    return this.catalogs[this.current];
  }

  /** Switch and remember the choice. */
  set(lang: Lang): void {
    try {
      this.storage?.setItem(LANG_KEY, lang);
    } catch {
      // storage full or disabled: the choice lasts as long as the page
    }
    if (lang === this.current) return;
    this.current = lang;
    for (const fn of this.listeners) fn(lang);
  }

  onChange(fn: (lang: Lang) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
}

/** The tab's title with `n` unread messages over every conversation: `(3) Switchboard chat`. */
export function titleWithUnread(base: string, n: number): string {
  return n > 0 ? `(${n}) ${base}` : base;
}
