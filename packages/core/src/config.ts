import { ImError, ImErrorCode } from './errors.js';

/** Bad configuration: one error listing every problem, thrown at boot. */
export class ConfigError extends ImError {
  override name = 'ConfigError';
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(ImErrorCode.INVALID_CONFIG, `invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.problems = problems;
  }
}

/** Turn zod-style issues into "VAR: message" lines. */
export function formatIssues(issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }>): string[] {
  return issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`);
}
