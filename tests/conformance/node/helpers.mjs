// Shared set-up for the node-quickbooks conformance tests.
//
// node-quickbooks and intuit-oauth are used exactly as published; the only change is where
// they point: node-quickbooks' module-level URL constants (V3_ENDPOINT_BASE_URL, TOKEN_URL,
// REVOKE_URL, APP_CENTER_BASE) and intuit-oauth's public setAuthorizeURLs(), both filled from
// the emulator's discovery document. Everything else (query building, ?operation=update,
// sparse defaults, requestid, minorversion=75, format=json) is the libraries' own behaviour.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
export const QuickBooks = require('node-quickbooks');
export const OAuthClient = require('intuit-oauth');

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`environment variable ${name} is not set (run through pytest)`);
  return value;
}

export const env = {
  base: required('QBO_EMULATOR_URL').replace(/\/+$/, ''),
  discoveryUrl: required('QBO_DISCOVERY_URL'),
  realmA: required('QBO_REALM_A'),
  realmB: required('QBO_REALM_B'),
  clientId: required('QBO_CLIENT_ID'),
  clientSecret: required('QBO_CLIENT_SECRET'),
  redirectUri: required('QBO_REDIRECT_URI'),
  // A token pair for Company A obtained by the Python side (emu.authorize + code exchange).
  accessToken: process.env.QBO_ACCESS_TOKEN || '',
  refreshToken: process.env.QBO_REFRESH_TOKEN || '',
  timeScale: Number(process.env.QBO_TIME_SCALE || '1'),
  // further registered apps ("id:secret,id:secret"), same redirect URI
  extraClients: (process.env.QBO_EXTRA_CLIENTS || '').split(',').filter(Boolean).map((pair) => {
    const [clientId, clientSecret] = pair.split(':');
    return { clientId, clientSecret };
  }),
  runId: process.env.QBO_RUN_ID || Date.now().toString(36),
};

export const SCOPE = 'com.intuit.quickbooks.accounting';

// ---------------------------------------------------------------------------------------------
// Discovery: the single source of the OAuth URLs for both libraries.
const discoveryResponse = await fetch(env.discoveryUrl, { headers: { Accept: 'application/json' } });
assert.equal(discoveryResponse.status, 200, `discovery document at ${env.discoveryUrl}`);
export const discovery = await discoveryResponse.json();
for (const key of ['authorization_endpoint', 'token_endpoint', 'revocation_endpoint']) {
  assert.ok(discovery[key], `discovery document names ${key}`);
}

QuickBooks.APP_CENTER_BASE = env.base;
QuickBooks.V3_ENDPOINT_BASE_URL = `${env.base}/v3/company/`;
QuickBooks.TOKEN_URL = discovery.token_endpoint;
QuickBooks.REVOKE_URL = discovery.revocation_endpoint;
QuickBooks.USER_INFO_URL = discovery.userinfo_endpoint;

export function oauthClient({ clientId = env.clientId, clientSecret = env.clientSecret } = {}) {
  const client = new OAuthClient({
    clientId,
    clientSecret,
    environment: 'sandbox',
    redirectUri: env.redirectUri,
  });
  client.setAuthorizeURLs({
    authorizeEndpoint: discovery.authorization_endpoint,
    tokenEndpoint: discovery.token_endpoint,
    revokeEndpoint: discovery.revocation_endpoint,
    userInfoEndpoint: discovery.userinfo_endpoint,
  });
  return client;
}

/** A node-quickbooks client for one company (OAuth 2.0, minorversion 75). */
export function qbClient(accessToken, realmId, refreshToken = null, minorversion = 75) {
  return new QuickBooks(
    env.clientId,
    env.clientSecret,
    accessToken,
    false, // no token secret with OAuth 2.0
    realmId,
    true, // useSandbox: V3_ENDPOINT_BASE_URL is used as is
    false, // debug
    minorversion,
    '2.0',
    refreshToken,
  );
}

