// The counters repository: named running totals (lines read, decisions sealed, outbox bytes ...)
// that `tailseal status` and the metrics show. A commit adds its counters inside its own
// transaction (bump), so a total never counts records that did not commit.
import type { Db, Prepared } from './db.js';
import * as Q from './sql.js';

export class CounterRepo {
  constructor(
    private readonly db: Db,
    private readonly q: Prepared,
  ) {}

  get(name: string): number {
    const r = this.q(Q.SQL_GET_COUNTER).get(name) as { value: number } | undefined;
    return r?.value ?? 0;
  }

  all(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const r of this.q(Q.SQL_LIST_COUNTERS).all() as { name: string; value: number }[]) out[r.name] = r.value;
    return out;
  }

  /** Adds to counters, in a transaction of its own. */
  add(values: Record<string, number>): void {
    this.db.transaction(() => this.bump(values))();
  }

  /** Adds to counters inside the caller's transaction. */
  bump(values: Record<string, number>): void {
    for (const [k, v] of Object.entries(values)) if (v !== 0) this.q(Q.SQL_ADD_COUNTER).run(k, v);
  }
}
