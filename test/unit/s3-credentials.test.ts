// The AWS credential chain against small local servers that speak STS and IMDSv2.
import assert from 'node:assert/strict';
import { type Server, createServer } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TailsealError } from '../../src/errors.js';
import { REFRESH_BEFORE_MS, credentialChain } from '../../src/sinks/s3/credentials.js';

function listen(handler: Parameters<typeof createServer>[1]): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  return new Promise((res) => server.listen(0, '127.0.0.1', () => res({ server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}` })));
}

describe('AWS credential chain', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tailseal-creds-'));
  const tokenFile = join(dir, 'token');
  let sts: { server: Server; url: string };
  let imds: { server: Server; url: string };
  const stsCalls: URL[] = [];
  const imdsCalls: { method: string; url: string; token?: string }[] = [];
  let stsExpiry = Date.now() + 3600_000;
  let imdsFail = false;

  before(async () => {
    writeFileSync(tokenFile, 'eyJ.web.identity.token\n');
    sts = await listen((req, res) => {
      const u = new URL(req.url!, 'http://x');
      stsCalls.push(u);
      if (u.searchParams.get('WebIdentityToken') !== 'eyJ.web.identity.token') {
        res.writeHead(400).end('<ErrorResponse><Error><Code>InvalidIdentityToken</Code></Error></ErrorResponse>');
        return;
      }
      const n = stsCalls.length;
      res.writeHead(200, { 'content-type': 'text/xml' }).end(
        `<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials><AccessKeyId>ASIA${n}</AccessKeyId><SecretAccessKey>secret${n}</SecretAccessKey><SessionToken>session${n}</SessionToken><Expiration>${new Date(stsExpiry).toISOString()}</Expiration></Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>`,
      );
    });
    imds = await listen((req, res) => {
      const token = req.headers['x-aws-ec2-metadata-token'] as string | undefined;
      imdsCalls.push({ method: req.method!, url: req.url!, ...(token ? { token } : {}) });
      if (req.method === 'PUT' && req.url === '/latest/api/token') return void res.writeHead(200).end('imds-session-token');
      if (token !== 'imds-session-token' || imdsFail) return void res.writeHead(401).end();
      if (req.url === '/latest/meta-data/iam/security-credentials/') return void res.writeHead(200).end('tailseal-role');
      if (req.url === '/latest/meta-data/iam/security-credentials/tailseal-role') {
        return void res.writeHead(200).end(JSON.stringify({ Code: 'Success', AccessKeyId: 'ASIAIMDS', SecretAccessKey: 'imds-secret', Token: 'imds-token', Expiration: new Date(Date.now() + 6 * 3600_000).toISOString() }));
      }
      res.writeHead(404).end();
    });
  });
  after(() => {
    sts.server.close();
    imds.server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('static keys from the config come first', async () => {
    const p = credentialChain({ access_key_id: 'AKIA1', secret_access_key: 's1' }, 'us-east-1', { AWS_ACCESS_KEY_ID: 'AKIA2', AWS_SECRET_ACCESS_KEY: 's2' });
    assert.deepEqual(await p.get(), { accessKeyId: 'AKIA1', secretAccessKey: 's1', sessionToken: undefined });
  });

  it('then the AWS_* environment variables', async () => {
    const p = credentialChain({}, 'us-east-1', { AWS_ACCESS_KEY_ID: 'AKIA2', AWS_SECRET_ACCESS_KEY: 's2', AWS_SESSION_TOKEN: 't2' });
    assert.equal(p.source, 'AWS_ACCESS_KEY_ID');
    assert.deepEqual(await p.get(), { accessKeyId: 'AKIA2', secretAccessKey: 's2', sessionToken: 't2' });
  });

  it('then web identity via STS, cached until shortly before expiry, then refreshed', async () => {
    let now = Date.now();
    stsExpiry = now + 3600_000;
    const env = { AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile, AWS_ROLE_ARN: 'arn:aws:iam::123456789012:role/tailseal', AWS_ENDPOINT_URL_STS: sts.url };
    const p = credentialChain({}, 'us-east-1', env, () => now);
    const before = stsCalls.length;
    const a = await p.get();
    assert.equal(a.sessionToken, `session${before + 1}`);
    assert.equal(stsCalls.at(-1)!.searchParams.get('Action'), 'AssumeRoleWithWebIdentity');
    assert.equal(stsCalls.at(-1)!.searchParams.get('RoleArn'), 'arn:aws:iam::123456789012:role/tailseal');
    assert.deepEqual(await p.get(), a, 'cached');
    assert.equal(stsCalls.length, before + 1);
    now = stsExpiry - REFRESH_BEFORE_MS + 1; // inside the refresh window
    stsExpiry = now + 3600_000;
    const b = await p.get();
    assert.equal(stsCalls.length, before + 2, 'refreshed before expiry');
    assert.notEqual(b.accessKeyId, a.accessKeyId);
  });

  it('a bad web identity token is a clear error', async () => {
    const bad = join(dir, 'bad');
    writeFileSync(bad, 'nope');
    const p = credentialChain({}, 'us-east-1', { AWS_WEB_IDENTITY_TOKEN_FILE: bad, AWS_ROLE_ARN: 'arn:x', AWS_ENDPOINT_URL_STS: sts.url });
    await assert.rejects(p.get(), (e: TailsealError) => e.code === 'SINK_RETRYABLE' && /web identity: STS answered HTTP 400/.test(e.message));
  });

  it('then EC2 instance metadata with an IMDSv2 session token', async () => {
    imdsCalls.length = 0;
    const p = credentialChain({}, 'us-east-1', { AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url });
    assert.deepEqual(await p.get(), { accessKeyId: 'ASIAIMDS', secretAccessKey: 'imds-secret', sessionToken: 'imds-token', expiresAt: (await p.get()).expiresAt });
    assert.equal(imdsCalls[0]!.method, 'PUT', 'token first (IMDSv2)');
    assert.ok(imdsCalls.slice(1).every((c) => c.token === 'imds-session-token'), 'every metadata read carries the token');
  });

  it('keeps still-valid credentials when a refresh fails', async () => {
    let now = Date.now();
    imdsFail = false;
    const p = credentialChain({}, 'us-east-1', { AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url }, () => now);
    const a = await p.get();
    now = a.expiresAt! - REFRESH_BEFORE_MS + 1;
    imdsFail = true;
    assert.deepEqual(await p.get(), a);
    imdsFail = false;
  });

  it('nothing configured and metadata disabled: CONFIG_INVALID naming the options', () => {
    assert.throws(() => credentialChain({}, 'us-east-1', { AWS_EC2_METADATA_DISABLED: 'true' }), (e: TailsealError) => e.code === 'CONFIG_INVALID' && /AWS_WEB_IDENTITY_TOKEN_FILE/.test(e.message));
  });
});