// ---------------------------------------------------------------------------------------------
// Client-side pacing, as the notes recommend for any client (here <= 6 req/s and < 450/min per
// company, both shrunk by the emulator's time scale), so that ordinary tests never meet the
// throttle. The throttling tests bypass it on purpose.
const minIntervalMs = Math.max(1000 / (6 * env.timeScale), 60000 / (450 * env.timeScale));
let nextSlot = 0;
export async function pace() {
  const now = Date.now();
  const wait = nextSlot - now;
  nextSlot = Math.max(now, nextSlot) + minIntervalMs;
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
}

/**
 * Calls a node-quickbooks method with a callback and returns a uniform outcome:
 * { ok, status, body, data, headers }. `data` is what the library hands to the callback on
 * success (the unwrapped entity for CRUD calls); `body` is the HTTP body (the Fault on error).
 */
export async function call(qbo, method, ...args) {
  await pace();
  return callUnpaced(qbo, method, ...args);
}

export function callUnpaced(qbo, method, ...args) {
  return new Promise((resolve) => {
    qbo[method](...args, (err, data, res) => {
      if (err) {
        const response = err.response || res;
        let status = 200; // a Fault inside an HTTP 200 body
        if (response) status = response.status;
        else if (err instanceof Error) status = 0; // no HTTP response at all (connection lost)
        resolve({
          ok: false,
          status,
          body: response && response.data !== undefined ? response.data : err,
          data: null,
          headers: response ? response.headers : {},
          error: err,
        });
      } else {
        resolve({
          ok: true,
          status: res ? res.status : 200,
          body: res ? res.data : data,
          data,
          headers: res ? res.headers : {},
        });
      }
    });
  });
}

/** Asserts a successful call and returns the library's data. */
export function ok(outcome, what) {
  if (!outcome.ok) {
    assert.fail(`${what}: expected success, got HTTP ${outcome.status}: ${JSON.stringify(outcome.body)}`);
  }
  return outcome.data;
}

/** Asserts a data-service Fault (upper-case envelope) with the given HTTP status and code. */
export function assertFault(outcome, status, code, what) {
  const shown = `${what}: HTTP ${outcome.status} ${JSON.stringify(outcome.body)}`;
  assert.equal(outcome.ok, false, `${shown} (expected a Fault ${code})`);
  assert.equal(outcome.status, status, shown);
  const fault = outcome.body && outcome.body.Fault;
  assert.ok(fault && Array.isArray(fault.Error) && fault.Error.length > 0, `${shown} (no Fault.Error)`);
  assert.equal(fault.Error[0].code, String(code), shown);
  assert.equal(typeof fault.Error[0].code, 'string', `${shown} (code must be a JSON string)`);
  assert.ok(fault.Error[0].Message, `${shown} (Fault.Error[0].Message)`);
  assert.ok(outcome.body.time, `${shown} (Fault envelope carries time)`);
  assert.ok(header(outcome.headers, 'intuit_tid'), `${shown} (intuit_tid header on a fault)`);
  return fault.Error[0];
}

/** Asserts the gateway's lower-case 401/403 envelope. */
export function assertGatewayFault(status, body, code, what) {
  const shown = `${what}: HTTP ${status} ${JSON.stringify(body)}`;
  assert.equal(status, code === '3200' ? 401 : 403, shown);
  assert.ok(body && body.fault && Array.isArray(body.fault.error), `${shown} (lower-case fault.error)`);
  assert.equal(body.Fault, undefined, `${shown} (gateway body is not the upper-case Fault)`);
  const error = body.fault.error[0];
  assert.equal(error.code, code, shown);
  assert.equal(typeof body.time, 'number', `${shown} (gateway time is epoch milliseconds)`);
  assert.match(error.message, new RegExp(`errorCode=00${code}; statusCode=${status}`), shown);
  if (code === '3200') {
    assert.match(error.message, /AuthenticationFailed/, shown);
    assert.equal(body.fault.type, 'AUTHENTICATION', shown);
  } else {
    assert.match(error.message, /AuthorizationFailed/, shown);
    assert.equal(body.fault.type, 'SERVICE', shown);
  }
  return error;
}

export function header(headers, name) {
  if (!headers) return undefined;
  if (typeof headers.get === 'function') return headers.get(name) ?? undefined;
  return headers[name] ?? headers[name.toLowerCase()];
}

export function money(value) {
  return Math.round(Number(value) * 100) / 100;
}

