// The completeness report's model and renderers: counts from a verified pass over a real trail
// (verifyTrail's hooks), the range filter, a broken trail, and hostile strings from the store escaped
// in HTML and Markdown.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import {
  type CompletenessReport,
  MAX_KEYS,
  REPORT_KIND,
  ReportBuilder,
  escapeHtml,
  escapeMd,
  mdCodeBlock,
  renderHtml,
  renderJson,
  renderMarkdown,
} from '../../../src/report/index.js';
import { fileStoreReader } from '../../../src/sinks/file/reader.js';
import { type StoredEntry, TailsealError, verifyTrail } from '../../../src/trail/index.js';
import {
  type BuiltTrail,
  type RecordSpec,
  STEP_MS,
  T0,
  TRAIL_ORIGIN,
  buildTrail,
  editObject,
  testKey,
} from '../../helpers/trail.js';

const cleanups: (() => void)[] = [];
after(() => cleanups.forEach((c) => c()));

const HOSTILE_PATH = '<script>alert(1)</script>|x`*[a](b)';
const HOSTILE_REV = '"><img src=x onerror=alert(1)>\n| y |';

/** A decision event with the members the report counts. */
function event(path: string, result: unknown, revision = 'r1', extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ bundles: { authz: { revision } }, decision_id: 'id', path, result, ...extra });
}

// 9 records in objects of 3, (heartbeat), 2 and 4: seq 4 a gap record.
const RECORDS: RecordSpec[] = [
  event('authz/allow', true),
  event('authz/allow', false),
  event('authz/allow', { allow: true, reason: 'ok' }),
  event(HOSTILE_PATH, 'maybe', HOSTILE_REV),
  { gap: 5000, payload: { reason: 'line_too_long', length: 5000 } },
  event('authz/allow', true, 'r2', { masked: ['/input/password'], erased: ['/input/ssn', '/input/dob'] }),
  'not json at all',
  event('authz/allow', { allow: false }, 'r2', { masked: ['/input/password'] }),
  event('other/rule', undefined, 'r2'),
];

function trail(): BuiltTrail {
  const t = buildTrail({ records: RECORDS, plan: [3, 'heartbeat', 2, 4] });
  cleanups.push(t.cleanup);
  return t;
}

async function report(
  t: BuiltTrail,
  range: { since?: number; until?: number; maxSilenceMs?: number } = {},
): Promise<CompletenessReport> {
  const b = new ReportBuilder({ verifiers: [t.key.verifier], store: t.dir, now: T0 + 10 * STEP_MS, ...range });
  let result;
  try {
    result = await verifyTrail(fileStoreReader(t.dir), {
      verifiers: [t.key.verifier],
      onEntry: b.onEntry,
      onCheckpoint: b.onCheckpoint,
    });
  } catch (err) {
    if (!(err instanceof TailsealError)) throw err;
    result = err;
  }
  return b.finish(result);
}

