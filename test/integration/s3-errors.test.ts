// S3 error text never carries credentials (issue 15 item 9): a 403 whose body echoes the
// request's session token (plain, percent-encoded in lowercase hex, JSON-escaped with `\/`),
// Authorization header and credential scope reaches the log, the parked reason in the state
// database and `tailseal status` scrubbed.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { cli, logsWith, makeWorkspace, startDaemon, stopDaemon, waitFor } from '../helpers/daemon.js';
import { addSink, noObjectLock, s3SinkYaml, startFakeS3 } from '../helpers/fake-s3.js';

const cleanups: (() => unknown)[] = [];
after(async () => {
  for (const c of cleanups) await c();
});

const KEYS = {
  id: 'AKIAIOSFODNN7EXAMPLE',
  secret: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  token: 'FwoGZXIvYXdzEXAMPLEsessionTOKEN+x/y=',
};

describe('s3 sink error text', () => {
  it('a 403 echoing the request headers: log, parked reason and tailseal status hold no secret', async () => {
    const echoed: string[] = [];
    const s3 = await startFakeS3((req, res) => {
      if (req.url?.includes('object-lock')) return noObjectLock(res);
      if (req.method === 'HEAD') return void res.writeHead(404).end();
      const auth = String(req.headers.authorization);
      const token = String(req.headers['x-amz-security-token']);
      const credential = /Credential=([^,]+)/.exec(auth)![1]!;
      const signature = /Signature=([0-9a-f]+)/.exec(auth)![1]!;
      // Spellings no field name announces: only the token's value can give them away.
      const lowerHex = encodeURIComponent(token).replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase());
      const slashEscaped = token.replace(/\//g, '\\/');
      echoed.push(token, auth, credential, signature, lowerHex, slashEscaped);
      res.writeHead(403, { 'content-type': 'application/xml' });
      res.end(
        `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code>` +
          `<Message>Access Denied for ${lowerHex} (${slashEscaped}). ` +
          `Request had X-Amz-Security-Token=${token}, Authorization: ${auth}; ` +
          `scope ${credential}; the token again: ${token}; signature ${signature}</Message>` +
          `<AWSAccessKeyId>${KEYS.id}</AWSAccessKeyId>` +
          `<SignatureProvided>${signature}</SignatureProvided></Error>`,
      );
    });
    cleanups.push(() => s3.close());
    const w = makeWorkspace();
    cleanups.push(() => w.cleanup());
    addSink(w, s3SinkYaml(s3.endpoint, KEYS));
    writeFileSync(join(w.opaDir, 'opa.log'), '{"msg":"Decision Log","n":1}\n');
    const d = startDaemon(w);
    try {
      const refused = () => logsWith(d, 'Delivery refused permanently').filter((l) => l.sink === 's3');
      await waitFor(() => refused().length > 0, 'the s3 put to be refused and parked');
      const err = String(refused()[0]!.err);
      assert.match(err, /HTTP 403: AccessDenied: Access Denied for \[redacted\] \(\[redacted\]\)\. /);
      assert.match(err, /Request had X-Amz-Security-Token=\[redacted\]/);
    } finally {
      assert.equal(await stopDaemon(d), 0, d.logs.join('\n'));
    }
    const secrets = [KEYS.id, KEYS.secret, KEYS.token, encodeURIComponent(KEYS.token), ...echoed];
    const status = cli(['status', '--config', w.configFile]);
    assert.equal(status.status, 0, status.stderr);
    assert.match(status.stdout, /PARKED sink s3: .*SINK_PERMANENT: sink s3: S3 PutObject .* HTTP 403: AccessDenied/);
    const places: [string, string][] = [
      ['the log', d.logs.join('\n')],
      ['tailseal status', status.stdout + status.stderr],
      ...readdirSync(w.stateDir, { withFileTypes: true })
        .filter((f) => f.isFile() && f.name.startsWith('tailseal.db'))
        .map((f) => f.name)
        .map((f): [string, string] => [`state database file ${f}`, readFileSync(join(w.stateDir, f), 'latin1')]),
    ];
    for (const [where, text] of places) {
      for (const s of secrets) assert.ok(!text.includes(s), `${where} holds the secret ${s.slice(0, 24)}...`);
      // No trace either: the token's run of letters, whatever surrounds it.
      assert.ok(!text.includes('EXAMPLEsessionTOKEN'), `${where} holds part of the session token`);
    }
  });
});