let counter = 0;
/** A name unique to this run (DisplayName must be unique across the company). */
export function unique(prefix) {
  counter += 1;
  return `${prefix} ${env.runId}-${process.pid % 10000}-${counter}`;
}

// ---------------------------------------------------------------------------------------------
// The consent page, driven over HTTP as a browser would.

function decodeEntities(text) {
  return text
    .replace(/&amp;/g, '&')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#0*39;|&#x0*27;|&apos;/gi, "'");
}

function attr(tag, name) {
  const m = tag.match(new RegExp(`\\s${name}\\s*=\\s*(?:"([^"]*)"|'([^']*)'|([^\\s>]+))`, 'i'));
  if (!m) return undefined;
  return decodeEntities(m[1] ?? m[2] ?? m[3] ?? '');
}

function stripTags(html) {
  return decodeEntities(html.replace(/<[^>]*>/g, ' ')).replace(/\s+/g, ' ').trim();
}

/**
 * Parses the consent form: its action/method, the hidden fields, the company choices of the
 * `realmId` field (value + visible label) and the submit buttons.
 */
export function parseConsentForm(html, pageUrl) {
  const formMatch = html.match(/<form\b[^>]*>([\s\S]*?)<\/form>/i);
  assert.ok(formMatch, `consent page has a <form>:\n${html}`);
  const formTag = formMatch[0].match(/<form\b[^>]*>/i)[0];
  const inner = formMatch[1];
  const action = new URL(attr(formTag, 'action') || pageUrl, pageUrl).toString();
  const method = (attr(formTag, 'method') || 'GET').toUpperCase();
  const hidden = [];
  const companies = [];
  const buttons = [];

  for (const m of inner.matchAll(/<input\b[^>]*>/gi)) {
    const tag = m[0];
    const type = (attr(tag, 'type') || 'text').toLowerCase();
    const name = attr(tag, 'name');
    const value = attr(tag, 'value') ?? '';
    if (type === 'submit') {
      buttons.push({ name, value, label: value });
    } else if (name === 'realmId' && (type === 'radio' || type === 'checkbox')) {
      const id = attr(tag, 'id');
      let label = '';
      if (id) {
        const lm = inner.match(new RegExp(`<label\\b[^>]*for\\s*=\\s*["']?${id}["']?[^>]*>([\\s\\S]*?)</label>`, 'i'));
        if (lm) label = stripTags(lm[1]);
      }
      if (!label) {
        // <label><input ...> Company A</label> or text right after the input
        const after = inner.slice(m.index + tag.length, m.index + tag.length + 300);
        label = stripTags(after.split(/<input\b|<\/label>|<br\b|<\/li>|<\/div>/i)[0]);
      }
      companies.push({ value, label });
    } else if (name && type === 'hidden') {
      hidden.push([name, value]);
    }
  }
  const select = inner.match(/<select\b[^>]*\sname\s*=\s*["']?realmId["']?[^>]*>([\s\S]*?)<\/select>/i);
  if (select) {
    for (const o of select[1].matchAll(/<option\b([^>]*)>([\s\S]*?)<\/option>/gi)) {
      const label = stripTags(o[2]);
      companies.push({ value: attr(`<option ${o[1]}>`, 'value') ?? label, label });
    }
  }
  for (const b of inner.matchAll(/<button\b([^>]*)>([\s\S]*?)<\/button>/gi)) {
    const tag = `<button ${b[1]}>`;
    const type = (attr(tag, 'type') || 'submit').toLowerCase();
    if (type !== 'submit') continue;
    buttons.push({ name: attr(tag, 'name'), value: attr(tag, 'value') ?? '', label: stripTags(b[2]) });
  }
  return { action, method, hidden, companies, buttons };
}

/**
 * GET /connect/oauth2 (from the discovery document), pick `company`, press `button`
 * ("Authorize" or "Cancel") and return the redirect target as a URL.
 */
export async function consent({ company = 'Company A', button = 'Authorize', state = 'st-' + Math.random().toString(36).slice(2), clientId = env.clientId, redirectUri = env.redirectUri } = {}) {
  const client = oauthClient();
  client.clientId = clientId;
  client.redirectUri = redirectUri;
  const authorizeUrl = client.authorizeUri({ scope: [SCOPE], state });
  const page = await fetch(authorizeUrl, { redirect: 'manual' });
  const html = await page.text();
  assert.equal(page.status, 200, `GET ${authorizeUrl} -> ${page.status}\n${html}`);
  assert.match(html, /Which company would you like to connect to\?/, 'consent page asks which company');
  const form = parseConsentForm(html, authorizeUrl);
  const labels = form.companies.map((c) => c.label).join(' | ');
  assert.ok(form.companies.some((c) => /Company A/.test(c.label)), `choices: ${labels}`);
  assert.ok(form.companies.some((c) => /Company B/.test(c.label)), `choices: ${labels}`);
  const choice = form.companies.find((c) => c.label.includes(company));
  assert.ok(choice, `company ${company} among ${labels}`);
  const pressed = form.buttons.find((b) => b.label.trim() === button);
  assert.ok(pressed, `button ${button} among ${form.buttons.map((b) => b.label).join(', ')}`);
  assert.ok(form.buttons.some((b) => b.label.trim() === (button === 'Authorize' ? 'Cancel' : 'Authorize')), 'both Authorize and Cancel buttons');

  const fields = new URLSearchParams();
  for (const [name, value] of form.hidden) fields.append(name, value);
  fields.append('realmId', choice.value);
  if (pressed.name) fields.append(pressed.name, pressed.value);

  let response;
  if (form.method === 'POST') {
    response = await fetch(form.action, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: fields.toString(),
    });
  } else {
    const target = new URL(form.action);
    for (const [k, v] of fields) target.searchParams.append(k, v);
    response = await fetch(target, { redirect: 'manual' });
  }
  const text = await response.text();
  assert.ok([302, 303, 307].includes(response.status), `consent ${button} -> HTTP ${response.status}\n${text}`);
  const location = response.headers.get('location');
  assert.ok(location, 'redirect has a Location');
  return { redirect: new URL(location, form.action), state, choice };
}

/** Full code flow for one company through intuit-oauth; returns { client, token, realmId }. */
export async function connect(company = 'Company A', app = { clientId: env.clientId, clientSecret: env.clientSecret }) {
  const { redirect } = await consent({ company, clientId: app.clientId });
  const client = oauthClient(app);
  const authResponse = await client.createToken(redirect.toString());
  const token = authResponse.getJson();
  return { client, token, realmId: redirect.searchParams.get('realmId') };
}

// ---------------------------------------------------------------------------------------------
// Control API of the emulator (started with control=True by the pytest wrapper).

export async function control(method, path, body) {
  const init = { method, headers: { Accept: 'application/json' } };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const response = await fetch(`${env.base}/_emulator/${path}`, init);
  const text = await response.text();
  assert.ok(response.status < 300, `${method} /_emulator/${path} -> ${response.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** fetch() behind the same pacing, for the few requests node-quickbooks cannot make. */
export async function pacedFetch(url, init) {
  await pace();
  return fetch(url, init);
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Waits until a real API call for `realmId` is no longer throttled (bounded). */
export async function waitUntilNotThrottled(qbo, realmId, limitMs = 20000) {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const outcome = await callUnpaced(qbo, 'getCompanyInfo', realmId);
    if (outcome.status !== 429) return outcome;
    if (Date.now() > deadline) assert.fail(`still throttled after ${limitMs} ms`);
    await sleep(Math.max(50, 1000 / env.timeScale));
  }
}

/** POST /_emulator/throttle/reset: empty every throttle window. */
export async function resetThrottle() {
  return control('POST', 'throttle/reset', {});
}

/** POST /_emulator/expire-tokens: every access token issued so far stops working. */
export async function expireTokens() {
  return control('POST', 'expire-tokens', { refresh_tokens: false });
}

/** GET /_emulator/stats?realmId=... */
export async function stats(realmId) {
  return control('GET', `stats?realmId=${encodeURIComponent(realmId)}`);
}

/** POST /_emulator/faults: the next `count` matching requests of the company meet `kind`. */
export async function injectFault(realmId, kind, { count = 1, entity, seconds } = {}) {
  const body = { realmId, kind, count };
  if (entity) body.entity = entity;
  if (seconds !== undefined) body.seconds = seconds;
  return control('POST', 'faults', body);
}