describe('report model', () => {
  it('counts a verified trail: results, paths, revisions, masking, gaps, heartbeats, keys, newest checkpoint', async () => {
    const t = trail();
    const r = await report(t);
    assert.equal(r.report, REPORT_KIND);
    assert.equal(r.version, 1);
    assert.deepEqual(r.verification, { ok: true });
    assert.equal(r.decisions.total, 8);
    assert.deepEqual(r.decisions.by_result, { allow: 3, deny: 2, other: 1, none: 2 });
    assert.deepEqual(r.decisions.by_path, [
      { name: 'authz/allow', count: 5 },
      { name: '(none)', count: 1 },
      { name: HOSTILE_PATH, count: 1 },
      { name: 'other/rule', count: 1 },
    ]);
    assert.deepEqual(r.decisions.revisions, [
      { bundle: 'authz', revision: 'r1', count: 3 },
      { bundle: 'authz', revision: 'r2', count: 3 },
      { bundle: 'authz', revision: HOSTILE_REV, count: 1 },
    ]);
    assert.deepEqual(r.decisions.masked, [{ name: '/input/password', count: 2 }]);
    assert.deepEqual(r.decisions.erased, [
      { name: '/input/dob', count: 1 },
      { name: '/input/ssn', count: 1 },
    ]);
    assert.equal(r.decisions.masked_decisions, 2);
    assert.equal(r.decisions.erased_decisions, 1);
    assert.equal(r.decisions.not_json, 1);
    assert.deepEqual(r.decisions.per_hour, [{ hour: '2025-11-29T07:00:00.000Z', count: 8 }]);
    assert.equal(r.streams.length, 1);
    const s = r.streams[0]!;
    assert.equal(s.result, 'OK');
    assert.equal(s.origin, `${TRAIL_ORIGIN}/opa`);
    assert.equal(s.entries, 9);
    assert.equal(s.objects, 4);
    assert.equal(s.decisions, 8);
    assert.equal(s.gap_records.count, 1);
    assert.deepEqual(s.gap_records.by_reason, [{ name: 'line_too_long', count: 1 }]);
    assert.deepEqual(s.gap_records.listed[0], {
      seq: 4,
      reason: 'line_too_long',
      source: '/var/log/opa/decisions.log',
      offset: s.gap_records.listed[0]!.offset,
      length: 5000,
      sealed_at: new Date(T0 + 2 * STEP_MS).toISOString(),
    });
    assert.equal(s.checkpoints_checked, 4);
    assert.equal(s.heartbeats, 1);
    assert.deepEqual(s.keys, [{ name: TRAIL_ORIGIN, key_id: testKey().verifier.keyId.toString(16).padStart(8, '0') }]);
    assert.equal(s.newest_checkpoint, t.latestNote);
    assert.equal(s.stored.first_sealed_at, new Date(T0).toISOString());
    assert.equal(s.stored.last_sealed_at, new Date(T0 + 3 * STEP_MS).toISOString());
    // Checkpoints a minute apart (as heartbeats keep a running writer): the longest silence is one
    // interval, and none is over the default 2m.
    assert.equal(s.median_checkpoint_interval_ms, STEP_MS);
    assert.equal(s.longest_silence?.ms, STEP_MS);
    assert.deepEqual(s.silences, []);
    assert.equal(r.max_silence_ms, 120_000);
    assert.equal(JSON.parse(renderJson(r)).decisions.total, 8);
  });

  it('a time without checkpoints over --max-silence is a silence: listed, in Markdown and shaded in the chart', async () => {
    const t = trail();
    const r = await report(t, { maxSilenceMs: STEP_MS - 1 });
    assert.equal(r.max_silence_ms, STEP_MS - 1);
    const s = r.streams[0]!;
    assert.equal(s.silences.length, 3, 'each of the 3 one-minute intervals between the 4 checkpoints');
    assert.ok(s.silences.every((x) => x.ms === STEP_MS));
    assert.match(renderMarkdown(r), /Silences \(no checkpoint for over 1m\):/);
    assert.equal((renderHtml(r).match(/<rect class="silence"/g) ?? []).length, 3);
  });

  it('--since/--until count only entries sealed in the range; all are verified', async () => {
    const t = trail();
    const r = await report(t, { since: T0 + 2 * STEP_MS, until: T0 + 2 * STEP_MS });
    assert.equal(r.verification.ok, true);
    assert.equal(r.range.since, new Date(T0 + 2 * STEP_MS).toISOString());
    const s = r.streams[0]!;
    assert.equal(s.entries, 9);
    assert.equal(s.checkpoints_checked, 4);
    assert.equal(s.decisions, 1);
    assert.equal(s.gap_records.count, 1);
    assert.equal(r.decisions.total, 1);
    assert.deepEqual(r.decisions.by_result, { allow: 0, deny: 0, other: 1, none: 0 });
    assert.equal(s.covered.first_sealed_at, new Date(T0 + 2 * STEP_MS).toISOString());
    assert.equal(s.heartbeats, 0);
  });

  it('a broken trail: the report names the code, stream, seq and object', async () => {
    const t = trail();
    editObject(t.dir, t.objectNames[3]!, (lines) => {
      lines[3] = lines[3]!.replace('other/rule', 'other/rulf');
      return lines;
    });
    const r = await report(t);
    assert.equal(r.verification.ok, false);
    assert.equal(r.verification.code, 'ENTRY_ALTERED');
    assert.equal(r.verification.stream, 'opa');
    assert.equal(r.verification.object, t.objectNames[3]);
    assert.equal(r.streams[0]!.result, 'ENTRY_ALTERED');
    for (const text of [renderHtml(r), renderMarkdown(r)]) assert.match(text, /ENTRY_ALTERED/);
  });

  it('silences: a time without checkpoints over 3x the median is listed; per-hour counts', () => {
    const b = new ReportBuilder({ verifiers: [testKey().verifier], store: 's', now: 0 });
    const entry = (seq: number, sealedAt: number): StoredEntry => ({
      envelope: { kind: 'decision', stream: 'x', seq, sealedAt, source: 's', offset: 0, payload: new Uint8Array() },
      chain: new Uint8Array(32),
      line: 0,
    });
    const H = 3_600_000;
    [0, 1, 2 * H, 2 * H + 5, 5 * H].forEach((at, i) => b.onEntry('o/x', entry(i, T0 + at)));
    const r = b.finish([]);
    assert.deepEqual(
      r.decisions.per_hour.map((h) => h.count),
      [2, 2, 1],
    );
    assert.equal(r.decisions.by_result.none, 5);
    assert.equal((renderHtml(r).match(/<rect class="bar"/g) ?? []).length, 3);
  });
});

