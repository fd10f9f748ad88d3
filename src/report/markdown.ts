// The completeness report as Markdown: the JSON model's content for a ticket or a wiki page. Every
// string from the store goes through escapeMd; the checkpoint note is a fenced block.
import { escapeMd as e, mdCodeBlock } from './escape.js';
import { type CompletenessReport, type Counted, type StreamSummary } from './model.js';

const n = (x: number): string => x.toLocaleString('en-US');
const orDash = (s: string | null): string => (s === null ? '-' : s);

function table(head: string[], rows: string[][]): string {
  if (rows.length === 0) return '_none_\n';
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)]
    .join('\n')
    .concat('\n');
}

const counted = (title: string, list: Counted[]): string =>
  table(
    [title, 'count'],
    list.map((c) => [e(c.name), n(c.count)]),
  );

/** "1h 2m 3s" for a duration in ms. */
export function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  const parts = [
    [Math.floor(s / 86400), 'd'],
    [Math.floor((s % 86400) / 3600), 'h'],
    [Math.floor((s % 3600) / 60), 'm'],
    [s % 60, 's'],
  ].filter(([v]) => v !== 0);
  return parts.length === 0 ? `${ms} ms` : parts.map(([v, u]) => `${v}${u}`).join(' ');
}

function stream(s: StreamSummary, maxSilenceMs: number): string {
  const out = [`### Stream ${e(s.stream)}`, ''];
  out.push(
    table(
      ['', ''],
      [
        ['origin', e(s.origin)],
        ['verification', `**${s.result === 'OK' ? 'OK' : `\`${s.result}\``}**`],
        ['entries (whole stream)', n(s.entries)],
        ['objects', n(s.objects)],
        ['root hash', s.root_hash === null ? '-' : `\`${s.root_hash}\``],
        ['stored (first … last sealed_at)', `${orDash(s.stored.first_sealed_at)} … ${orDash(s.stored.last_sealed_at)}`],
        [
          'in range (first … last sealed_at)',
          `${orDash(s.covered.first_sealed_at)} … ${orDash(s.covered.last_sealed_at)}`,
        ],
        ['decisions in range', n(s.decisions)],
        ['gap records in range', n(s.gap_records.count)],
        ['checkpoints checked', n(s.checkpoints_checked)],
        ['heartbeats in range', n(s.heartbeats)],
        [
          'median checkpoint interval',
          s.median_checkpoint_interval_ms === null ? '-' : duration(s.median_checkpoint_interval_ms),
        ],
        [
          'longest silence',
          s.longest_silence === null
            ? '-'
            : `${duration(s.longest_silence.ms)} (${s.longest_silence.from} … ${s.longest_silence.to})`,
        ],
        ['duplicate objects', n(s.duplicates)],
        ['signed by', s.keys.map((k) => `${e(k.name)} (${k.key_id})`).join(', ') || '-'],
      ],
    ),
  );
  if (s.gap_records.count > 0) {
    out.push('Gap records by reason:', '', counted('reason', s.gap_records.by_reason));
    const rows = s.gap_records.listed.map((g) => [
      String(g.seq),
      e(g.reason),
      e(g.source),
      String(g.offset),
      g.length === null ? `at least ${g.at_least ?? '?'}` : String(g.length),
      g.sealed_at,
    ]);
    out.push(table(['seq', 'reason', 'source', 'from offset', 'bytes', 'sealed_at'], rows));
    if (s.gap_records.not_listed > 0) out.push(`… and ${n(s.gap_records.not_listed)} more gap records.\n`);
  }
  if (s.silences.length > 0) {
    out.push(`Silences (no checkpoint for over ${duration(maxSilenceMs)}):`, '');
    out.push(
      table(
        ['from', 'to', 'length'],
        s.silences.map((x) => [x.from, x.to, duration(x.ms)]),
      ),
    );
  }
  if (s.newest_checkpoint !== null) {
    out.push(`Newest checkpoint (${orDash(s.newest_checkpoint_time)}), to save for \`tailseal prove --consistency\`:`);
    out.push('', mdCodeBlock(s.newest_checkpoint), '');
  }
  return out.join('\n');
}

export function renderMarkdown(r: CompletenessReport): string {
  const v = r.verification;
  const d = r.decisions;
  const out = [
    '# tailseal completeness report',
    '',
    table(
      ['', ''],
      [
        ['store', e(r.store)],
        ['range (sealed_at)', `${r.range.since ?? 'start'} … ${r.range.until ?? 'end'}`],
        ['generated', r.generated_at],
        [
          'verification',
          v.ok
            ? '**OK**: every object verified'
            : `**FAIL \`${v.code ?? ''}\`**${v.stream ? ` stream ${e(v.stream)}` : ''}` +
              `${v.seq !== undefined ? ` seq ${v.seq}` : ''}${v.object ? ` object ${e(v.object)}` : ''}: ` +
              e(v.message ?? ''),
        ],
        ['decisions in range', n(d.total)],
      ],
    ),
    '## Streams',
    '',
    ...r.streams.map((s) => stream(s, r.max_silence_ms)),
    '## What OPA decided',
    '',
    table(
      ['allow', 'deny', 'other', 'none'],
      [[n(d.by_result.allow), n(d.by_result.deny), n(d.by_result.other), n(d.by_result.none)]],
    ),
    'By policy path:',
    '',
    counted('path', d.by_path),
    'Policy bundle revisions:',
    '',
    table(
      ['bundle', 'revision', 'decisions'],
      d.revisions.map((x) => [e(x.bundle), e(x.revision), n(x.count)]),
    ),
    `Masked fields (${n(d.masked_decisions)} decisions):`,
    '',
    counted('pointer', d.masked),
    `Erased fields (${n(d.erased_decisions)} decisions):`,
    '',
    counted('pointer', d.erased),
  ];
  if (d.not_json > 0) out.push(`${n(d.not_json)} decision payloads are not JSON objects.\n`);
  const other = d.other;
  if (other.paths + other.revisions + other.pointers > 0)
    out.push(
      `Beyond the names listed: ${n(other.paths)} decisions of other paths, ${n(other.revisions)} of other ` +
        `revisions, ${n(other.pointers)} other masked/erased pointers.\n`,
    );
  out.push(
    'Decisions per hour (UTC):',
    '',
    table(
      ['hour', 'decisions'],
      d.per_hour.map((h) => [h.hour, n(h.count)]),
    ),
  );
  if (r.retention) {
    const t = r.retention;
    out.push(
      '## Retention (Object Lock)',
      '',
      table(
        ['', ''],
        [
          ['objects', n(t.objects)],
          ['locked', n(t.locked)],
          ['modes', t.modes.map((m) => `${e(m.name)} ${n(m.count)}`).join(', ') || '-'],
          ['retained until at least', orDash(t.earliest_retain_until)],
          ['latest retain-until', orDash(t.latest_retain_until)],
          ['objects without a lock', n(t.unlocked_count)],
        ],
      ),
    );
    if (t.unlocked.length > 0) out.push(t.unlocked.map((o) => `- ${e(o)}`).join('\n') + '\n');
  }
  out.push('## Changes over stored objects', '');
  if (r.tampering.count === 0) out.push('None seen (later versions, delete markers).\n');
  else
    out.push(
      table(
        ['object', 'kind', 'version', 'when', 'owner'],
        r.tampering.listed.map((t) => [e(t.key), t.kind, e(t.versionId), e(t.lastModified), e(t.owner ?? '-')]),
      ),
    );
  return out.join('\n');
}
