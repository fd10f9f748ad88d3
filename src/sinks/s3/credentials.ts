// AWS credentials, found the way AWS SDKs find them, and refreshed before they expire:
//  1. static keys in the sink's config (usually `${ENV}` references);
//  2. AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (/ AWS_SESSION_TOKEN);
//  3. web identity: AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN via STS AssumeRoleWithWebIdentity
//     (EKS IRSA); the STS endpoint follows AWS_ENDPOINT_URL_STS, else sts.<region>.amazonaws.com;
//  4. EC2 instance metadata, IMDSv2 (token first); the endpoint follows
//     AWS_EC2_METADATA_SERVICE_ENDPOINT; AWS_EC2_METADATA_DISABLED=true turns it off.
import { readFile } from 'node:fs/promises';
import { XMLParser } from 'fast-xml-parser';
import { request } from 'undici';
import { TailsealError, errorMessage } from '../../errors.js';
import type { Credentials } from './sigv4.js';

/** Refresh temporary credentials this long before they expire. */
export const REFRESH_BEFORE_MS = 5 * 60_000;
const HTTP_TIMEOUT_MS = 5000;

export interface CredentialProvider {
  /** Where the credentials come from, for logs (never the secret). */
  readonly source: string;
  get(): Promise<Credentials>;
}

export interface StaticKeys {
  access_key_id?: string | undefined;
  secret_access_key?: string | undefined;
  session_token?: string | undefined;
}

/** Caches a fetcher's credentials until REFRESH_BEFORE_MS before they expire. */
class Refreshing implements CredentialProvider {
  private current: Credentials | null = null;
  private pending: Promise<Credentials> | null = null;
  constructor(readonly source: string, private readonly fetch: () => Promise<Credentials>, private readonly now: () => number) {}

  async get(): Promise<Credentials> {
    const c = this.current;
    if (c && (c.expiresAt === undefined || c.expiresAt - this.now() > REFRESH_BEFORE_MS)) return c;
    this.pending ??= this.fetch().finally(() => (this.pending = null));
    try {
      this.current = await this.pending;
    } catch (err) {
      // Still-valid old credentials beat none while the refresh endpoint has a bad moment.
      if (c && c.expiresAt !== undefined && c.expiresAt > this.now()) return c;
      throw err;
    }
    return this.current;
  }
}

function credError(source: string, err: unknown): TailsealError {
  return new TailsealError('SINK_RETRYABLE', `cannot get AWS credentials from ${source}: ${errorMessage(err)}`, { cause: err });
}

async function httpText(url: string, init: { method?: 'GET' | 'PUT' | 'POST'; headers?: Record<string, string> }): Promise<{ status: number; text: string }> {
  const res = await request(url, { method: init.method ?? 'GET', headers: init.headers ?? {}, headersTimeout: HTTP_TIMEOUT_MS, bodyTimeout: HTTP_TIMEOUT_MS });
  return { status: res.statusCode, text: await res.body.text() };
}

/** STS AssumeRoleWithWebIdentity (an unsigned call: the web identity token is the proof). */
export async function assumeRoleWithWebIdentity(o: { endpoint: string; roleArn: string; tokenFile: string; sessionName: string }): Promise<Credentials> {
  const token = (await readFile(o.tokenFile, 'utf8')).trim();
  const q = new URLSearchParams({ Action: 'AssumeRoleWithWebIdentity', Version: '2011-06-15', RoleArn: o.roleArn, RoleSessionName: o.sessionName, WebIdentityToken: token });
  const { status, text } = await httpText(`${o.endpoint.replace(/\/$/, '')}/?${q}`, {});
  if (status !== 200) throw new Error(`STS answered HTTP ${status}: ${text.slice(0, 200)}`);
  const doc = new XMLParser().parse(text) as { AssumeRoleWithWebIdentityResponse?: { AssumeRoleWithWebIdentityResult?: { Credentials?: Record<string, string> } } };
  const c = doc.AssumeRoleWithWebIdentityResponse?.AssumeRoleWithWebIdentityResult?.Credentials;
  if (!c?.AccessKeyId || !c.SecretAccessKey) throw new Error('STS answer has no Credentials');
  return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken, expiresAt: c.Expiration ? Date.parse(c.Expiration) : undefined };
}

