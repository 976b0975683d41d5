import type { Lang } from '../../i18n/i18n.js';
import { adminEn, type AdminMessages } from './en.js';
import { adminZhCN } from './zh-cn.js';

/** The dashboard's catalogs (its static labels), by language. */
export const ADMIN_CATALOGS: Readonly<Record<Lang, AdminMessages>> = { en: adminEn, 'zh-CN': adminZhCN };
