// The completeness report (`tailseal report`): a model built in one verified pass over a store and
// its renderers. Imports only the trail core, so the browser verifier page can use it too.
export {
  type CompletenessReport,
  type Counted,
  type GapRow,
  MAX_KEYS,
  MAX_LISTED,
  REPORT_KIND,
  REPORT_VERSION,
  type ReportOptions,
  ReportBuilder,
  type RetentionSummary,
  DEFAULT_MAX_SILENCE_MS,
  type Silence,
  type StreamSummary,
} from './model.js';
export { type DecisionFacts, type DecisionResult, decisionFacts, topLevelMembers } from './scan.js';
export { escapeHtml, escapeMd, mdCodeBlock } from './escape.js';
export { duration, renderMarkdown } from './markdown.js';
export { chart, renderHtml } from './html.js';

import type { CompletenessReport } from './model.js';

/** The JSON form: the model itself. */
export function renderJson(r: CompletenessReport): string {
  return JSON.stringify(r, null, 2) + '\n';
}
