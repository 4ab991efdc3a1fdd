// A real OpenID Provider on loopback for the registry's sign-in tests and `make demo`: panva's
// oidc-provider (pinned by scripts/node-tools.sh) playing a Swedish eID broker. Test persons
// carry the Sweden Connect personal identity number claim
// (https://id.oidc.se/claim/personalIdentityNumber), released by the scope
// https://id.oidc.se/scope/naturalPersonNumber. tests/src/oidc.rs starts and drives it.
//
// Usage: node oidc_provider.mjs  (configuration in the environment)
//   NODE_PREFIX   where oidc-provider is installed (node_modules inside)
//   OIDC_CONFIG   JSON: {
//     port            0 = any free port; the provider listens on 127.0.0.1 only
//     keysFile        private JWKS {"keys": [...]}, created (one RS256, one ES256 key) if missing;
//                     the first key of an algorithm signs
//     resource        the registry's API resource identifier: the audience of JWT access tokens
//     accessTokenTtl, idTokenTtl   seconds (default 600)
//     clients         [{client_id, client_secret?, redirect_uris, post_logout_redirect_uris?}];
//                     without client_secret a public client (token_endpoint_auth_method none)
//     persons         [{sub, personalIdentityNumber, given_name, family_name}]
//   }
// Prints one line on stdout once listening, {"issuer": "http://127.0.0.1:<port>", "port": <port>},
// and nothing else there (logs go to stderr). Exits on SIGTERM/SIGINT.
//
// The provider: authorization code flow only, PKCE (S256) required of every client; scopes
// openid, profile (name, given_name, family_name) and the naturalPersonNumber scope; the claims
// of granted scopes go into the ID token too (conformIdTokenClaims false). Access tokens are
// JWTs (RFC 9068, typ at+jwt, RS256) for the configured resource, which is the default resource
// so clients need not send resource=; they carry the names and the personal identity number
// when those scopes were granted (extraTokenClaims).
//
// Sign-in is oidc-provider's development interactions, a real HTML flow:
//   GET  /interaction/<uid>   login page: a form POSTing to /interaction/<uid> with the hidden
//                             field prompt=login and the fields login (a person's sub) and
//                             password (anything). An unknown login is refused: the page is
//                             shown again (status 400) with the message "unknown person".
//   GET  /interaction/<uid>   then the consent page: a form POSTing to /interaction/<uid> with
//                             the hidden field prompt=consent and nothing else.
// RP-initiated logout: GET /session/end?id_token_hint=…&post_logout_redirect_uri=…&state=…
// shows a confirmation page whose form (id op.logoutForm) POSTs to /session/end/confirm with
// the hidden field xsrf; the "Yes, sign me out" button sits outside the form (form= attribute)
// and adds logout=yes. Without a session the page is an auto-submitting form carrying both.
// Cookies (_interaction, _interaction_resume, _session, each with a .sig twin) are not Secure
// on plain http; the provider only marks them Secure on https requests.
//
// Test-only control endpoints (a Koa middleware mounted before the provider; not part of
// oidc-provider):
//   POST /__test/mint  {"header": {...}, "claims": {...}, "key": "provider"|"stranger"|"none",
//                       "tamper": false}  ->  {"token": "<compact JWS>"}
//     The payload is a valid access token for the registry unless overridden: iss, aud
//     (resource), iat, exp (iat + accessTokenTtl), jti, client_id (first client), sub, scope and
//     the names and personal identity number of the person whose sub is claims.sub (else the
//     first person); claims replace these, and a claim set to null is left out. The header is
//     {alg, typ: "at+jwt", kid} with header fields replacing these.
//     key "provider": signed with the provider's first key of the header's alg (RS256 unless
//       overridden; ES256 picks the EC key), kid of that key; a header alg the provider has no
//       key for is signed with the RS256 key anyway (a mismatched token).
//     key "stranger": signed with an RSA key the provider never published, kid "stranger-1".
//     key "none": alg "none", kid of the provider's RS256 key, empty signature.
//     tamper: after signing, the payload is re-encoded with one claim changed (the personal
//       identity number's last digit, else sub), so the token is well formed and its signature
//       no longer matches.
//   POST /__test/rotate  ->  {"kid": "<new kid>"}
//     Rotation at runtime, same issuer, port and sessions: generates a new RS256 key, makes it
//     the first key (it signs ID tokens, access tokens and minted tokens from now on), keeps the
//     old keys published in the JWKS, and writes the new set to keysFile (so a restart keeps it).
//     oidc-provider has no public API for this: the harness re-runs its keystore initialisation
//     (lib/helpers/initialize_keystore.js, which replaces the keystore and the published JWKS
//     the provider reads on every request) — tied to the pinned version.

