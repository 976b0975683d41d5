import { en, type Messages } from './i18n/en.js';

/**
 * WeChat-style time labels for a conversation: a label stands above a message only when more than
 * two minutes passed since the previous one; its text gets coarser with age: today "14:03", then
 * "Yesterday 14:03", "Day before yesterday 14:03", the weekday within a week ("Wednesday 14:03"),
 * then the date ("Mar 5 14:03", with the year when it is not this year's). The words come from a
 * catalog (`昨天 14:03` in Chinese). Pure: no DOM.
 */

/** A time label is shown when more than this passed since the previous message, ms. */
export const TIME_LABEL_GAP_MS = 2 * 60_000;

const DAY_MS = 86_400_000;

/** True when a message at `time` gets a label, given the previous message's time (undefined: first message). */
export function needsTimeLabel(previous: number | undefined, time: number): boolean {
  return previous === undefined || time - previous > TIME_LABEL_GAP_MS;
}

/** Label text for a message at `time` seen at `now` (both ms since epoch, local time zone), in `words`' language. */
export function timeLabel(time: number, now: number, words: Messages['time'] = en.time): string {
  const d = new Date(time);
  const hm = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  const days = calendarDaysBetween(time, now);
  if (days === 0) return hm;
  if (days === 1) return words.yesterday(hm);
  if (days === 2) return words.dayBefore(hm);
  if (days > 2 && days < 7) return words.weekday(d.getDay(), hm);
  return d.getFullYear() === new Date(now).getFullYear()
    ? words.date(d.getMonth(), d.getDate(), hm)
    : words.dateYear(d.getFullYear(), d.getMonth(), d.getDate(), hm);
}

/** Whole local calendar days from `a`'s date to `b`'s date (negative when `a` is later); DST-safe. */
export function calendarDaysBetween(a: number, b: number): number {
  return Math.round((startOfDay(b) - startOfDay(a)) / DAY_MS);
}

function startOfDay(t: number): number {
  const d = new Date(t);
  return new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
}

function pad(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}
