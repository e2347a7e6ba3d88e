import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

/**
 * The Stripe webhook signing secret(s), from Secrets Manager.
 *
 * Format of the secret string: one signing secret, or two while rolling, separated by a comma
 * and/or whitespace, newest first:
 *
 *   whsec_new
 *   whsec_new,whsec_old
 *
 * A JSON array of strings (`["whsec_new","whsec_old"]`) is accepted too.
 */

export class SecretFormatError extends Error {
  override readonly name = 'SecretFormatError';
}

const SIGNING_SECRET = /^whsec_[A-Za-z0-9+/=_-]{8,}$/;
export const MAX_SIGNING_SECRETS = 2;

/** Parses the secret string; the error never echoes the value. */
export function parseSigningSecrets(secretString: string): readonly string[] {
  let parts: unknown[];
  const trimmed = secretString.trim();
  if (trimmed.startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(trimmed);
      parts = Array.isArray(parsed) ? parsed : [parsed];
    } catch {
      throw new SecretFormatError('the webhook signing secret looks like JSON but does not parse: store "whsec_…" or "whsec_new,whsec_old"');
    }
  } else {
    parts = trimmed.split(/[\s,]+/).filter((part) => part !== '');
  }
  if (parts.length === 0 || parts.length > MAX_SIGNING_SECRETS) {
    throw new SecretFormatError(`the webhook signing secret holds ${parts.length} values: store one ("whsec_…") or two while rolling ("whsec_new,whsec_old")`);
  }
  const secrets = parts.map((part, i) => {
    if (typeof part !== 'string' || !SIGNING_SECRET.test(part)) {
      throw new SecretFormatError(`value ${i + 1} of the webhook signing secret is not a stripe signing secret: each must start with "whsec_"`);
    }
    return part;
  });
  return secrets;
}

export interface CachedSecretOptions {
  /** Re-read at most this often when asked to refresh (a signature did not verify). @default 60 s */
  readonly minRefreshIntervalMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

/** Signing secrets with a way to re-read them (after a roll, a warm function may hold the old one). */
export interface SigningSecretSource {
  (): Promise<readonly string[]>;
  /** Re-reads the secret if the last read is older than the refresh interval; true if it re-read. */
  refresh(): Promise<boolean>;
}

/**
 * Reads the secret once and caches it for the life of the function instance. A failed read is not
 * cached (the next event tries again). `refresh()` lets the webhook pick up a rolled secret.
 */
export function cachedSigningSecrets(client: SecretsManagerClient, secretId: string, options: CachedSecretOptions = {}): SigningSecretSource {
  const now = options.now ?? Date.now;
  const minRefresh = options.minRefreshIntervalMs ?? 60_000;
  let cached: Promise<readonly string[]> | undefined;
  let readAt = Number.NEGATIVE_INFINITY;

  const load = (): Promise<readonly string[]> => {
    readAt = now();
    const pending = readSecretString(client, secretId).then(parseSigningSecrets);
    cached = pending;
    pending.catch(() => {
      if (cached === pending) cached = undefined;
    });
    return pending;
  };

  const source = (() => cached ?? load()) as SigningSecretSource;
  source.refresh = async () => {
    if (now() - readAt < minRefresh) return false;
    await load();
    return true;
  };
  return source;
}

/** One secret string from Secrets Manager (also used for the Stripe API key). */
export async function readSecretString(client: SecretsManagerClient, secretId: string): Promise<string> {
  const { SecretString } = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
  if (SecretString === undefined || SecretString.trim() === '') {
    throw new SecretFormatError(`secret ${secretId} has no string value: store it with aws secretsmanager put-secret-value --secret-string`);
  }
  return SecretString.trim();
}

/**
 * A read done once per function instance and kept: later calls share it. A failed read is not kept, so
 * the next call reads again (the invocation that saw the failure fails, and is retried).
 */
export function once<T>(read: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () =>
    (pending ??= read().catch((err: unknown) => {
      pending = undefined;
      throw err;
    }));
}
