import { createPrivateKey, createPublicKey, generateKeyPairSync, randomUUID, sign, type JsonWebKey, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import * as path from 'node:path';
import type { TrustedIssuer } from '../../lambda/shared/issuers';

/**
 * A small OpenID Connect issuer on loopback for `npm start`: an RSA key generated at start, the discovery
 * document and the JWKS served over http on 127.0.0.1, and tokens minted for a customer. The private key
 * never leaves the running process but for the state folder (mode 0600, git-ignored), where
 * `npx tollgate tokens mint` reads it to sign.
 */

export const LOCAL_AUDIENCE = 'tollgate-local';
/** The claim the local issuer's tokens carry the Stripe customer id in. */
export const LOCAL_CUSTOMER_CLAIM = 'stripe_customer_id';
export const SIGNING_KEY_FILE = 'oidc-signing-key.json';
export const DEFAULT_TOKEN_LIFETIME_SECONDS = 3600;

export interface SigningKey {
  readonly issuer: string;
  readonly kid: string;
  /** The private key as a JWK (RS256). */
  readonly privateJwk: JsonWebKey;
}

export interface MintOptions {
  readonly customerId?: string;
  /** @default the customer id */
  readonly subject?: string;
  /** @default DEFAULT_TOKEN_LIFETIME_SECONDS */
  readonly expiresInSeconds?: number;
  /** @default LOCAL_AUDIENCE */
  readonly audience?: string;
  /** @default Date.now */
  readonly now?: number;
  /** Claims added or overriding the defaults. */
  readonly claims?: Readonly<Record<string, unknown>>;
}

export interface LocalIssuer {
  readonly url: string;
  readonly jwksUri: string;
  readonly key: SigningKey;
  /** The issuer as the local stack trusts it. */
  readonly trusted: TrustedIssuer;
  /** Requests served, by path (tests count JWKS fetches). */
  readonly served: ReadonlyMap<string, number>;
  mint(options: MintOptions): string;
  /** A new signing key, published beside the old one (a key rotation at the issuer). */
  rotate(): SigningKey;
  close(): Promise<void>;
}

const base64url = (value: string | Buffer): string => Buffer.from(value).toString('base64url');

/** A compact JWS (RFC 7515) over the header and claims, RS256. */
export function signJwt(key: KeyObject, header: Readonly<Record<string, unknown>>, claims: Readonly<Record<string, unknown>>): string {
  const input = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
  return `${input}.${sign('sha256', Buffer.from(input), key).toString('base64url')}`;
}

/** A token of this issuer for a customer. */
export function mintToken(key: SigningKey, options: MintOptions): string {
  const now = Math.floor((options.now ?? Date.now()) / 1000);
  const lifetime = options.expiresInSeconds ?? DEFAULT_TOKEN_LIFETIME_SECONDS;
  const subject = options.subject ?? options.customerId;
  if (subject === undefined) throw new Error('a token needs a customer or a subject');
  const claims = {
    iss: key.issuer,
    sub: subject,
    aud: options.audience ?? LOCAL_AUDIENCE,
    iat: now,
    nbf: now,
    exp: now + lifetime,
    jti: randomUUID(),
    ...(options.customerId === undefined ? {} : { [LOCAL_CUSTOMER_CLAIM]: options.customerId }),
    ...options.claims,
  };
  return signJwt(createPrivateKey({ key: key.privateJwk, format: 'jwk' }), { alg: 'RS256', typ: 'JWT', kid: key.kid }, claims);
}

export function publicJwk(key: SigningKey): JsonWebKey {
  const { kty, n, e } = createPublicKey({ key: key.privateJwk, format: 'jwk' }).export({ format: 'jwk' });
  return { kty, n, e, kid: key.kid, alg: 'RS256', use: 'sig' };
}

export function generateSigningKey(issuer: string): SigningKey {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { issuer, kid: randomUUID(), privateJwk: privateKey.export({ format: 'jwk' }) };
}

export const signingKeyPath = (stateDir: string): string => path.join(stateDir, SIGNING_KEY_FILE);

/** Readable by its owner only: it signs tokens the local stack trusts. */
export function writeSigningKey(stateDir: string, key: SigningKey): void {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const file = signingKeyPath(stateDir);
  writeFileSync(file, `${JSON.stringify(key)}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
}

export function readSigningKey(stateDir: string): SigningKey | undefined {
  const file = signingKeyPath(stateDir);
  if (!existsSync(file)) return undefined;
  try {
    const key = JSON.parse(readFileSync(file, 'utf8')) as SigningKey;
    return typeof key.issuer === 'string' && typeof key.kid === 'string' && typeof key.privateJwk === 'object' ? key : undefined;
  } catch {
    return undefined;
  }
}

export const removeSigningKey = (stateDir: string): void => rmSync(signingKeyPath(stateDir), { force: true });

/** The trust the local stack places in this issuer (as a cdk.json entry would state it). */
export function localTrustedIssuer(url: string): TrustedIssuer {
  return {
    issuer: url,
    kind: 'oidc',
    audience: [LOCAL_AUDIENCE],
    algorithms: ['RS256'],
    jwksUri: `${url}/.well-known/jwks.json`,
    customer: { kind: 'claim', claim: LOCAL_CUSTOMER_CLAIM },
    clockSkewSeconds: 30,
  };
}

export interface LocalIssuerOptions {
  /** @default 0: a free port */
  readonly port?: number;
  /** Where the signing key is kept for the CLI. @default - nowhere: in memory only */
  readonly stateDir?: string;
}

export function startLocalIssuer(options: LocalIssuerOptions = {}): Promise<LocalIssuer> {
  const served = new Map<string, number>();
  let key: SigningKey | undefined;
  let retired: SigningKey[] = [];
  const server = createServer((req, res) => {
    const target = (req.url ?? '/').split('?')[0]!;
    served.set(target, (served.get(target) ?? 0) + 1);
    const json = (status: number, body: unknown): void => {
      const text = JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', 'content-length': String(Buffer.byteLength(text)) });
      res.end(req.method === 'HEAD' ? undefined : text);
    };
    if (key === undefined || (req.method !== 'GET' && req.method !== 'HEAD')) return json(405, { error: 'only GET' });
    if (target === '/.well-known/openid-configuration') {
      return json(200, {
        issuer: key.issuer,
        jwks_uri: `${key.issuer}/.well-known/jwks.json`,
        response_types_supported: ['token'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256'],
      });
    }
    if (target === '/.well-known/jwks.json') return json(200, { keys: [key, ...retired].map(publicJwk) });
    return json(404, { error: 'not found: this issuer serves /.well-known/openid-configuration and /.well-known/jwks.json' });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      const url = `http://127.0.0.1:${port}`;
      key = generateSigningKey(url);
      if (options.stateDir !== undefined) writeSigningKey(options.stateDir, key);
      resolve({
        url,
        jwksUri: `${url}/.well-known/jwks.json`,
        get key() {
          return key!;
        },
        trusted: localTrustedIssuer(url),
        served,
        mint: (mint) => mintToken(key!, mint),
        rotate: () => {
          retired = [key!, ...retired];
          key = generateSigningKey(url);
          if (options.stateDir !== undefined) writeSigningKey(options.stateDir, key);
          return key;
        },
        close: () =>
          new Promise<void>((done) => {
            if (options.stateDir !== undefined) removeSigningKey(options.stateDir);
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