/** EC2 instance metadata, IMDSv2: a session token first, then the role's credentials. */
export async function imdsCredentials(endpoint: string): Promise<Credentials> {
  const base = endpoint.replace(/\/$/, '');
  const tok = await httpText(`${base}/latest/api/token`, { method: 'PUT', headers: { 'x-aws-ec2-metadata-token-ttl-seconds': '21600' } });
  if (tok.status !== 200) throw new Error(`IMDSv2 token request answered HTTP ${tok.status}`);
  const headers = { 'x-aws-ec2-metadata-token': tok.text };
  const roles = await httpText(`${base}/latest/meta-data/iam/security-credentials/`, { headers });
  const role = roles.text.split('\n')[0]?.trim();
  if (roles.status !== 200 || !role) throw new Error(`no IAM role on this instance (HTTP ${roles.status})`);
  const res = await httpText(`${base}/latest/meta-data/iam/security-credentials/${encodeURIComponent(role)}`, { headers });
  if (res.status !== 200) throw new Error(`role credentials request answered HTTP ${res.status}`);
  const c = JSON.parse(res.text) as { AccessKeyId?: string; SecretAccessKey?: string; Token?: string; Expiration?: string };
  if (!c.AccessKeyId || !c.SecretAccessKey) throw new Error('instance metadata answer has no AccessKeyId');
  return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.Token, expiresAt: c.Expiration ? Date.parse(c.Expiration) : undefined };
}

/** The provider the chain picks for this configuration and environment. */
export function credentialChain(keys: StaticKeys, region: string, env: NodeJS.ProcessEnv = process.env, now: () => number = Date.now): CredentialProvider {
  if (keys.access_key_id || keys.secret_access_key) {
    if (!keys.access_key_id || !keys.secret_access_key) throw new TailsealError('CONFIG_INVALID', 'credentials need both access_key_id and secret_access_key');
    const c: Credentials = { accessKeyId: keys.access_key_id, secretAccessKey: keys.secret_access_key, sessionToken: keys.session_token || undefined };
    return { source: 'the sink config', get: async () => c };
  }
  if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) {
    const c: Credentials = { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, sessionToken: env.AWS_SESSION_TOKEN || undefined };
    return { source: 'AWS_ACCESS_KEY_ID', get: async () => c };
  }
  if (env.AWS_WEB_IDENTITY_TOKEN_FILE && env.AWS_ROLE_ARN) {
    const endpoint = env.AWS_ENDPOINT_URL_STS || `https://sts.${region}.amazonaws.com`;
    const o = { endpoint, roleArn: env.AWS_ROLE_ARN, tokenFile: env.AWS_WEB_IDENTITY_TOKEN_FILE, sessionName: env.AWS_ROLE_SESSION_NAME || 'tailseal' };
    return new Refreshing('web identity (AWS_WEB_IDENTITY_TOKEN_FILE)', () => assumeRoleWithWebIdentity(o).catch((e) => Promise.reject(credError('web identity', e))), now);
  }
  if (env.AWS_EC2_METADATA_DISABLED !== 'true') {
    const endpoint = env.AWS_EC2_METADATA_SERVICE_ENDPOINT || 'http://169.254.169.254';
    return new Refreshing('EC2 instance metadata (IMDSv2)', () => imdsCredentials(endpoint).catch((e) => Promise.reject(credError('instance metadata', e))), now);
  }
  throw new TailsealError('CONFIG_INVALID', 'no AWS credentials: set credentials.access_key_id/secret_access_key (e.g. from ${ENV}), AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN');
}
