// The gateway in front of the API as node-quickbooks meets it: 403 (3100) for a token used on
// another company, throttling (429 + throttle fault), 401 (3200) for bad, revoked or expired
// tokens, and recovery by refreshing. Runs last: it expires every token.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import {
  env, connect, qbClient, call, callUnpaced, ok, assertGatewayFault, header, sleep,
  waitUntilNotThrottled, expireTokens, stats, injectFault, resetThrottle, control,
} from './helpers.mjs';

let tokenA;
let tokenB;

before(async () => {
  tokenA = (await connect('Company A')).token;
  tokenB = (await connect('Company B')).token;
});

function assertThrottleFault(outcome, what) {
  const shown = `${what}: HTTP ${outcome.status} ${JSON.stringify(outcome.body)}`;
  assert.equal(outcome.status, 429, shown);
  assert.ok(header(outcome.headers, 'intuit_tid'), `${shown} (intuit_tid header)`);
  const fault = outcome.body && outcome.body.Fault;
  assert.ok(fault, `${shown} (Fault envelope)`);
  assert.equal(fault.type, 'SERVICE', shown);
  assert.equal(fault.Error[0].code, '3001', shown);
  assert.equal(fault.Error[0].Message, 'message=ThrottleExceeded; errorCode=003001; statusCode=429', shown);
}

test('403 (3100) for a Company A token used on Company B', async () => {
  const qbo = qbClient(tokenA.access_token, env.realmB);
  const outcome = await call(qbo, 'getCompanyInfo', env.realmB);
  assertGatewayFault(outcome.status, outcome.body, '3100', 'A token on B (companyinfo)');
  assert.ok(header(outcome.headers, 'intuit_tid'), 'intuit_tid on 403');
  const before = await stats(env.realmB);
  const write = await call(qbo, 'createCustomer', { DisplayName: 'Never Written' });
  assertGatewayFault(write.status, write.body, '3100', 'A token on B (create)');
  assert.equal((await stats(env.realmB)).executed_writes, before.executed_writes, 'no write on Company B');
  // and the same token still works on its own company
  const own = ok(await call(qbClient(tokenA.access_token, env.realmA), 'getCompanyInfo', env.realmA), 'A on A');
  assert.equal(own.CompanyName, 'Company A');
});

test('401 (3200) for a malformed bearer token', async () => {
  const outcome = await call(qbClient('not-a-token', env.realmA), 'findCustomers', { DisplayName: 'x' });
  assertGatewayFault(outcome.status, outcome.body, '3200', 'garbage token');
  assert.ok(header(outcome.headers, 'intuit_tid'), 'intuit_tid on 401');
});

test('throttling: more than 10 requests per second per company and app get 429 + throttle fault', async () => {
  const qbo = qbClient(tokenB.access_token, env.realmB);
  await waitUntilNotThrottled(qbo, env.realmB);
  await sleep(1500 / env.timeScale); // let the one-second window empty
  const outcomes = [];
  const started = Date.now();
  while (outcomes.length < 300) {
    const outcome = await callUnpaced(qbo, 'getCompanyInfo', env.realmB); // one at a time, no pacing
    outcomes.push(outcome);
    if (outcome.status === 429) break;
  }
  const elapsed = Date.now() - started;
  const first429 = outcomes.findIndex((o) => o.status === 429);
  assert.ok(first429 >= 0, `no 429 after ${outcomes.length} sequential requests in ${elapsed} ms`);
  assert.ok(first429 >= 10, `429 came after only ${first429} requests (the limit is 10 per second)`);
  for (const o of outcomes.slice(0, first429)) assert.equal(o.status, 200, JSON.stringify(o.body));
  assertThrottleFault(outcomes[first429], 'sequential burst');

  // another company is not affected, and Company B recovers once the window has passed
  ok(await callUnpaced(qbClient(tokenA.access_token, env.realmA), 'getCompanyInfo', env.realmA), 'Company A meanwhile');
  const recovered = await waitUntilNotThrottled(qbo, env.realmB);
  assert.equal(recovered.status, 200);
});

test('throttling: a parallel burst is throttled and counted in the stats', async () => {
  const qbo = qbClient(tokenB.access_token, env.realmB);
  await waitUntilNotThrottled(qbo, env.realmB);
  const before = await stats(env.realmB);
  let wave = [];
  const all = [];
  for (let round = 0; round < 10; round += 1) {
    wave = await Promise.all(Array.from({ length: 25 }, () => callUnpaced(qbo, 'getCompanyInfo', env.realmB)));
    all.push(...wave);
    if (wave.some((o) => o.status === 429)) break;
  }
  const throttled = all.filter((o) => o.status === 429);
  assert.ok(throttled.length > 0, `no 429 in ${all.length} parallel requests`);
  for (const o of all) assert.ok([200, 429].includes(o.status), `unexpected ${o.status} ${JSON.stringify(o.body)}`);
  assert.ok(all.filter((o) => o.status === 200).length >= 1);
  assertThrottleFault(throttled[0], 'parallel burst');

  const after = await stats(env.realmB);
  assert.ok(after.throttled - before.throttled >= throttled.length,
    `stats throttled ${before.throttled} -> ${after.throttled}, saw ${throttled.length}`);
  await waitUntilNotThrottled(qbo, env.realmB);
});