import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import path from 'node:path';
import fs from 'node:fs';
import http from 'node:http';
import crypto from 'node:crypto';

// Only the ready line goes to stdout: oidc-provider prints notices with console.info.
console.log = console.info = (...args) => console.error(...args);
// The login guard below reads the form itself; oidc-provider then warns that an upstream
// middleware parsed the body, which is what is meant here.
const warn = console.warn;
console.warn = (...args) => {
  if (!String(args[0]).includes('already parsed request body detected')) warn(...args);
};

const require = createRequire(path.join(process.env.NODE_PREFIX, 'node_modules', 'x.js'));
const providerEntry = require.resolve('oidc-provider');
const load = (file) => import(pathToFileURL(file).href);
const { default: Provider, errors } = await load(providerEntry);
const jose = await load(createRequire(providerEntry).resolve('jose'));
const { default: initializeKeystore } = await load(path.join(path.dirname(providerEntry), 'helpers', 'initialize_keystore.js'));

const config = JSON.parse(process.env.OIDC_CONFIG);
const resource = config.resource;
const accessTokenTtl = config.accessTokenTtl ?? 600;
const idTokenTtl = config.idTokenTtl ?? 600;
const persons = new Map((config.persons ?? []).map((p) => [p.sub, p]));
const clients = config.clients ?? [];

const PIN = 'https://id.oidc.se/claim/personalIdentityNumber';
const PIN_SCOPE = 'https://id.oidc.se/scope/naturalPersonNumber';
const RESOURCE_SCOPE = `openid profile ${PIN_SCOPE}`;

// ---- keys ----

async function newKey(alg) {
  const pair = alg === 'RS256'
    ? crypto.generateKeyPairSync('rsa', { modulusLength: 2048 })
    : crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = pair.privateKey.export({ format: 'jwk' });
  const kid = `${alg.toLowerCase()}-${(await jose.calculateJwkThumbprint(jwk)).slice(0, 16)}`;
  return { ...jwk, kid, alg, use: 'sig' };
}

function writeKeys(jwks) {
  fs.mkdirSync(path.dirname(config.keysFile), { recursive: true });
  fs.writeFileSync(config.keysFile, `${JSON.stringify(jwks, null, 2)}\n`, { mode: 0o600 });
}

let jwks;
if (fs.existsSync(config.keysFile)) {
  jwks = JSON.parse(fs.readFileSync(config.keysFile, 'utf8'));
} else {
  jwks = { keys: [await newKey('RS256'), await newKey('ES256')] };
  writeKeys(jwks);
}
const firstKey = (alg) => jwks.keys.find((k) => k.alg === alg);
const stranger = { ...crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' }), kid: 'stranger-1', alg: 'RS256' };

// ---- the provider ----

// The issuer holds the port, so listen first and hand the requests to the provider after.
const server = http.createServer();
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(config.port ?? 0, '127.0.0.1', resolve);
});
const { port } = server.address();
const issuer = `http://127.0.0.1:${port}`;

function personClaims(person, scopes) {
  const claims = {};
  if (scopes.has('profile')) {
    Object.assign(claims, {
      name: `${person.given_name} ${person.family_name}`,
      given_name: person.given_name,
      family_name: person.family_name,
    });
  }
  if (scopes.has(PIN_SCOPE)) {
    claims[PIN] = person.personalIdentityNumber;
  }
  return claims;
}

