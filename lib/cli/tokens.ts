import { readCoordinates, stateDirectory } from '../local/coordinates';
import { DEFAULT_TOKEN_LIFETIME_SECONDS, LOCAL_AUDIENCE, mintToken, readSigningKey } from '../local/oidc-issuer';
import { stringValue, UsageError } from './args';
import { CliError, customerArg, type CommandGroup, type CommandSpec } from './command';
import { stackConfig } from './target';

/**
 * `tollgate tokens mint`: an access token of the local OIDC issuer that `npm start` runs and trusts, for
 * trying a JWT client against the local paywall. It signs with the key the running stack keeps in its
 * state folder (mode 0600); a deployed stack trusts your identity provider, which issues its tokens.
 */

const MAX_LIFETIME_SECONDS = 24 * 3600;

const mint: CommandSpec = {
  name: 'mint',
  summary: 'an access token of the local OIDC issuer, for a customer',
  synopsis: '--customer <cus_id> [--expires-in <seconds>]',
  description: [
    'Prints a JWT signed by the OIDC issuer npm start runs on 127.0.0.1, for the customer (its',
    'stripe_customer_id claim). Send it as Authorization: Bearer <token>: the local paywall answers it',
    'as it answers one of the customer\'s API keys. Local stack only.',
  ].join('\n'),
  arguments: [],
  options: {
    customer: { type: 'string', value: '<cus_id>', help: 'the Stripe customer id the token is for' },
    'expires-in': { type: 'string', value: '<seconds>', help: `the token's lifetime (default ${DEFAULT_TOKEN_LIFETIME_SECONDS}, at most ${MAX_LIFETIME_SECONDS})` },
  },
  run: (ctx) => {
    const customerId = customerArg(stringValue(ctx.values, 'customer'));
    const lifetimeText = stringValue(ctx.values, 'expires-in');
    const lifetime = lifetimeText === undefined ? DEFAULT_TOKEN_LIFETIME_SECONDS : Number(lifetimeText);
    if (!Number.isInteger(lifetime) || lifetime < 1 || lifetime > MAX_LIFETIME_SECONDS) {
      throw new UsageError(`--expires-in "${lifetimeText}" is not a lifetime: give a whole number of seconds from 1 to ${MAX_LIFETIME_SECONDS}`);
    }
    if (stringValue(ctx.values, 'outputs') !== undefined) {
      throw new CliError('tokens mint signs as the local issuer of npm start: a deployed stack trusts the issuers of tollgate:issuers, get a token from your identity provider');
    }
    const stateDir = stateDirectory(ctx.io.root, ctx.io.env);
    const coordinates = readCoordinates(stateDir);
    const key = readSigningKey(stateDir);
    if (coordinates?.oidcIssuerUrl === undefined || key === undefined || key.issuer !== coordinates.oidcIssuerUrl) {
      throw new CliError('no local OIDC issuer is running: start the local stack with npm start, then mint again');
    }
    // The authorizer refuses a token that would expire while a decision on it is cached (lambda/authorizer/jwt.ts).
    const ttl = stackConfig(ctx.io.root, { context: coordinates.context ?? {} }).authorizerCacheTtlSeconds;
    if (lifetime <= ttl) {
      ctx.io.stderr(`tollgate: warning: the authorizer refuses a token that expires within its cache ttl (${ttl} s), so this token gets 401 at once: give --expires-in ${ttl + 60} or more\n`);
    }
    const now = ctx.now.getTime();
    const token = mintToken(key, { customerId, expiresInSeconds: lifetime, now });
    const expiresAt = new Date(Math.floor(now / 1000) * 1000 + lifetime * 1000).toISOString();
    ctx.print(token, { token, issuer: key.issuer, audience: LOCAL_AUDIENCE, customerId, expiresAt });
    return Promise.resolve();
  },
};

export const TOKENS: CommandGroup = {
  name: 'tokens',
  summary: 'OAuth access tokens of the local OIDC issuer',
  commands: [mint],
};
