// AWS credentials for the s3 sink. Static keys in the sink's config come first; without them the
// AWS SDK's own Node provider chain (`fromNodeProviderChain`) finds them, because credential
// discovery is security-sensitive and the SDK's is the one AWS maintains. Its order:
//  1. AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (/ AWS_SESSION_TOKEN), skipped when AWS_PROFILE is set;
//  2. the shared profile (AWS_PROFILE, else "default") in AWS_SHARED_CREDENTIALS_FILE / AWS_CONFIG_FILE
//     (~/.aws/credentials, ~/.aws/config): keys, role_arn + source_profile, SSO, credential_process;
//  3. web identity: AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN through STS (EKS IRSA);
//  4. container credentials: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI / _FULL_URI with
//     AWS_CONTAINER_AUTHORIZATION_TOKEN(_FILE) (ECS task roles, EKS Pod Identity);
//  5. EC2 instance metadata, IMDSv2 (AWS_EC2_METADATA_DISABLED=true turns it off).
// The SDK caches what it found and refreshes temporary credentials 5 minutes before they expire
// (still-valid ones are kept while a refresh fails). It is loaded with import() on the first
// get(), so a file-only sidecar, or an s3 sink with static keys, never loads it.
import type { Logger } from 'pino';
import { TailsealError, errorMessage } from '../../errors.js';
import type { Credentials } from './sigv4.js';

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

type SdkProvider = () => Promise<{
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
  $source?: Record<string, string>;
}>;

export const SDK_CHAIN_SOURCE = 'the AWS SDK credential chain';

/** The SDK's debug line that starts each step of its chain, and what to call that step in errors. */
const STEP = /(?:defaultProvider|remoteProvider)::(\w+)/;
const STEP_NAMES: Record<string, (env: NodeJS.ProcessEnv) => string> = {
  fromEnv: () => 'AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY',
  fromIni: (env) => `shared profile "${env.AWS_PROFILE || 'default'}" (credentials/config files, SSO)`,
  fromProcess: () => 'credential_process',
  fromTokenFile: () => 'web identity (AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN)',
  // Then one of these two; "remoteProvider" alone means instance metadata is disabled.
  fromHttp: () => 'container credentials (AWS_CONTAINER_CREDENTIALS_*_URI)',
  fromInstanceMetadata: () => 'EC2 instance metadata (IMDSv2)',
  remoteProvider: () => 'EC2 instance metadata (IMDSv2)',
};
const CHAIN_ORDER = ['fromEnv', 'fromIni', 'fromProcess', 'fromTokenFile', 'fromHttp', 'fromInstanceMetadata'];
/** The SDK's debug line for why a step gave way to the next one (not its settings lookups on the way). */
const REASON = /^@smithy\/property-provider -> (?!.*checking config file next)(.*)/;
/** SDK messages can quote a credential_process's stderr: keep the first line only, and short. */
const MAX_SDK_MESSAGE = 200;
const short = (text: string) =>
  text
    .split('\n')[0]!
    .slice(0, MAX_SDK_MESSAGE)
    .replace(/[.:\s]+$/, '');

interface Step {
  step: string;
  reason?: string;
}

/**
 * The SDK's logger. Its debug lines only record which steps ran and why each gave way (for our
 * error), because they are noisy; its warnings (e.g. AWS_PROFILE beside AWS_ACCESS_KEY_ID) are logged.
 */
function sdkLogger(steps: Step[], log: Logger | undefined) {
  let current: Step | undefined;
  const say =
    (level: 'warn' | 'error') =>
    (...a: unknown[]) =>
      log?.[level](`AWS SDK: ${a.map(String).join(' ')}`);
  return {
    debug: (...a: unknown[]) => {
      const line = a.map(String).join(' ');
      const step = STEP.exec(line)?.[1];
      if (step) {
        if (step === 'fromEnv') steps.length = 0; // the chain starts over
        if (step === 'fromHttp' || step === 'fromInstanceMetadata') steps.pop(); // remoteProvider, made precise
        current = step in STEP_NAMES ? { step } : undefined; // fromSSO: SSO profiles are fromIni's
        if (current) steps.push(current);
      }
      const reason = REASON.exec(line)?.[1];
      if (reason && current) current.reason = short(reason);
    },
    info: () => undefined,
    warn: say('warn'),
    error: say('error'),
  };
}