const provider = new Provider(issuer, {
  clients: clients.map((c) => ({
    client_id: c.client_id,
    ...(c.client_secret ? { client_secret: c.client_secret } : { token_endpoint_auth_method: 'none' }),
    redirect_uris: c.redirect_uris,
    post_logout_redirect_uris: c.post_logout_redirect_uris ?? [],
    grant_types: ['authorization_code'],
    response_types: ['code'],
  })),
  jwks,
  cookies: {
    keys: [crypto.randomBytes(32).toString('base64url')],
    long: { httpOnly: true, sameSite: 'lax', secure: false },
    short: { httpOnly: true, sameSite: 'lax', secure: false },
  },
  pkce: { required: () => true },
  responseTypes: ['code'],
  scopes: ['openid', 'profile', PIN_SCOPE],
  claims: {
    openid: ['sub'],
    profile: ['name', 'given_name', 'family_name'],
    [PIN_SCOPE]: [PIN],
  },
  conformIdTokenClaims: false,
  ttl: {
    AccessToken: accessTokenTtl,
    IdToken: idTokenTtl,
    AuthorizationCode: 60,
    Interaction: 600,
    Session: 3600,
    Grant: 3600,
  },
  async findAccount(ctx, sub) {
    const person = persons.get(sub);
    if (!person) return undefined;
    return {
      accountId: sub,
      // oidc-provider filters these by the granted scopes and claims.
      async claims() {
        return { sub, ...personClaims(person, new Set(['profile', PIN_SCOPE])) };
      },
    };
  },
  async extraTokenClaims(ctx, token) {
    if (token.kind !== 'AccessToken' || !token.accountId) return undefined;
    const person = persons.get(token.accountId);
    if (!person) return undefined;
    return personClaims(person, new Set((token.scope ?? '').split(' ')));
  },
  features: {
    devInteractions: { enabled: true },
    rpInitiatedLogout: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: async () => resource,
      useGrantedResource: async () => true,
      getResourceServerInfo: async (ctx, indicator) => {
        if (indicator !== resource) throw new errors.InvalidTarget();
        return {
          scope: RESOURCE_SCOPE,
          audience: resource,
          accessTokenFormat: 'jwt',
          accessTokenTTL: accessTokenTtl,
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
  },
  renderError(ctx, out) {
    ctx.type = 'html';
    ctx.body = `<!DOCTYPE html><html><head><title>oops! something went wrong</title></head><body><h1>oops! something went wrong</h1><pre>${escapeHtml(JSON.stringify(out, null, 2))}</pre></body></html>`;
  },
});
provider.proxy = false;

function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

for (const event of ['server_error', 'authorization.error', 'grant.error', 'end_session.error', 'jwks.error', 'discovery.error', 'userinfo.error']) {
  provider.on(event, (ctx, err) => console.error(`oidc-provider ${event}: ${err?.message ?? ''} ${err?.error_description ?? ''}`));
}

// ---- the login form refuses unknown persons ----
// The development interactions accept any login; a login that names no configured person is
// answered here, before them, with the login page again and a message.
provider.use(async (ctx, next) => {
  const match = /^\/interaction\/([^/]+)$/.exec(ctx.path);
  if (ctx.method === 'POST' && match) {
    const body = new URLSearchParams(await readBody(ctx.req));
    if (body.get('prompt') === 'login' && !persons.has(body.get('login') ?? '')) {
      ctx.status = 400;
      ctx.type = 'html';
      ctx.body = `<!DOCTYPE html><html><head><title>Sign-in</title></head><body><p class="error">unknown person</p>`
        + `<form autocomplete="off" action="${escapeHtml(ctx.path)}" method="post"><input type="hidden" name="prompt" value="login"/>`
        + `<input required type="text" name="login"><input required type="password" name="password"><button type="submit">Sign-in</button></form></body></html>`;
      return;
    }
    // Hand the body on to the provider's own parser.
    ctx.req.body = Object.fromEntries(body);
  }
  await next();
});

// ---- test-only control endpoints ----

function readBody(req) {
  if (req.readBody) return req.readBody;
  req.readBody = new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
  return req.readBody;
}

const b64 = (value) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

function signWith(jwk, input) {
  const key = crypto.createPrivateKey({ key: jwk, format: 'jwk' });
  return jwk.kty === 'EC'
    ? crypto.sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' })
    : crypto.sign('sha256', Buffer.from(input), key);
}

function mint(input) {
  const header = input.header ?? {};
  const claims = input.claims ?? {};
  const key = input.key ?? 'provider';
  const tamper = input.tamper ?? false;
  const person = persons.get(claims.sub) ?? persons.values().next().value;
  const iat = Math.floor(Date.now() / 1000);
  const payload = {
    iss: issuer,
    aud: resource,
    iat,
    exp: iat + accessTokenTtl,
    jti: crypto.randomUUID(),
    client_id: clients[0]?.client_id,
    scope: RESOURCE_SCOPE,
    ...(person ? { sub: person.sub, ...personClaims(person, new Set(['profile', PIN_SCOPE])) } : {}),
    ...claims,
  };
  for (const [name, value] of Object.entries(payload)) {
    if (value === null || value === undefined) delete payload[name];
  }

  let signer;
  let defaults;
  switch (key) {
    case 'provider': {
      signer = firstKey(header.alg ?? 'RS256') ?? firstKey('RS256');
      defaults = { alg: signer.alg, typ: 'at+jwt', kid: signer.kid };
      break;
    }
    case 'stranger':
      signer = stranger;
      defaults = { alg: 'RS256', typ: 'at+jwt', kid: stranger.kid };
      break;
    case 'none':
      defaults = { alg: 'none', typ: 'at+jwt', kid: firstKey('RS256').kid };
      break;
    default:
      throw new Error(`unknown key kind ${key}: provider, stranger or none`);
  }
  const head = { ...defaults, ...header };
  for (const [name, value] of Object.entries(head)) {
    if (value === null || value === undefined) delete head[name];
  }
  const signingInput = `${b64(head)}.${b64(payload)}`;
  const signature = signer ? signWith(signer, signingInput).toString('base64url') : '';
  if (!tamper) return `${signingInput}.${signature}`;
  const changed = { ...payload };
  if (typeof changed[PIN] === 'string') {
    const pin = changed[PIN];
    changed[PIN] = pin.slice(0, -1) + String((Number(pin.at(-1)) + 1) % 10);
  } else {
    changed.sub = `${changed.sub ?? ''}x`;
  }
  return `${b64(head)}.${b64(changed)}.${signature}`;
}

async function rotate() {
  const key = await newKey('RS256');
  jwks = { keys: [key, ...jwks.keys] };
  initializeKeystore.call(provider, jwks);
  writeKeys(jwks);
  console.error(`oidc-provider harness: rotated, ${key.kid} signs now`);
  return { kid: key.kid };
}

provider.use(async (ctx, next) => {
  if (!ctx.path.startsWith('/__test/')) return next();
  try {
    if (ctx.method !== 'POST') ctx.throw(405, 'POST only');
    const text = await readBody(ctx.req);
    const input = text ? JSON.parse(text) : {};
    switch (ctx.path) {
      case '/__test/mint':
        ctx.body = { token: mint(input) };
        break;
      case '/__test/rotate':
        ctx.body = await rotate();
        break;
      default:
        ctx.throw(404, `no test endpoint ${ctx.path}`);
    }
  } catch (err) {
    ctx.status = err.status ?? 400;
    ctx.body = { error: err.message };
  }
  return undefined;
});

server.on('request', provider.callback());
process.stdout.write(`${JSON.stringify({ issuer, port })}\n`);
console.error(`oidc-provider harness: ${issuer} (keys in ${config.keysFile})`);

function stop() {
  server.close();
  server.closeAllConnections();
  process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
