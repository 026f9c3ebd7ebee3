/**
 * AWS Signature V4 for the deployed API (API Gateway with IAM authorization). Credentials come from the
 * standard AWS chain (environment, shared config/SSO, container or instance role) unless given.
 */
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';

export interface SigV4Options {
  region: string;
  credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** `execute-api` for API Gateway. */
  service?: string;
}

/**
 * The Region an AWS endpoint's host name names (`ID.execute-api.REGION.amazonaws.com`), or undefined
 * for any other host.
 */
export function regionOfAwsHost(hostname: string): string | undefined {
  return hostname.endsWith('.amazonaws.com') ? hostname.split('.').at(-3) : undefined;
}

export type RequestSigner = (request: {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body: Uint8Array | undefined;
}) => Promise<Record<string, string>>;

export function sigV4Signer(options: SigV4Options): RequestSigner {
  let signer: SignatureV4 | undefined;
  const init = async () => {
    const credentials =
      options.credentials ?? (await import('@aws-sdk/credential-provider-node')).defaultProvider();
    return new SignatureV4({
      credentials,
      region: options.region,
      service: options.service ?? 'execute-api',
      sha256: Sha256,
    });
  };
  return async ({ method, url, headers, body }) => {
    signer ??= await init();
    const query: Record<string, string> = {};
    for (const [name, value] of url.searchParams) query[name] = value;
    const signed = await signer.sign({
      method,
      protocol: url.protocol,
      hostname: url.hostname,
      port: url.port === '' ? undefined : Number(url.port),
      path: url.pathname,
      query,
      headers: { ...headers, host: url.host },
      body,
    });
    return signed.headers;
  };
}