function chainError(err: unknown, steps: readonly Step[]): TailsealError {
  const name = (s: Step) => STEP_NAMES[s.step]!(process.env) + (s.reason ? `: ${s.reason}` : '');
  // Without the SDK's debug lines (a future SDK may word them differently) the whole order is named.
  const order = steps.length > 0 ? steps : CHAIN_ORDER.map((step) => ({ step }));
  // The name carries the STS/SSO error code (InvalidIdentityTokenException, ExpiredTokenException ...).
  const code = err instanceof Error && !['Error', 'CredentialsProviderError'].includes(err.name) ? `${err.name}: ` : '';
  const text =
    `cannot get AWS credentials from ${SDK_CHAIN_SOURCE}: ${short(code + errorMessage(err))}. ` +
    `Tried in order: ${order.map(name).join('; ')}. ` +
    'Configure one, or set credentials in the sink config (docs/operations.md, s3 sink)';
  return new TailsealError('SINK_RETRYABLE', text, { cause: err });
}

/** The SDK's chain behind our interface, loaded on first use. */
function sdkChain(region: string, log: Logger | undefined): CredentialProvider {
  const steps: Step[] = [];
  let provider: Promise<SdkProvider> | undefined;
  let lastKeyId: string | undefined;
  const load = async (): Promise<SdkProvider> => {
    const { fromNodeProviderChain } = await import('@aws-sdk/credential-providers');
    return fromNodeProviderChain({
      logger: sdkLogger(steps, log),
      // STS (web identity, role_arn profiles) in the sink's region, as before; AWS_ENDPOINT_URL_STS still wins.
      clientConfig: { region },
      // Named sessions make tailseal's calls easy to find in CloudTrail.
      roleSessionName: process.env.AWS_ROLE_SESSION_NAME || 'tailseal',
      // IMDSv2 only, as before: no silent fall back to token-less IMDSv1 when the token request fails.
      ec2MetadataV1Disabled: true,
    });
  };
  return {
    source: SDK_CHAIN_SOURCE,
    async get(): Promise<Credentials> {
      provider ??= load().catch((err: unknown) => {
        provider = undefined;
        throw err;
      });
      let c: Awaited<ReturnType<SdkProvider>>;
      try {
        c = await (await provider)();
      } catch (err) {
        throw chainError(err, steps);
      }
      if (c.accessKeyId !== lastKeyId) {
        lastKeyId = c.accessKeyId;
        // $source names the SDK step that answered (CREDENTIALS_IMDS, CREDENTIALS_PROFILE ...), never a secret.
        const from = Object.keys(c.$source ?? {}).join(',') || 'unknown';
        log?.info({ credentials: from, expires: c.expiration?.toISOString() }, 'AWS credentials obtained.');
      }
      const { accessKeyId, secretAccessKey, sessionToken } = c;
      return { accessKeyId, secretAccessKey, sessionToken, expiresAt: c.expiration?.getTime() };
    },
  };
}

/** The provider for this sink: its static keys, else the AWS SDK's chain. */
export function credentialChain(keys: StaticKeys, region: string, log?: Logger): CredentialProvider {
  if (keys.access_key_id || keys.secret_access_key) {
    if (!keys.access_key_id || !keys.secret_access_key)
      throw new TailsealError('CONFIG_INVALID', 'credentials need both access_key_id and secret_access_key');
    const c: Credentials = {
      accessKeyId: keys.access_key_id,
      secretAccessKey: keys.secret_access_key,
      sessionToken: keys.session_token || undefined,
    };
    return { source: 'the sink config', get: async () => c };
  }
  return sdkChain(region, log);
}