test('throttling: at most 10 requests in flight per company and app', async () => {
  const qbo = qbClient(tokenB.access_token, env.realmB);
  await waitUntilNotThrottled(qbo, env.realmB);
  await sleep(1500 / env.timeScale);
  // ten slow replies hold their slots; they are spaced so that the one-second window stays
  // below 10 requests, so only the concurrency limit can refuse the eleventh
  await injectFault(env.realmB, 'slow', { count: 10, entity: 'CompanyInfo', seconds: 3 });
  const gap = 150 / env.timeScale;
  const inFlight = [];
  for (let i = 0; i < 10; i += 1) {
    inFlight.push(callUnpaced(qbo, 'getCompanyInfo', env.realmB));
    await sleep(gap);
  }
  await sleep(gap);
  const eleventh = await callUnpaced(qbo, 'getCompanyInfo', env.realmB);
  const slow = await Promise.all(inFlight);
  slow.forEach((o, i) => assert.equal(o.status, 200, `slow request ${i + 1}: ${o.status} ${JSON.stringify(o.body)}`));
  assertThrottleFault(eleventh, 'eleventh request while ten are in flight');
  ok(await callUnpaced(qbo, 'getCompanyInfo', env.realmB), 'admitted again once they are done');
});

test('throttling: the 41st batch request within a minute gets 429 (40 per company and app)', async () => {
  const qbo = qbClient(tokenB.access_token, env.realmB);
  await waitUntilNotThrottled(qbo, env.realmB);
  // stay well under 10 requests per second so that only the batch limit can bite
  const gap = 1000 / (5 * env.timeScale);
  const started = Date.now();
  const outcomes = [];
  for (let i = 0; i < 41; i += 1) {
    outcomes.push(await callUnpaced(qbo, 'batch', [{ bId: 'q', Query: 'select * from Customer maxresults 1' }]));
    await sleep(gap);
  }
  const elapsedEmulated = ((Date.now() - started) * env.timeScale) / 1000;
  assert.ok(elapsedEmulated < 55, `41 batches took ${elapsedEmulated} emulated seconds; the test needs < 60`);
  outcomes.slice(0, 40).forEach((o, i) => assert.equal(o.status, 200, `batch ${i + 1}: ${o.status} ${JSON.stringify(o.body)}`));
  assertThrottleFault(outcomes[40], '41st batch request');
  // plain requests are still admitted
  ok(await call(qbo, 'getCompanyInfo', env.realmB), 'non-batch request after the batch limit');
});

test('throttling: 120 batch requests per minute per company, whatever the app', async () => {
  const apps = [{ clientId: env.clientId, clientSecret: env.clientSecret }, ...env.extraClients];
  assert.ok(apps.length >= 4, 'the pytest wrapper registers four apps');
  const clients = [];
  for (const app of apps.slice(0, 4)) {
    const { token, realmId } = await connect('Company B', app);
    assert.equal(realmId, env.realmB);
    clients.push(qbClient(token.access_token, env.realmB));
  }
  await resetThrottle();
  // each app sends 30 (31 for the first) paced batch requests: under its own 40 per minute and
  // 10 per second, so only the per-company limit of 120 per minute can refuse the 121st
  const gap = 1000 / (24 * env.timeScale);
  const started = Date.now();
  const outcomes = [];
  for (let i = 0; i < 121; i += 1) {
    outcomes.push(await callUnpaced(clients[i % 4], 'batch', [{ bId: 'q', Query: 'select * from Customer maxresults 1' }]));
    await sleep(gap);
  }
  const elapsedEmulated = ((Date.now() - started) * env.timeScale) / 1000;
  assert.ok(elapsedEmulated < 55, `121 batches took ${elapsedEmulated} emulated seconds; the test needs < 60`);
  outcomes.slice(0, 120).forEach((o, i) => assert.equal(o.status, 200, `batch ${i + 1}: ${o.status} ${JSON.stringify(o.body)}`));
  assertThrottleFault(outcomes[120], '121st batch request of the company');
});

test('401 (3200) after expire_tokens; refreshing with node-quickbooks restores access', async () => {
  const fresh = (await connect('Company A')).token;
  const qbo = qbClient(fresh.access_token, env.realmA, fresh.refresh_token);
  ok(await call(qbo, 'getCompanyInfo', env.realmA), 'works before');
  await expireTokens();
  const outcome = await call(qbo, 'getCompanyInfo', env.realmA);
  assertGatewayFault(outcome.status, outcome.body, '3200', 'expired access token');
  const before = await stats(env.realmA);
  const write = await call(qbo, 'createCustomer', { DisplayName: 'Not After Expiry' });
  assertGatewayFault(write.status, write.body, '3200', 'expired access token (write)');
  assert.equal((await stats(env.realmA)).executed_writes, before.executed_writes, 'no write with an expired token');

  const refreshed = await new Promise((resolve) => {
    qbo.refreshAccessToken((err, body) => resolve({ err, body }));
  });
  assert.equal(refreshed.err, null, `refresh after expiry: ${refreshed.err && JSON.stringify(refreshed.err.response && refreshed.err.response.data)}`);
  assert.notEqual(qbo.token, fresh.access_token);
  const company = ok(await call(qbo, 'getCompanyInfo', env.realmA), 'works after refresh');
  assert.equal(company.CompanyName, 'Company A');
  // the other tokens issued before expire_tokens are dead too
  const old = await call(qbClient(tokenA.access_token, env.realmA), 'getCompanyInfo', env.realmA);
  assertGatewayFault(old.status, old.body, '3200', 'another pre-expiry token');
});

test('expired refresh tokens (expire-tokens with refresh_tokens) are invalid_grant', async () => {
  const { token, client } = await connect('Company A');
  await control('POST', 'expire-tokens', { refresh_tokens: true });
  let refused = null;
  try {
    await client.refreshUsingToken(token.refresh_token);
  } catch (e) {
    refused = e;
  }
  assert.ok(refused, 'refresh with an expired refresh token must fail');
  assert.equal(refused.error, 'invalid_grant');
  assert.equal(refused.authResponse.response.status, 400);
});
