// Test-only OpenID Connect provider for coprod's tests.
//
// It wraps the certified `oidc-provider` library (panva/node-oidc-provider)
// and is started by the Go package adapters/oidc/oidctest:
//
//   node server.js /path/to/config.json
//
// The configuration file (JSON, written by the Go helper) looks like:
//
//   {
//     "port": 0,                       // 0 = pick a free port (reported in READY)
//     "clients": [{
//       "client_id": "coprod", "client_secret": "s3cret",
//       "redirect_uris": ["http://127.0.0.1:8080/auth/callback"],
//       "post_logout_redirect_uris": ["http://127.0.0.1:8080/"]
//     }],
//     "users": [{
//       "sub": "u1", "email": "ada@example.com", "email_verified": true,
//       "name": "Ada Lovelace", "groups": ["admins"]
//     }],
//     "access_token_audience": "https://api.coprod.test",  // "" = opaque access tokens
//     "id_token_ttl_seconds": 3600,
//     "access_token_ttl_seconds": 3600,
//     "jwks": { "keys": [ ...private JWKs... ] }            // optional; default: fresh RS256 key
//   }
//
// Behaviour:
//   * listens on 127.0.0.1 only, plain http; issuer = http://127.0.0.1:<port>
//   * authorization code flow only, PKCE (S256) required for every client
//   * RFC 9207 `iss` authorization response parameter (always on in oidc-provider >= 8)
//   * RP-initiated logout (end_session_endpoint); the confirmation page is a
//     plain form that a non-browser client can submit
//   * ID tokens carry email, email_verified (scope email), name (scope profile)
//     and groups (scope groups)
//   * when access_token_audience is set, access tokens are JWTs (RFC 9068) for
//     a default resource whose `aud` is that audience
//   * no login form: the End-User is chosen from the `login_hint` authorization
//     parameter (sub or email; first configured user if absent), consent is
//     granted automatically
//   * prints `READY <issuer>` on stdout once listening; exits on SIGTERM,
//     SIGINT and when stdin reaches EOF (i.e. when the parent process dies),
//     unless OIDC_TEST_IGNORE_STDIN=1.

import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { generateKeyPairSync, randomBytes } from 'node:crypto';

import Provider, { errors, interactionPolicy } from 'oidc-provider';

function die(msg) {
  process.stderr.write(`oidc-provider test server: ${msg}\n`);
  process.exit(2);
}

const cfgPath = process.argv[2];
if (!cfgPath) die('usage: node server.js <config.json>');

let cfg;
try {
  cfg = JSON.parse(readFileSync(cfgPath, 'utf8'));
} catch (err) {
  die(`cannot read config ${cfgPath}: ${err.message}`);
}

const users = (cfg.users || []).map((u) => ({
  sub: String(u.sub),
  email: u.email || undefined,
  email_verified: !!u.email_verified,
  name: u.name || undefined,
  groups: Array.isArray(u.groups) ? u.groups.map(String) : [],
}));
if (users.length === 0) die('config: at least one user is required');
const usersBySub = new Map(users.map((u) => [u.sub, u]));

// findUser resolves a login_hint: exact sub first, then case-insensitive email.
function findUser(hint) {
  if (hint === undefined || hint === null || hint === '') return users[0];
  if (usersBySub.has(hint)) return usersBySub.get(hint);
  const lower = String(hint).toLowerCase();
  return users.find((u) => u.email && u.email.toLowerCase() === lower);
}

const audience = cfg.access_token_audience || '';
// The resource indicator (RFC 8707) must be an absolute URI; the audience does
// not have to be, so a non-URI audience gets a derived URN as its indicator.
let resourceIndicator = '';
if (audience) {
  try {
    const u = new URL(audience);
    resourceIndicator = u.hash ? `urn:coprod:oidctest:resource:${encodeURIComponent(audience)}` : audience;
  } catch {
    resourceIndicator = `urn:coprod:oidctest:resource:${encodeURIComponent(audience)}`;
  }
}
const resourceScope = 'api';

const idTokenTTL = Number(cfg.id_token_ttl_seconds) > 0 ? Math.ceil(Number(cfg.id_token_ttl_seconds)) : 3600;
const accessTokenTTL = Number(cfg.access_token_ttl_seconds) > 0 ? Math.ceil(Number(cfg.access_token_ttl_seconds)) : 3600;

let jwks = cfg.jwks;
if (!jwks || !Array.isArray(jwks.keys) || jwks.keys.length === 0) {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  jwks = { keys: [{ ...jwk, kid: `oidctest-${randomBytes(6).toString('hex')}`, alg: 'RS256', use: 'sig' }] };
}

