// The `elasticsearch` sink: a copy of every sealed decision for search, through the Bulk API of
// Elasticsearch or OpenSearch. Each decision is one `create` action with a deterministic `_id`
// (bulk.ts), so sending an object again never indexes a decision twice: what an earlier try
// created answers 409, which counts as delivered.
// https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-bulk
//
// An object is acknowledged once every document is in the cluster (201 or 409). Items answered
// 429/5xx make the put fail retryably (the shipper sends the whole object again later); items
// the cluster refuses (mapping or parse errors) park the object with SINK_PERMANENT naming their
// seqs, after the rest of the object was sent, until `tailseal requeue`.
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { TailsealError } from '../../errors.js';
import { objectEvents } from '../decisions/events.js';
import { scrubSecrets } from '../net/errors.js';
import { HttpTransport, redactUrl } from '../net/transport.js';
import type { PutResult, Sink, SinkContext, TrailObject } from '../sink.js';
import { type ItemFailure, readBulkAnswer } from './answer.js';
import { type BulkDoc, bulkDoc, packBulks } from './bulk.js';
import { type ElasticsearchSinkConfig, bulkUrl } from './config.js';

const gzipAsync = promisify(gzip);

/** The answer read per request: a fixed part plus room for an error per action. */
const ANSWER_BASE_BYTES = 64 * 1024;
const ANSWER_BYTES_PER_ITEM = 4 * 1024;
/** Refused items named in a message, and the longest reason quoted of each. */
const NAMED_ITEMS = 5;
const REASON_CHARS = 200;

export class ElasticsearchSink implements Sink {
  readonly type = 'elasticsearch';
  readonly name: string;
  private readonly transport: HttpTransport;
  private readonly url: string;
  private readonly target: string;
  private readonly secrets: string[];

  constructor(
    private readonly config: ElasticsearchSinkConfig,
    private readonly ctx: SinkContext,
  ) {
    this.name = config.name;
    const headers = { ...config.headers };
    if (config.api_key !== undefined) headers.authorization = `ApiKey ${config.api_key}`;
    const secrets = config.api_key === undefined ? [] : [config.api_key];
    this.transport = new HttpTransport(config.name, { ...config, headers, secrets }, ctx.log);
    this.url = bulkUrl(config.url);
    this.target = redactUrl(this.url);
    const a = config.auth;
    this.secrets = [...Object.values(headers), ...secrets, a?.bearer_token, a?.password].filter(
      (s): s is string => s !== undefined && s !== '',
    );
  }

  async start(): Promise<void> {
    const c = this.config;
    if (c.api_key !== undefined && new URL(c.url).protocol === 'http:')
      this.ctx.log.warn(
        { sink: this.name, url: redactUrl(c.url) },
        'Credentials are sent over plain http://; use https:// outside a trusted network.',
      );
    this.transport.start(
      this.url,
      {
        ...(c.api_key !== undefined ? { auth: 'api_key' } : {}),
        index: c.index,
        max_bulk_bytes: c.max_bulk_bytes,
        gzip: c.gzip,
      },
      'Elasticsearch sink ready.',
    );
  }

  async put(obj: TrailObject): Promise<PutResult> {
    const { name, events, gaps } = objectEvents(obj, true, this.name);
    if (events.length === 0) {
      this.ctx.log.debug({ sink: this.name, object: name, gaps }, 'No decisions in this object; nothing to index.');
      return 'stored';
    }
    const docs = events.map((e) => bulkDoc(e, obj.stream, this.config.index));
    // Packed before anything is sent: a document over the limit fails the object up front.
    const bulks = packBulks(docs, this.config.max_bulk_bytes, this.name, name);
    const rejected: { doc: BulkDoc; f: ItemFailure }[] = [];
    let created = 0;
    let existed = 0;
    for (const [i, b] of bulks.entries()) {
      const part = docs.slice(b.first, b.first + b.count);
      const seqs = `seq ${part[0]!.seq}-${part.at(-1)!.seq}`;
      const what = `POST ${this.target} (request ${i + 1}/${bulks.length} of ${name}, ${seqs})`;
      const answer = await this.send(b.body, b.count, what);
      const outcome = readBulkAnswer(answer, b.count, this.name, what);
      created += outcome.created;
      existed += outcome.existed;
      if (outcome.retry.length > 0)
        // Sending the whole object again is safe: the documents created so far answer 409.
        throw new TailsealError(
          'SINK_RETRYABLE',
          `sink ${this.name}: ${what}: ${outcome.retry.length} of ${b.count} documents not indexed for now: ` +
            this.describe(outcome.retry.map((f) => ({ doc: part[f.at]!, f }))),
          { details: { seqs: outcome.retry.map((f) => part[f.at]!.seq) } },
        );
      for (const f of outcome.rejected) rejected.push({ doc: part[f.at]!, f });
    }
    if (rejected.length > 0)
      throw new TailsealError(
        'SINK_PERMANENT',
        `sink ${this.name}: the cluster refused ${rejected.length} of the ${docs.length} documents of ${name}: ` +
          `${this.describe(rejected)}; fix the index mapping or template, then \`tailseal requeue\` sends the object ` +
          'again (the documents already indexed answer 409)',
        { details: { object: name, seqs: rejected.map((r) => r.doc.seq) } },
      );
    this.ctx.log.debug(
      { sink: this.name, object: name, created, existed, requests: bulks.length, gaps },
      'Decisions indexed.',
    );
    return 'stored';
  }

  /** POSTs one bulk body; the answer's text (bounded). 413 says what to lower. */
  private async send(body: Buffer, count: number, what: string): Promise<string> {
    const headers: Record<string, string> = { 'content-type': 'application/x-ndjson' };
    let payload = body;
    if (this.config.gzip) {
      headers['content-encoding'] = 'gzip';
      payload = await gzipAsync(body);
    }
    try {
      const res = await this.transport.postText(
        this.url,
        headers,
        payload,
        what,
        [],
        ANSWER_BASE_BYTES + ANSWER_BYTES_PER_ITEM * count,
      );
      return res.text;
    } catch (err) {
      if (err instanceof TailsealError && (err.details as { status?: unknown } | undefined)?.status === 413)
        throw new TailsealError(
          'SINK_PERMANENT',
          `${err.message}; the request (${body.length} bytes before gzip) is over the cluster's limit: lower ` +
            `max_bulk_bytes (now ${this.config.max_bulk_bytes}) below its http.max_content_length, then ` +
            '`tailseal requeue`',
          { cause: err, details: err.details },
        );
      throw err;
    }
  }

  /** "seq 7 (400 document_parsing_exception: reason), ... and N more", scrubbed before it is shortened. */
  private describe(items: { doc: BulkDoc; f: ItemFailure }[]): string {
    const short = (s: string) => scrubSecrets(s, this.secrets).replace(/\s+/g, ' ').slice(0, REASON_CHARS);
    const named = items.slice(0, NAMED_ITEMS).map(({ doc, f }) => {
      const type = f.type ? ` ${short(f.type)}` : '';
      return `seq ${doc.seq} (${f.status}${type}${f.reason ? `: ${short(f.reason)}` : ''})`;
    });
    const more = items.length > NAMED_ITEMS ? ` and ${items.length - NAMED_ITEMS} more` : '';
    return named.join(', ') + more;
  }

  async close(): Promise<void> {
    await this.transport.close();
  }
}

export function createElasticsearchSink(config: ElasticsearchSinkConfig, ctx: SinkContext): Sink {
  return new ElasticsearchSink(config, ctx);
}
