/**
 * Variable scope for `Assign`. A Map iteration or Parallel branch gets a child
 * scope: it reads outer variables, and its own assignments never leak out.
 */
export class Scope {
  private readonly vars: Record<string, unknown> = {};

  constructor(private readonly parent?: Scope) {}

  /** Every variable visible here, inner names shadowing outer ones. */
  flatten(): Record<string, unknown> {
    return { ...(this.parent?.flatten() ?? {}), ...this.vars };
  }

  /** Applies a batch of assignments to this scope. */
  assign(values: Record<string, unknown>): void {
    for (const [k, v] of Object.entries(values)) this.vars[k] = v;
  }

  /** A child scope. */
  child(): Scope {
    return new Scope(this);
  }
}