const clients = (cfg.clients || []).map((c) => ({
  client_id: c.client_id,
  client_secret: c.client_secret,
  redirect_uris: c.redirect_uris || [],
  post_logout_redirect_uris: c.post_logout_redirect_uris || [],
  token_endpoint_auth_method: c.token_endpoint_auth_method || 'client_secret_basic',
  grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
  response_types: ['code'],
  application_type: 'web',
}));
if (clients.length === 0) die('config: at least one client is required');

// Login policy: the default checks plus one that forces a new login when the
// login_hint names a different End-User than the one in the current session,
// so one cookie jar can be reused to log in several users.
const policy = interactionPolicy.base();
policy.get('login').checks.add(new interactionPolicy.Check(
  'login_hint_mismatch',
  'login_hint identifies a different End-User than the current session',
  (ctx) => {
    const { oidc } = ctx;
    const hint = oidc.params.login_hint;
    if (!hint || !oidc.session.accountId) return interactionPolicy.Check.NO_NEED_TO_PROMPT;
    const u = findUser(hint);
    if (u && u.sub !== oidc.session.accountId) return interactionPolicy.Check.REQUEST_PROMPT;
    return interactionPolicy.Check.NO_NEED_TO_PROMPT;
  },
));

const formatLogLine = (...parts) => `${new Date().toISOString()} ${parts.join(' ')}\n`;
const log = (...parts) => process.stderr.write(formatLogLine(...parts));

