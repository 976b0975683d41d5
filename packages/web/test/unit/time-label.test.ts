import { describe, expect, it } from 'vitest';
import { zhCN } from '../../src/i18n/zh-cn.js';
import { calendarDaysBetween, needsTimeLabel, timeLabel, TIME_LABEL_GAP_MS } from '../../src/time-label.js';

// Local times, so the expectations hold in any time zone.
const at = (y: number, mo: number, d: number, h = 0, mi = 0) => new Date(y, mo - 1, d, h, mi).getTime();
const NOW = at(2026, 3, 12, 15, 30); // Thursday 12 March 2026, 15:30

describe('timeLabel', () => {
  it('today - the time only', () => {
    expect(timeLabel(at(2026, 3, 12, 9, 5), NOW)).toBe('09:05');
    expect(timeLabel(at(2026, 3, 12, 0, 0), NOW)).toBe('00:00');
  });
  it('yesterday and the day before - named, with the time', () => {
    expect(timeLabel(at(2026, 3, 11, 23, 59), NOW)).toBe('Yesterday 23:59');
    expect(timeLabel(at(2026, 3, 10, 8, 0), NOW)).toBe('Day before yesterday 08:00');
  });
  it('within a week - the weekday', () => {
    expect(timeLabel(at(2026, 3, 9, 14, 0), NOW)).toBe('Monday 14:00');
    expect(timeLabel(at(2026, 3, 6, 7, 45), NOW)).toBe('Friday 07:45');
  });
  it('older - the date; the year only when it is not this year', () => {
    expect(timeLabel(at(2026, 3, 5, 7, 45), NOW)).toBe('Mar 5 07:45');
    expect(timeLabel(at(2025, 12, 31, 22, 1), NOW)).toBe('Dec 31, 2025 22:01');
  });
  it('zh-CN - the same steps in Chinese words', () => {
    const zh = (t: number) => timeLabel(t, NOW, zhCN.time);
    expect(zh(at(2026, 3, 12, 9, 5))).toBe('09:05');
    expect(zh(at(2026, 3, 11, 23, 59))).toBe('昨天 23:59');
    expect(zh(at(2026, 3, 10, 8, 0))).toBe('前天 08:00');
    expect(zh(at(2026, 3, 9, 14, 0))).toBe('星期一 14:00');
    expect(zh(at(2026, 3, 5, 7, 45))).toBe('3月5日 07:45');
    expect(zh(at(2025, 12, 31, 22, 1))).toBe('2025年12月31日 22:01');
  });
  it('calendar days - counted between local dates, not 24-hour spans', () => {
    expect(calendarDaysBetween(at(2026, 3, 11, 23, 59), at(2026, 3, 12, 0, 1))).toBe(1);
    expect(calendarDaysBetween(at(2026, 3, 12, 0, 1), at(2026, 3, 12, 23, 59))).toBe(0);
    // Across a daylight-saving change (where the zone has one) still whole days.
    expect(calendarDaysBetween(at(2026, 3, 1, 12), at(2026, 4, 1, 12))).toBe(31);
    expect(calendarDaysBetween(at(2026, 10, 20, 12), at(2026, 11, 10, 12))).toBe(21);
  });
});

describe('needsTimeLabel', () => {
  it('gap - the first message gets a label; later ones only after more than two minutes', () => {
    expect(TIME_LABEL_GAP_MS).toBe(120_000);
    expect(needsTimeLabel(undefined, NOW)).toBe(true);
    expect(needsTimeLabel(NOW, NOW + 120_000)).toBe(false);
    expect(needsTimeLabel(NOW, NOW + 120_001)).toBe(true);
    expect(needsTimeLabel(NOW, NOW + 5_000)).toBe(false);
  });
});
