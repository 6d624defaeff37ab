// OAuth 2.0 as Intuit does it: consent page, code exchange through intuit-oauth, refresh with
// rotation (through intuit-oauth and node-quickbooks), revoke (both libraries' body formats).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  env, discovery, consent, oauthClient, qbClient, call, ok, assertGatewayFault, header, SCOPE,
} from './helpers.mjs';

async function tokenError(promise) {
  try {
    await promise;
  } catch (e) {
    const response = e.authResponse && e.authResponse.response;
    return { error: e.error, status: response ? response.status : undefined, body: response ? response.data : undefined };
  }
  assert.fail('expected the token endpoint to refuse');
}

async function companyName(accessToken, realmId) {
  const outcome = await call(qbClient(accessToken, realmId), 'getCompanyInfo', realmId);
  return outcome;
}

test('discovery document names the emulator endpoints Intuit-style', () => {
  assert.equal(new URL(discovery.authorization_endpoint).pathname, '/connect/oauth2');
  assert.equal(new URL(discovery.token_endpoint).pathname, '/oauth2/v1/tokens/bearer');
  assert.equal(new URL(discovery.revocation_endpoint).pathname, '/v2/oauth2/tokens/revoke');
  assert.ok(discovery.issuer, 'issuer');
  assert.deepEqual(discovery.response_types_supported, ['code']);
  assert.ok(discovery.token_endpoint_auth_methods_supported.includes('client_secret_basic'));
});

test('code flow: consent for Company A, exchange with intuit-oauth, call the API', async () => {
  const { redirect, state } = await consent({ company: 'Company A' });
  assert.equal(`${redirect.origin}${redirect.pathname}`, env.redirectUri);
  assert.equal(redirect.searchParams.get('state'), state);
  assert.equal(redirect.searchParams.get('realmId'), env.realmA);
  const code = redirect.searchParams.get('code');
  assert.ok(code && code.length >= 8, `code ${code}`);

  const client = oauthClient();
  const authResponse = await client.createToken(redirect.toString());
  const token = authResponse.getJson();
  assert.equal(token.token_type.toLowerCase(), 'bearer');
  assert.ok(token.access_token);
  assert.ok(token.refresh_token);
  assert.equal(token.expires_in, 3600);
  assert.equal(token.x_refresh_token_expires_in, 8726400);
  assert.equal(client.getToken().realmId, env.realmA);
  assert.ok(header(authResponse.headers(), 'intuit_tid'), 'token response has intuit_tid');

  const info = await companyName(token.access_token, env.realmA);
  const company = ok(info, 'getCompanyInfo');
  assert.equal(company.CompanyName, 'Company A');
  assert.ok(header(info.headers, 'intuit_tid'), 'API response has intuit_tid');

  // the code is single use
  const again = await tokenError(oauthClient().createToken(redirect.toString()));
  assert.equal(again.status, 400);
  assert.equal(again.error, 'invalid_grant');
});

test('tokens obtained by the Python side work in node-quickbooks, and refresh there', { skip: !env.accessToken && 'no QBO_ACCESS_TOKEN' }, async () => {
  const qbo = qbClient(env.accessToken, env.realmA, env.refreshToken);
  const company = ok(await call(qbo, 'getCompanyInfo', env.realmA), 'getCompanyInfo with the Python token');
  assert.equal(company.CompanyName, 'Company A');
  const refreshed = await new Promise((resolve) => {
    qbo.refreshAccessToken((err, body) => resolve({ err, body }));
  });
  assert.equal(refreshed.err, null);
  assert.notEqual(qbo.refreshToken, env.refreshToken, 'rotated');
  ok(await call(qbo, 'getCompanyInfo', env.realmA), 'after node-quickbooks refresh');
});

test('code flow for Company B gives a token for Company B only', async () => {
  const { redirect } = await consent({ company: 'Company B' });
  assert.equal(redirect.searchParams.get('realmId'), env.realmB);
  assert.notEqual(env.realmA, env.realmB);
  const client = oauthClient();
  const token = (await client.createToken(redirect.toString())).getJson();
  const company = ok(await companyName(token.access_token, env.realmB), 'getCompanyInfo B');
  assert.equal(company.CompanyName, 'Company B');
  const other = await companyName(token.access_token, env.realmA);
  assertGatewayFault(other.status, other.body, '3100', 'Company B token on Company A');
});

test('Cancel redirects with error=access_denied and the state', async () => {
  const { redirect, state } = await consent({ button: 'Cancel' });
  assert.equal(`${redirect.origin}${redirect.pathname}`, env.redirectUri);
  assert.equal(redirect.searchParams.get('error'), 'access_denied');
  assert.equal(redirect.searchParams.get('state'), state);
  assert.equal(redirect.searchParams.get('code'), null);
});

test('unknown client or unregistered redirect URI: an error page, no redirect', async () => {
  for (const [clientId, redirectUri] of [
    ['no-such-client', env.redirectUri],
    [env.clientId, 'http://127.0.0.1:5000/somewhere/else'],
  ]) {
    const url = new URL(discovery.authorization_endpoint);
    url.search = new URLSearchParams({
      client_id: clientId, response_type: 'code', scope: SCOPE, redirect_uri: redirectUri, state: 'x',
    }).toString();
    const response = await fetch(url, { redirect: 'manual' });
    await response.text();
    assert.ok(response.status >= 400 && response.status < 500, `${clientId} ${redirectUri} -> ${response.status}`);
    assert.equal(response.headers.get('location'), null);
  }
});

