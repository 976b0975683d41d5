import type { Logger } from 'pino';

type Hook = { name: string; fn: () => Promise<void> | void };

/**
 * Collects close hooks and runs them in reverse order of registration, once.
 * A failing hook is logged and the rest still run.
 */
export class Lifecycle {
  private hooks: Hook[] = [];
  private closing: Promise<void> | null = null;

  constructor(private readonly log?: Logger) {}

  get isClosing(): boolean {
    return this.closing !== null;
  }

  onClose(name: string, fn: () => Promise<void> | void): void {
    this.hooks.push({ name, fn });
  }

  close(): Promise<void> {
    this.closing ??= this.run();
    return this.closing;
  }

  private async run(): Promise<void> {
    for (const hook of [...this.hooks].reverse()) {
      try {
        await hook.fn();
      } catch (err) {
        this.log?.error({ err, hook: hook.name }, 'close hook failed');
      }
    }
    this.hooks = [];
  }
}
