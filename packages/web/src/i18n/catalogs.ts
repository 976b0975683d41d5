import type { Lang } from './i18n.js';
import { en, type Messages } from './en.js';
import { zhCN } from './zh-cn.js';

/** The chat page's catalogs, by language. */
export const CATALOGS: Readonly<Record<Lang, Messages>> = { en, 'zh-CN': zhCN };