describe('report model bounds', () => {
  it('keeps MAX_KEYS policy paths; the decisions of further paths are counted together', () => {
    const b = new ReportBuilder({ verifiers: [testKey().verifier], store: 's', now: 0 });
    for (let i = 0; i < MAX_KEYS + 5; i++) {
      const payload = new TextEncoder().encode(JSON.stringify({ path: `p/${i}`, result: true }));
      const envelope = {
        kind: 'decision' as const,
        stream: 'x',
        seq: i,
        sealedAt: T0,
        source: 's',
        offset: 0,
        payload,
      };
      b.onEntry('o/x', { envelope, chain: new Uint8Array(32), line: 0 });
    }
    const r = b.finish([]);
    assert.equal(r.decisions.by_path.length, MAX_KEYS);
    assert.equal(r.decisions.other.paths, 5);
    assert.equal(r.decisions.total, MAX_KEYS + 5);
    assert.equal(r.decisions.by_result.allow, MAX_KEYS + 5);
  });
});

describe('report chart', () => {
  it('marks each silence as a shaded band over the bars, with its stream and length', async () => {
    const r = await report(trail());
    const from = Date.parse(r.decisions.per_hour[0]!.hour) + 600_000;
    r.streams[0]!.silences = [
      { from: new Date(from).toISOString(), to: new Date(from + 900_000).toISOString(), ms: 900_000 },
    ];
    const html = renderHtml(r);
    const bands = [
      ...html.matchAll(/<rect class="silence" x="([\d.]+)" y="\d+" width="([\d.]+)"[^>]*><title>([^<]*)</g),
    ];
    assert.equal(bands.length, 1);
    // 10 to 25 minutes into the one hour charted: a quarter of the plot's 840 units from x = 50.
    assert.deepEqual([Number(bands[0]![1]), Number(bands[0]![2])], [190, 210]);
    assert.match(bands[0]![3]!, /^stream opa: no checkpoint for 15m /);
    assert.ok(html.indexOf('class="silence"') > html.indexOf('class="bar"'), 'drawn over the bars');
  });
});

describe('report renderers: hostile strings from the store', () => {
  it('escapeHtml and escapeMd', () => {
    assert.equal(escapeHtml(`<a href="x" o='y'>&</a>`), '&lt;a href=&quot;x&quot; o=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
    assert.equal(escapeMd('a|b\n<c>`d`&amp;'), 'a\\|b\\u000a&lt;c&gt;\\`d\\`&amp;amp;');
    assert.equal(mdCodeBlock('x ``` y\n'), '````text\nx ``` y\n````');
  });

  it('HTML: no tag, attribute or script from the store; the numbers carry their JSON names', async () => {
    const html = renderHtml(await report(trail()));
    assert.doesNotMatch(html, /<script|<img|onerror=alert\(1\)>/i);
    assert.ok(html.includes(escapeHtml(HOSTILE_PATH)));
    assert.ok(html.includes(escapeHtml(HOSTILE_REV)));
    assert.match(html, /<span data-field="decisions.total">8<\/span>/);
    assert.match(html, /Content-Security-Policy/);
    assert.doesNotMatch(html, /https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
  });

  it('Markdown: a hostile path stays in its table cell and is no HTML or link', async () => {
    const t = trail();
    const md = renderMarkdown(await report(t));
    const row = md.split('\n').find((l) => l.includes('alert'))!;
    // Two cells: every unescaped pipe is a cell border.
    assert.equal(row.replace(/\\\|/g, '').split('|').length - 2, 2, row);
    assert.doesNotMatch(md, /<script|<img/);
    const rev = md.split('\n').find((l) => l.includes('onerror'))!;
    assert.equal(rev.replace(/\\\|/g, '').split('|').length - 2, 3, rev);
    assert.ok(md.includes('```text\n' + t.latestNote.trimEnd() + '\n```'));
  });
});