const configuration = {
  clients,
  jwks,
  cookies: { keys: [randomBytes(32).toString('hex')] },
  scopes: ['openid', 'offline_access', 'email', 'profile', 'groups', ...(audience ? [resourceScope] : [])],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
    groups: ['groups'],
  },
  // Put the scope-requested claims into the ID token even though an access
  // token is issued too (OIDC Core would otherwise only serve them from
  // userinfo).
  conformIdTokenClaims: false,
  // JWT access tokens carry groups and e-mail too, as Entra's roles claim or
  // a Keycloak mapper do, so API clients get their roles from the token.
  async extraTokenClaims(ctx, token) {
    const u = usersBySub.get(token.accountId);
    if (!u) return undefined;
    return { groups: u.groups, email: u.email, email_verified: u.email_verified };
  },
  async findAccount(ctx, sub) {
    const u = usersBySub.get(sub);
    if (!u) return undefined;
    return {
      accountId: u.sub,
      async claims() {
        return {
          sub: u.sub,
          email: u.email,
          email_verified: u.email_verified,
          name: u.name,
          groups: u.groups,
        };
      },
    };
  },
  // Consent is granted automatically: every requested OIDC scope, claim and
  // resource scope is added to the (new or existing) grant before the
  // consent prompt is evaluated.
  async loadExistingGrant(ctx) {
    const { oidc } = ctx;
    const grantId = oidc.result?.consent?.grantId || oidc.session.grantIdFor(oidc.client.clientId);
    let grant;
    if (grantId) grant = await oidc.provider.Grant.find(grantId);
    if (!grant || grant.accountId !== oidc.session.accountId) {
      grant = new oidc.provider.Grant({ clientId: oidc.client.clientId, accountId: oidc.session.accountId });
    }
    const scopes = [...oidc.requestParamOIDCScopes];
    if (scopes.length) grant.addOIDCScope(scopes.join(' '));
    const claims = [...oidc.requestParamClaims];
    if (claims.length) grant.addOIDCClaims(claims);
    for (const [indicator, rs] of Object.entries(oidc.resourceServers || {})) {
      const wanted = [...oidc.requestParamScopes].filter((s) => rs.scopes.has(s));
      if (wanted.length) grant.addResourceScope(indicator, wanted.join(' '));
    }
    await grant.save();
    return grant;
  },
  interactions: {
    policy,
    url: (ctx, interaction) => `/interaction/${interaction.uid}`,
  },
  pkce: {
    methods: ['S256'],
    required: () => true,
  },
  responseTypes: ['code'],
  clientAuthMethods: ['client_secret_basic', 'client_secret_post'],
  ttl: {
    IdToken: idTokenTTL,
    AccessToken: accessTokenTTL,
    ClientCredentials: accessTokenTTL,
    AuthorizationCode: 60,
    Interaction: 600,
    Grant: 14 * 24 * 3600,
    Session: 14 * 24 * 3600,
    RefreshToken: 14 * 24 * 3600,
  },
  features: {
    devInteractions: { enabled: false },
    rpInitiatedLogout: {
      enabled: true,
      async logoutSource(ctx, form) {
        // A plain form with logout=yes already filled in: submitting it (as
        // oidctest does) confirms the logout.
        ctx.body = `<!DOCTYPE html><html><head><meta charset="utf-8"><title>Logout Request</title></head><body>
${form.replace('</form>', '<input type="hidden" name="logout" value="yes"/><button type="submit">Sign out</button></form>')}
</body></html>`;
      },
      async postLogoutSuccessSource(ctx) {
        ctx.body = '<!DOCTYPE html><html><head><meta charset="utf-8"><title>Signed out</title></head><body>signed out</body></html>';
      },
    },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    userinfo: { enabled: true },
    resourceIndicators: {
      enabled: !!audience,
      defaultResource: async (ctx, client, oneOf) => {
        if (oneOf) return oneOf[0];
        return resourceIndicator;
      },
      useGrantedResource: async () => true,
      getResourceServerInfo: async (ctx, indicator) => {
        if (indicator !== resourceIndicator) {
          throw new errors.InvalidTarget(`unknown resource indicator ${indicator}`);
        }
        return {
          scope: resourceScope,
          audience,
          accessTokenTTL,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
  },
  async renderError(ctx, out, error) {
    log('render-error', JSON.stringify(out), error && error.stack ? error.stack.split('\n')[0] : '');
    ctx.type = 'json';
    ctx.body = out;
  },
};

const server = createServer();
server.listen(Number(cfg.port) || 0, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  let provider;
  try {
    provider = new Provider(issuer, configuration);
  } catch (err) {
    die(`invalid provider configuration: ${err.stack || err}`);
  }
  provider.on('server_error', (ctx, err) => log('server_error', err.stack || String(err)));
  provider.on('grant.error', (ctx, err) => log('grant.error', err.name, err.message, err.error_description || ''));
  provider.on('authorization.error', (ctx, err) => log('authorization.error', err.name, err.message, err.error_description || ''));

  const callback = provider.callback();

  async function interaction(req, res) {
    const details = await provider.interactionDetails(req, res);
    const { prompt, params, session } = details;
    let result;
    if (prompt.name === 'login') {
      const user = findUser(params.login_hint);
      if (!user) {
        result = { error: 'access_denied', error_description: `oidctest: no user matches login_hint ${JSON.stringify(params.login_hint)}` };
      } else {
        result = { login: { accountId: user.sub, amr: ['pwd'] } };
      }
      log('interaction', details.uid, 'login', params.client_id, result.login ? result.login.accountId : result.error);
      return provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
    }
    if (prompt.name === 'consent') {
      // Normally unreachable (loadExistingGrant pre-grants everything), but
      // e.g. the claims parameter can still ask; grant whatever is missing.
      let grant;
      if (details.grantId) grant = await provider.Grant.find(details.grantId);
      if (!grant) grant = new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
      const d = prompt.details || {};
      if (d.missingOIDCScope) grant.addOIDCScope(d.missingOIDCScope.join(' '));
      if (d.missingOIDCClaims) grant.addOIDCClaims(d.missingOIDCClaims);
      if (d.missingResourceScopes) {
        for (const [indicator, scopes] of Object.entries(d.missingResourceScopes)) {
          grant.addResourceScope(indicator, scopes.join(' '));
        }
      }
      const grantId = await grant.save();
      log('interaction', details.uid, 'consent', params.client_id, session.accountId);
      return provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
    }
    log('interaction', details.uid, 'unsupported prompt', prompt.name);
    return provider.interactionFinished(req, res, {
      error: 'interaction_required', error_description: `oidctest: unsupported prompt ${prompt.name}`,
    }, { mergeWithLastSubmission: false });
  }

  server.on('request', (req, res) => {
    res.on('finish', () => log(req.method, req.url.split('?')[0], res.statusCode));
    const path = req.url.split('?')[0];
    if (req.method === 'GET' && /^\/interaction\/[^/]+$/.test(path)) {
      interaction(req, res).catch((err) => {
        log('interaction failed', err.stack || String(err));
        if (!res.headersSent) {
          res.statusCode = 400;
          res.setHeader('Content-Type', 'application/json');
          res.end(JSON.stringify({ error: 'invalid_request', error_description: `oidctest interaction: ${err.message}` }));
        } else {
          res.end();
        }
      });
      return;
    }
    callback(req, res);
  });

  process.stdout.write(`READY ${issuer}\n`);
});
server.on('error', (err) => die(`listen: ${err.message}`));

let stopping = false;
function shutdown(why) {
  if (stopping) return;
  stopping = true;
  log('shutting down:', why);
  server.close(() => process.exit(0));
  server.closeAllConnections?.();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
if (process.env.OIDC_TEST_IGNORE_STDIN !== '1' && !process.stdin.isTTY) {
  process.stdin.on('end', () => shutdown('stdin closed'));
  process.stdin.on('error', () => shutdown('stdin error'));
  process.stdin.resume();
}
