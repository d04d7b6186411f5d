// User-facing errors. Each says what was wrong and where, so the CLI and the UI can print it as is.

/** One problem in an input file, located by line (1-based, header = line 1) and field. */
export interface InputIssue {
  file: string;
  line: number | null;
  field: string | null;
  message: string;
}

/** Bad input: a file that cannot be imported, a parameter out of range, a missing project. */
export class UserError extends Error {
  constructor(message: string, readonly issues: InputIssue[] = [], readonly totalIssues = issues.length) {
    super(message);
    this.name = 'UserError';
  }
}

export function formatIssue(i: InputIssue): string {
  const where = [i.file, i.line !== null ? `line ${i.line}` : null, i.field !== null ? `field "${i.field}"` : null]
    .filter(Boolean)
    .join(', ');
  return `${where}: ${i.message}`;
}