test('token endpoint: a redirect_uri other than the one of the code is invalid_grant', async () => {
  const { redirect } = await consent();
  const client = oauthClient();
  client.redirectUri = 'http://127.0.0.1:5000/another/callback';
  const refused = await tokenError(client.createToken(redirect.toString()));
  assert.equal(refused.status, 400);
  assert.equal(refused.error, 'invalid_grant');
});

test('token endpoint: wrong client secret is invalid_client (401)', async () => {
  const { redirect } = await consent();
  const refused = await tokenError(oauthClient({ clientSecret: 'wrong-secret' }).createToken(redirect.toString()));
  assert.equal(refused.status, 401);
  assert.equal(refused.error, 'invalid_client');
});

test('refresh rotates the refresh token; an old one is refused once its successor was used', async () => {
  const { redirect } = await consent();
  const client = oauthClient();
  const first = (await client.createToken(redirect.toString())).getJson();
  const r0 = first.refresh_token;

  const second = (await client.refreshUsingToken(r0)).getJson();
  const r1 = second.refresh_token;
  assert.ok(second.access_token && second.access_token !== first.access_token, 'new access token');
  assert.ok(r1 && r1 !== r0, 'refresh returns a new refresh token');
  assert.equal(second.expires_in, 3600);
  assert.equal(second.x_refresh_token_expires_in, 8726400);

  // use the successor through intuit-oauth's refresh(), then through node-quickbooks
  const third = (await client.refresh()).getJson();
  const r2 = third.refresh_token;
  assert.ok(r2 && r2 !== r1);

  const qbo = qbClient(third.access_token, env.realmA, r2);
  const refreshed = await new Promise((resolve) => {
    qbo.refreshAccessToken((err, body) => resolve({ err, body }));
  });
  assert.equal(refreshed.err, null, `node-quickbooks refreshAccessToken: ${refreshed.err && JSON.stringify(refreshed.err.response && refreshed.err.response.data)}`);
  const r3 = refreshed.body.refresh_token;
  assert.ok(r3 && r3 !== r2);
  assert.equal(qbo.refreshToken, r3);
  assert.equal(qbo.token, refreshed.body.access_token);
  const company = ok(await call(qbo, 'getCompanyInfo', env.realmA), 'getCompanyInfo after refresh');
  assert.equal(company.CompanyName, 'Company A');

  // r0 and r1 are refused: their successors (r1, r2) have been used
  for (const [label, stale] of [['r0', r0], ['r1', r1]]) {
    const refused = await tokenError(oauthClient().refreshUsingToken(stale));
    assert.equal(refused.status, 400, `refresh token ${label} after its successor was used`);
    assert.equal(refused.error, 'invalid_grant', label);
  }
  // the newest one works; once it has been used, r2 is refused too
  const fourth = (await oauthClient().refreshUsingToken(r3)).getJson();
  assert.ok(fourth.access_token && fourth.refresh_token !== r3);
  const refused = await tokenError(oauthClient().refreshUsingToken(r2));
  assert.equal(refused.status, 400, 'refresh token r2 after r3 was used');
  assert.equal(refused.error, 'invalid_grant');
});

test('revoke with intuit-oauth (JSON body) cuts off the refresh token and its access tokens', async () => {
  const { redirect } = await consent();
  const client = oauthClient();
  const token = (await client.createToken(redirect.toString())).getJson();
  ok(await companyName(token.access_token, env.realmA), 'works before revoke');

  const revoked = await client.revoke({ refresh_token: token.refresh_token });
  assert.equal(revoked.status(), 200);
  assert.ok(header(revoked.headers(), 'intuit_tid'), 'revoke response has intuit_tid');

  const after = await companyName(token.access_token, env.realmA);
  assertGatewayFault(after.status, after.body, '3200', 'access token of a revoked grant');
  const refused = await tokenError(oauthClient().refreshUsingToken(token.refresh_token));
  assert.equal(refused.status, 400);
  assert.equal(refused.error, 'invalid_grant');
});

test('revoke with node-quickbooks revokeAccess (form body) works too', async () => {
  const { redirect } = await consent();
  const token = (await oauthClient().createToken(redirect.toString())).getJson();
  const qbo = qbClient(token.access_token, env.realmA, token.refresh_token);
  const result = await new Promise((resolve) => {
    qbo.revokeAccess(true, (err, res) => resolve({ err, res }));
  });
  assert.equal(result.err, null, `revokeAccess: ${result.err && result.err.response && result.err.response.status} ${JSON.stringify(result.err && result.err.response && result.err.response.data)}`);
  assert.equal(result.res.status, 200);
  assert.equal(qbo.refreshToken, null);

  const after = await companyName(token.access_token, env.realmA);
  assertGatewayFault(after.status, after.body, '3200', 'access token after revokeAccess');
  const refused = await tokenError(oauthClient().refreshUsingToken(token.refresh_token));
  assert.equal(refused.error, 'invalid_grant');
});
