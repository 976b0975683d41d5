/// <reference lib="dom" />

/**
 * Opt-in browser notifications for messages that arrive while the tab is hidden. The page asks for
 * the Notification permission only when the user turns the toggle on (a user action, as browsers
 * require), never at load; the choice is kept in `localStorage` and only counts while the browser
 * still grants the permission.
 */

/** `localStorage` key of the opt-in ('1' when on). */
export const NOTIFY_KEY = 'switchboard.chat.notify';

export type NotifyStorage = Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;

/** What turning notifications on ended in. */
export type EnableResult = 'granted' | 'denied' | 'unsupported';

export class Notifier {
  private optedIn: boolean;

  constructor(private readonly storage: NotifyStorage | null) {
    let saved: string | null = null;
    try {
      saved = storage?.getItem(NOTIFY_KEY) ?? null;
    } catch {
      // storage disabled: off
    }
    this.optedIn = saved === '1';
  }

  /** The browser has the Notification API. */
  get supported(): boolean {
    return typeof window.Notification === 'function';
  }

  /** Opted in and still permitted. */
  get enabled(): boolean {
    return this.optedIn && this.supported && window.Notification.permission === 'granted';
  }

  /** Turn on, asking for the permission when the browser has not been asked yet. Call from a user action. */
  async enable(): Promise<EnableResult> {
    if (!this.supported) return 'unsupported';
    let permission = window.Notification.permission;
    if (permission === 'default') permission = await window.Notification.requestPermission();
    if (permission !== 'granted') {
      this.save(false);
      return 'denied';
    }
    this.save(true);
    return 'granted';
  }

  disable(): void {
    this.save(false);
  }

  /** Show one notification when enabled and the tab is hidden; `tag` replaces an earlier one of the same conversation. */
  notify(title: string, body: string, tag: string, onClick: () => void): boolean {
    if (!this.enabled || document.visibilityState !== 'hidden') return false;
    const n = new window.Notification(title, { body: body.slice(0, 140), tag });
    n.onclick = () => {
      window.focus();
      onClick();
      n.close();
    };
    return true;
  }

  private save(on: boolean): void {
    this.optedIn = on;
    try {
      if (on) this.storage?.setItem(NOTIFY_KEY, '1');
      else this.storage?.removeItem(NOTIFY_KEY);
    } catch {
      // storage disabled: the choice lasts as long as the page
    }
  }
}
