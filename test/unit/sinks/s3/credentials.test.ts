// The s3 sink's credentials: static keys, else the AWS SDK's chain, against small local servers that
// speak STS, IMDSv2 and the container credential API, and temp profile files. Nothing reaches AWS:
// every case starts from an environment with no AWS_* variables, HOME and the profile files in a
// temp directory and instance metadata disabled unless a case points it at its local server.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { Logger } from 'pino';
import { TailsealError } from '../../../../src/errors.js';
import { SDK_CHAIN_SOURCE, credentialChain } from '../../../../src/sinks/s3/credentials.js';

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;

async function listen(handler: Handler): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => handler(req, body, res));
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  return { server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}` };
}

/** A logger that keeps what it is told, for the few cases that check a log line. */
function memoryLog(): { log: Logger; lines: { level: string; obj: unknown; msg: unknown }[] } {
  const lines: { level: string; obj: unknown; msg: unknown }[] = [];
  const at = (level: string) => (obj: unknown, msg?: unknown) => void lines.push({ level, obj, msg: msg ?? obj });
  const log = { info: at('info'), warn: at('warn'), error: at('error'), debug: at('debug') };
  return { log: log as unknown as Logger, lines };
}

const iso = (ms: number) => new Date(ms).toISOString();
const HOUR = 3600_000;

async function waitFor(what: string, cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  for (const end = Date.now() + ms; !(await cond()); await new Promise((r) => setTimeout(r, 10))) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
  }
}

describe('s3 credentials: static keys, else the AWS SDK chain', { timeout: 60_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'tailseal-creds-'));
  let files = 0;
  /** A fresh file each time: the SDK caches profile files by path. */
  const file = (text: string) => {
    const p = join(dir, `f${++files}`);
    writeFileSync(p, text);
    return p;
  };
  /** Only AWS_* variables we set: nothing of the machine's own AWS setup, no network beyond 127.0.0.1. */
  const useEnv = (vars: Record<string, string | undefined>) => {
    for (const k of Object.keys(process.env)) if (k.startsWith('AWS_')) delete process.env[k];
    Object.assign(process.env, {
      HOME: dir,
      AWS_SHARED_CREDENTIALS_FILE: join(dir, 'no-credentials'),
      AWS_CONFIG_FILE: join(dir, 'no-config'),
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    });
    for (const [k, v] of Object.entries(vars))
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
  };
  const saved = { ...process.env };

  let sts: { server: Server; url: string };
  const stsCalls: URLSearchParams[] = [];
  /** Expiry of the STS answer number n (1-based). */
  let stsExpiry: (n: number) => number = () => Date.now() + HOUR;
  let stsRefuse = false;
  let imds: { server: Server; url: string };
  const imdsCalls: { method: string; url: string; token?: string }[] = [];
  let imdsMode: 'ok' | 'no-v2' = 'ok';
  let container: { server: Server; url: string };
  const containerAuth: (string | undefined)[] = [];

  before(async () => {
    sts = await listen((_req, body, res) => {
      const q = new URLSearchParams(body);
      stsCalls.push(q);
      if (q.get('WebIdentityToken') !== 'eyJ.web.identity.token' || stsRefuse) {
        const err = '<Type>Sender</Type><Code>InvalidIdentityToken</Code><Message>Incorrect token audience</Message>';
        const xml = `<ErrorResponse><Error>${err}</Error></ErrorResponse>`;
        return void res.writeHead(400, { 'content-type': 'text/xml' }).end(xml);
      }
      const n = stsCalls.length;
      const keys = `<AccessKeyId>ASIA${n}</AccessKeyId><SecretAccessKey>secret${n}</SecretAccessKey>`;
      const c = `${keys}<SessionToken>session${n}</SessionToken><Expiration>${iso(stsExpiry(n))}</Expiration>`;
      res
        .writeHead(200, { 'content-type': 'text/xml' })
        .end(
          '<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">' +
            `<AssumeRoleWithWebIdentityResult><Credentials>${c}</Credentials></AssumeRoleWithWebIdentityResult>` +
            '</AssumeRoleWithWebIdentityResponse>',
        );
    });
    imds = await listen((req, _body, res) => {
      const token = req.headers['x-aws-ec2-metadata-token'] as string | undefined;
      imdsCalls.push({ method: req.method!, url: req.url!, ...(token ? { token } : {}) });
      if (req.method === 'PUT' && req.url === '/latest/api/token') {
        return void res.writeHead(imdsMode === 'no-v2' ? 403 : 200).end('imds-session-token');
      }
      if (token !== 'imds-session-token') return void res.writeHead(401).end();
      const path = '/latest/meta-data/iam/security-credentials/';
      if (req.url === path) return void res.writeHead(200).end('tailseal-role');
      if (req.url !== `${path}tailseal-role`) return void res.writeHead(404).end();
      const keys = { AccessKeyId: `ASIAIMDS${imdsCalls.length}`, SecretAccessKey: 'imds-secret', Token: 'imds-token' };
      res.writeHead(200).end(JSON.stringify({ Code: 'Success', ...keys, Expiration: iso(Date.now() + 6 * HOUR) }));
    });
    container = await listen((req, _body, res) => {
      containerAuth.push(req.headers.authorization);
      if (req.headers.authorization !== 'pod-identity-token' || req.url !== '/v1/credentials') {
        return void res.writeHead(401).end('{}');
      }
      const keys = { AccessKeyId: 'ASIAPOD', SecretAccessKey: 'pod-secret', Token: 'pod-token' };
      const json = JSON.stringify({ ...keys, Expiration: iso(Date.now() + HOUR) });
      res.writeHead(200, { 'content-type': 'application/json' }).end(json);
    });
  });
  beforeEach(() => useEnv({}));
  after(() => {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
    for (const s of [sts, imds, container]) s.server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('static keys from the config come first, and the SDK is loaded only when the chain is used', () => {
    // A child process, so this file's other cases cannot have loaded the SDK already.
    // The daemon module is what a file-only sidecar loads (sinks are imported by type, on demand).
    const mod = (p: string) => JSON.stringify(new URL(p, import.meta.url).href);
    const script = `
      import { createRequire } from 'node:module';
      const loaded = () => Object.keys(createRequire(import.meta.url).cache).some((p) => p.includes('@aws-sdk'));
      await import(${mod('../../../../src/runtime/daemon.js')});
      const { credentialChain } = await import(${mod('../../../../src/sinks/s3/credentials.js')});
      const fixed = credentialChain({ access_key_id: 'AKIA1', secret_access_key: 's1' }, 'us-east-1');
      const out = { source: fixed.source, keyId: (await fixed.get()).accessKeyId, afterStatic: loaded() };
      out.fromChain = (await credentialChain({}, 'us-east-1').get()).accessKeyId;
      out.afterChain = loaded();
      console.log(JSON.stringify(out));`;
    const env = { ...process.env, AWS_ACCESS_KEY_ID: 'AKIA2', AWS_SECRET_ACCESS_KEY: 's2' };
    const args = ['--input-type=module', '-e', script];
    const out = execFileSync(process.execPath, args, { env, encoding: 'utf8', timeout: 30_000 });
    const want = { source: 'the sink config', keyId: 'AKIA1', afterStatic: false };
    assert.deepEqual(JSON.parse(out), { ...want, fromChain: 'AKIA2', afterChain: true });
  });

  it('then AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN', async () => {
    useEnv({ AWS_ACCESS_KEY_ID: 'AKIA2', AWS_SECRET_ACCESS_KEY: 's2', AWS_SESSION_TOKEN: 't2' });
    const { log, lines } = memoryLog();
    const p = credentialChain({}, 'us-east-1', log);
    assert.equal(p.source, SDK_CHAIN_SOURCE);
    const want = { accessKeyId: 'AKIA2', secretAccessKey: 's2', sessionToken: 't2', expiresAt: undefined };
    assert.deepEqual(await p.get(), want);
    const got = lines.find((l) => l.msg === 'AWS credentials obtained.');
    assert.deepEqual(got?.obj, { credentials: 'CREDENTIALS_ENV_VARS', expires: undefined });
    assert.ok(!JSON.stringify(lines).includes('s2'), 'no secret in the log');
  });

  it('then the shared profile named by AWS_PROFILE', async () => {
    const creds = file(
      '[default]\naws_access_key_id = AKIADEF\naws_secret_access_key = d\n' +
        '[ci]\naws_access_key_id = AKIACI\naws_secret_access_key = c\n',
    );
    useEnv({ AWS_PROFILE: 'ci', AWS_SHARED_CREDENTIALS_FILE: creds });
    assert.equal((await credentialChain({}, 'us-east-1').get()).accessKeyId, 'AKIACI');
  });

  it("a profile's credential_process", async () => {
    const keys = { AccessKeyId: 'AKIAPROC', SecretAccessKey: 'p', SessionToken: 'pt' };
    const answer = { Version: 1, ...keys, Expiration: iso(Date.now() + HOUR) };
    const script = file(`console.log(${JSON.stringify(JSON.stringify(answer))})`);
    const config = file(`[profile proc]\ncredential_process = "${process.execPath}" "${script}"\n`);
    useEnv({ AWS_PROFILE: 'proc', AWS_CONFIG_FILE: config });
    const c = await credentialChain({}, 'us-east-1').get();
    assert.deepEqual([c.accessKeyId, c.sessionToken, typeof c.expiresAt], ['AKIAPROC', 'pt', 'number']);
  });

  it("a profile's SSO session: the cached SSO token, then the SSO portal (AWS_ENDPOINT_URL_SSO)", async () => {
    const cache = join(dir, '.aws', 'sso', 'cache');
    mkdirSync(cache, { recursive: true });
    const token = { accessToken: 'sso-access-token', expiresAt: iso(Date.now() + 8 * HOUR), region: 'eu-west-1' };
    writeFileSync(join(cache, `${createHash('sha1').update('corp').digest('hex')}.json`), JSON.stringify(token));
    const config = file(
      '[profile dev]\nsso_session = corp\nsso_account_id = 123456789012\nsso_role_name = Auditor\n' +
        '[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = eu-west-1\n',
    );
    const portal = await listen((req, _body, res) => {
      const ok = req.headers['x-amz-sso_bearer_token'] === 'sso-access-token' && req.url!.includes('role_name=Auditor');
      const keys = { accessKeyId: 'ASIASSO', secretAccessKey: 'sso-secret', sessionToken: 'sso-token' };
      const body = ok ? { roleCredentials: { ...keys, expiration: Date.now() + HOUR } } : {};
      res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
    try {
      useEnv({ AWS_PROFILE: 'dev', AWS_CONFIG_FILE: config, AWS_ENDPOINT_URL_SSO: portal.url });
      const c = await credentialChain({}, 'us-east-1').get();
      assert.deepEqual([c.accessKeyId, c.secretAccessKey, c.sessionToken], ['ASIASSO', 'sso-secret', 'sso-token']);
    } finally {
      portal.server.close();
    }
  });

  it('web identity via STS (the endpoint from AWS_ENDPOINT_URL_STS), refreshed before expiry', async () => {
    const token = file('eyJ.web.identity.token');
    const first = stsCalls.length + 1;
    // The first answer expires within the SDK's 5-minute refresh window, later ones in an hour.
    stsExpiry = (n) => Date.now() + (n === first ? 4 * 60_000 : HOUR);
    const role = 'arn:aws:iam::123456789012:role/tailseal';
    useEnv({ AWS_WEB_IDENTITY_TOKEN_FILE: token, AWS_ROLE_ARN: role, AWS_ENDPOINT_URL_STS: sts.url });
    const p = credentialChain({}, 'eu-west-1');
    const a = await p.get();
    const got = [a.accessKeyId, a.secretAccessKey, a.sessionToken];
    assert.deepEqual(got, [`ASIA${first}`, `secret${first}`, `session${first}`]);
    const q = stsCalls.at(-1)!;
    const sent = [q.get('Action'), q.get('RoleArn'), q.get('RoleSessionName')];
    assert.deepEqual(sent, ['AssumeRoleWithWebIdentity', role, 'tailseal']);
    // Still valid: served at once while a refresh runs; then the new credentials, cached.
    assert.equal((await p.get()).accessKeyId, a.accessKeyId);
    await waitFor('the refresh', () => stsCalls.length === first + 1);
    let b = a;
    await waitFor('the refreshed credentials', async () => (b = await p.get()).accessKeyId !== a.accessKeyId);
    assert.equal(b.accessKeyId, `ASIA${first + 1}`);
    assert.equal((await p.get()).accessKeyId, b.accessKeyId);
    assert.equal(stsCalls.length, first + 1, 'cached until its own refresh window');
  });

  it('a refused web identity token: SINK_RETRYABLE naming the sources tried, without the token', async () => {
    const token = file('not.the.token');
    useEnv({ AWS_WEB_IDENTITY_TOKEN_FILE: token, AWS_ROLE_ARN: 'arn:x', AWS_ENDPOINT_URL_STS: sts.url });
    await assert.rejects(credentialChain({}, 'us-east-1').get(), (e: TailsealError) => {
      assert.equal(e.code, 'SINK_RETRYABLE');
      assert.match(e.message, /chain: InvalidIdentityTokenException: Incorrect token audience\. Tried in order: /);
      // The last step named is the one that failed.
      assert.match(e.message, /; web identity \(AWS_WEB_IDENTITY_TOKEN_FILE \+ AWS_ROLE_ARN\)\. Configure one/);
      assert.ok(!e.message.includes('not.the.token'));
      return true;
    });
  });

  it('container credentials (EKS Pod Identity, ECS): full URI with the authorization token file', async () => {
    const tokenFile = file('pod-identity-token');
    useEnv({
      AWS_CONTAINER_CREDENTIALS_FULL_URI: `${container.url}/v1/credentials`,
      AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: tokenFile,
    });
    const { log, lines } = memoryLog();
    const c = await credentialChain({}, 'us-east-1', log).get();
    assert.deepEqual([c.accessKeyId, c.secretAccessKey, c.sessionToken], ['ASIAPOD', 'pod-secret', 'pod-token']);
    assert.equal(containerAuth.at(-1), 'pod-identity-token');
    const got = lines.find((l) => l.msg === 'AWS credentials obtained.')?.obj as { credentials: string } | undefined;
    assert.match(String(got?.credentials), /CREDENTIALS_HTTP/);
  });

  it('a container credential URI that is plain http to a non-loopback host is refused', async () => {
    useEnv({ AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://192.0.2.1/v1/credentials' });
    const why = /container credentials \(AWS_CONTAINER_CREDENTIALS_\*_URI\): URL not accepted/;
    const refused = (e: TailsealError) => e.code === 'SINK_RETRYABLE' && why.test(e.message);
    await assert.rejects(credentialChain({}, 'us-east-1').get(), refused);
  });

  it('EC2 instance metadata with an IMDSv2 session token', async () => {
    imdsCalls.length = 0;
    useEnv({ AWS_EC2_METADATA_DISABLED: undefined, AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url });
    const c = await credentialChain({}, 'us-east-1').get();
    assert.deepEqual([c.accessKeyId, c.secretAccessKey, c.sessionToken], ['ASIAIMDS3', 'imds-secret', 'imds-token']);
    assert.deepEqual(imdsCalls[0], { method: 'PUT', url: '/latest/api/token' }, 'token first (IMDSv2)');
    assert.ok(
      imdsCalls.slice(1).every((c) => c.token === 'imds-session-token'),
      'every metadata read carries the token',
    );
  });

  it('no fall back to IMDSv1 when the token request is refused', async () => {
    imdsCalls.length = 0;
    imdsMode = 'no-v2';
    useEnv({ AWS_EC2_METADATA_DISABLED: undefined, AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url });
    try {
      const why = /; EC2 instance metadata \(IMDSv2\)[:.]/;
      const refused = (e: TailsealError) => e.code === 'SINK_RETRYABLE' && why.test(e.message);
      await assert.rejects(credentialChain({}, 'us-east-1').get(), refused);
      assert.deepEqual(
        imdsCalls.map((c) => c.method),
        ['PUT'],
        'no token-less metadata read',
      );
    } finally {
      imdsMode = 'ok';
    }
  });

  it('keeps still-valid credentials while refreshes fail', async () => {
    const first = stsCalls.length + 1;
    stsExpiry = () => Date.now() + 4 * 60_000; // inside the refresh window: each get() starts a refresh
    const token = file('eyJ.web.identity.token');
    useEnv({ AWS_WEB_IDENTITY_TOKEN_FILE: token, AWS_ROLE_ARN: 'arn:x', AWS_ENDPOINT_URL_STS: sts.url });
    const p = credentialChain({}, 'us-east-1');
    const a = await p.get();
    assert.equal(a.accessKeyId, `ASIA${first}`);
    stsRefuse = true;
    try {
      // A second refresh starts only after the first one failed: the old credentials were served throughout.
      await waitFor('two failed refreshes', async () => {
        assert.deepEqual(await p.get(), a);
        return stsCalls.length >= first + 2;
      });
    } finally {
      stsRefuse = false;
      stsExpiry = () => Date.now() + HOUR;
    }
  });

  it('nothing found: SINK_RETRYABLE naming the sources tried, without secrets', async () => {
    useEnv({ AWS_SECRET_ACCESS_KEY: 'half-configured-secret' });
    await assert.rejects(credentialChain({}, 'us-east-1').get(), (e: TailsealError) => {
      assert.equal(e.code, 'SINK_RETRYABLE');
      const tried = [
        'AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY: Unable to find environment variable credentials',
        'shared profile "default" (credentials/config files, SSO): Could not resolve credentials using profile',
        'credential_process: Profile default could not be found in shared credentials file',
        'web identity (AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN): Web identity configuration not specified',
        'EC2 instance metadata (IMDSv2): EC2 Instance Metadata Service access disabled',
      ];
      assert.match(e.message, /credential chain: Could not load credentials from any providers\. Tried in order: /);
      const at = tried.map((t) => e.message.indexOf(t));
      assert.ok(
        at.every((i, n) => i > (at[n - 1] ?? 0)),
        `each source, in order: ${e.message}`,
      );
      assert.match(e.message, /\. Configure one, or set credentials in the sink config/);
      assert.ok(!e.message.includes('half-configured-secret'));
      return true;
    });
  });
});
