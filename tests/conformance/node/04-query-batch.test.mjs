// Query language as node-quickbooks writes it (lower-case keywords and entity, GET), paging
// with limit/offset and fetchAll, count, escapes and query faults; batch; requestid replay.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import {
  env, connect, qbClient, call, ok, assertFault, unique, pacedFetch, stats, injectFault,
} from './helpers.mjs';

let qbo;
let accessToken;
let prefix;
const names = [];

before(async () => {
  const { token } = await connect('Company A');
  accessToken = token.access_token;
  qbo = qbClient(token.access_token, env.realmA, token.refresh_token);
  prefix = `Pg${env.runId}${process.pid % 10000}`;
  for (let i = 1; i <= 7; i += 1) {
    const name = `${prefix} ${String(i).padStart(2, '0')}`;
    ok(await call(qbo, 'createCustomer', { DisplayName: name }), `create ${name}`);
    names.push(name);
  }
});

function likePrefix() {
  return { field: 'DisplayName', value: `${prefix}%`, operator: 'LIKE' };
}

test('query: every find* of node-quickbooks works (it writes lower-case entity names: select * from customer)', async () => {
  const finders = [
    ['findCustomers', 'Customer'], ['findItems', 'Item'], ['findInvoices', 'Invoice'],
    ['findPayments', 'Payment'], ['findAccounts', 'Account'], ['findPaymentMethods', 'PaymentMethod'],
    ['findVendors', 'Vendor'], ['findEmployees', 'Employee'], ['findCreditMemos', 'CreditMemo'],
  ];
  const failures = [];
  for (const [method, key] of finders) {
    const outcome = await call(qbo, method, { Id: '987654321' });
    if (!outcome.ok) {
      failures.push(`${method}: HTTP ${outcome.status} ${JSON.stringify(outcome.body)}`);
    } else {
      assert.equal(outcome.data.QueryResponse[key], undefined, `${method} by a missing Id`);
    }
  }
  assert.deepEqual(failures, []);
});

test('seeded company: chart of accounts, payment methods, a vendor and an employee', async () => {
  const accounts = ok(await call(qbo, 'findAccounts'), 'findAccounts').QueryResponse.Account;
  const subTypes = accounts.map((a) => a.AccountSubType);
  for (const subType of ['AccountsReceivable', 'UndepositedFunds', 'Checking']) {
    assert.ok(subTypes.includes(subType), `account sub-type ${subType} in ${subTypes.join(', ')}`);
  }
  assert.ok(accounts.some((a) => a.AccountType === 'Income'), 'an income account');
  const methods = ok(await call(qbo, 'findPaymentMethods'), 'findPaymentMethods').QueryResponse.PaymentMethod.map((m) => m.Name);
  for (const name of ['Cash', 'Check', 'Visa', 'MasterCard', 'American Express', 'Discover']) {
    assert.ok(methods.includes(name), `payment method ${name} in ${methods.join(', ')}`);
  }
  assert.ok(ok(await call(qbo, 'findVendors'), 'findVendors').QueryResponse.Vendor.length >= 1);
  assert.ok(ok(await call(qbo, 'findEmployees'), 'findEmployees').QueryResponse.Employee.length >= 1);
});

test('query paging: limit/offset map to maxresults/startposition, past the end is empty', async () => {
  const pages = [];
  for (const offset of [1, 4, 7]) {
    const data = ok(await call(qbo, 'findCustomers', [
      likePrefix(), { field: 'limit', value: 3 }, { field: 'offset', value: offset }, { field: 'asc', value: 'DisplayName' },
    ]), `page at ${offset}`);
    const rows = data.QueryResponse.Customer || [];
    assert.equal(data.QueryResponse.startPosition, offset);
    assert.equal(data.QueryResponse.maxResults, rows.length);
    pages.push(rows.map((c) => c.DisplayName));
  }
  assert.deepEqual(pages, [names.slice(0, 3), names.slice(3, 6), names.slice(6)]);

  const beyond = ok(await call(qbo, 'findCustomers', [likePrefix(), { field: 'limit', value: 3 }, { field: 'offset', value: 10 }]), 'page past the end');
  assert.deepEqual(beyond.QueryResponse, {}, 'paging past the end gives an empty QueryResponse {}');

  const desc = ok(await call(qbo, 'findCustomers', [likePrefix(), { field: 'desc', value: 'DisplayName' }, { field: 'limit', value: 2 }]), 'desc order');
  assert.deepEqual(desc.QueryResponse.Customer.map((c) => c.DisplayName), [names[6], names[5]]);
});

test('query: fetchAll walks the pages until a short one', async () => {
  const data = ok(await call(qbo, 'findCustomers', [
    likePrefix(), { field: 'fetchAll', value: true }, { field: 'limit', value: 3 }, { field: 'asc', value: 'DisplayName' },
  ]), 'fetchAll');
  assert.deepEqual(data.QueryResponse.Customer.map((c) => c.DisplayName), names);
  assert.equal(data.QueryResponse.maxResults, 7);
});

test('query: count(*) gives totalCount', async () => {
  const data = ok(await call(qbo, 'findCustomers', [likePrefix(), { count: true }]), 'count');
  assert.deepEqual(data.QueryResponse, { totalCount: 7 });
  const one = ok(await call(qbo, 'findCustomers', { DisplayName: names[0], count: true }), 'count by name');
  assert.equal(one.QueryResponse.totalCount, 1);
});

test('query: IN, equality and a backslash-escaped apostrophe', async () => {
  const inList = ok(await call(qbo, 'findCustomers', { DisplayName: [names[1], names[4], 'nobody at all'] }), 'IN');
  assert.deepEqual(inList.QueryResponse.Customer.map((c) => c.DisplayName).sort(), [names[1], names[4]]);
  const odd = unique("O'Brien & Sons");
  const created = ok(await call(qbo, 'createCustomer', { DisplayName: odd }), 'create with apostrophe');
  const found = ok(await call(qbo, 'findCustomers', { DisplayName: odd }), 'find with apostrophe');
  assert.equal(found.QueryResponse.Customer.length, 1);
  assert.equal(found.QueryResponse.Customer[0].Id, created.Id);
});

test('query: MetaData.LastUpdatedTime filter, and MAXRESULTS defaults to 100', async () => {
  const first = ok(await call(qbo, 'findCustomers', { DisplayName: names[0] }), 'first').QueryResponse.Customer[0];
  const since = ok(await call(qbo, 'findCustomers', [
    likePrefix(), { field: 'MetaData.LastUpdatedTime', value: first.MetaData.LastUpdatedTime, operator: '>=' }, { count: true },
  ]), 'LastUpdatedTime >=');
  assert.equal(since.QueryResponse.totalCount, 7);
  const later = ok(await call(qbo, 'findCustomers', [
    likePrefix(), { field: 'MetaData.LastUpdatedTime', value: '2999-01-01T00:00:00-08:00', operator: '>' },
  ]), 'LastUpdatedTime in the future');
  assert.deepEqual(later.QueryResponse, {});

  const many = `Many${env.runId}${process.pid % 10000}`;
  for (let chunk = 0; chunk < 4; chunk += 1) {
    const items = Array.from({ length: 30 }, (_, i) => ({ bId: `m${i}`, operation: 'create', Customer: { DisplayName: `${many} ${chunk * 30 + i}` } }));
    const result = ok(await call(qbo, 'batch', items), `batch ${chunk}`);
    assert.ok(result.BatchItemResponse.every((r) => r.Customer), JSON.stringify(result).slice(0, 300));
  }
  // a string criterion: node-quickbooks adds no startposition/maxresults of its own
  const page = ok(await call(qbo, 'findCustomers', `where DisplayName LIKE '${many}%'`), 'no MAXRESULTS');
  assert.equal(page.QueryResponse.Customer.length, 100);
  assert.equal(page.QueryResponse.maxResults, 100);
  assert.equal(page.QueryResponse.startPosition, 1);
});

test('query: minorversion below 75 is accepted and answered as 75', async () => {
  const old = qbClient(accessToken, env.realmA, null, 40);
  const data = ok(await call(old, 'findCustomers', { DisplayName: names[0] }), 'minorversion=40');
  assert.equal(data.QueryResponse.Customer[0].DisplayName, names[0]);
});

test('query faults: parse error 4000, STARTPOSITION 0 is 4001, OR is refused', async () => {
  assertFault(await call(qbo, 'findCustomers', 'wherever DisplayName = 1'), 400, '4000', 'select * from customer wherever ...');
  assertFault(await call(qbo, 'findCustomers', 'startposition 0 maxresults 10'), 400, '4001', 'startposition 0');
  assertFault(await call(qbo, 'findCustomers', "where DisplayName = 'a' or DisplayName = 'b'"), 400, '4000', 'OR');
});

test('query faults: filtering on a property that does not exist is a 400, not an empty set (notes §1.4)', async () => {
  const unknown = await call(qbo, 'findCustomers', "where NoSuchProperty = 'a'");
  assert.equal(unknown.status, 400, `where NoSuchProperty = 'a': ${unknown.status} ${JSON.stringify(unknown.body)}`);
  assert.ok(['4000', '4001'].includes(unknown.body?.Fault?.Error?.[0]?.code), JSON.stringify(unknown.body));
});

test('batch: per-item results, per-item faults, no visibility of creations in the same batch', async () => {
  const existing = ok(await call(qbo, 'createCustomer', { DisplayName: unique('Batch Old') }), 'create');
  ok(await call(qbo, 'updateCustomer', { Id: existing.Id, SyncToken: '0', CompanyName: 'x' }), 'bump SyncToken');
  const fresh = unique('Batch New');
  const outcome = await call(qbo, 'batch', [
    { bId: 'c1', operation: 'create', Customer: { DisplayName: fresh } },
    { bId: 'q1', Query: `select * from Customer where DisplayName = '${fresh}'` },
    { bId: 'u1', operation: 'update', Customer: { Id: existing.Id, SyncToken: '0', sparse: true, CompanyName: 'stale' } },
    { bId: 'd1', operation: 'create', Customer: { DisplayName: existing.DisplayName } },
    { bId: 'q2', Query: `select * from Customer where DisplayName = '${existing.DisplayName}'` },
  ]);
  assert.equal(outcome.status, 200);
  const items = outcome.body.BatchItemResponse;
  assert.ok(Array.isArray(items), JSON.stringify(outcome.body));
  const byId = Object.fromEntries(items.map((i) => [i.bId, i]));
  assert.deepEqual(Object.keys(byId).sort(), ['c1', 'd1', 'q1', 'q2', 'u1']);
  assert.equal(byId.c1.Customer.DisplayName, fresh);
  assert.match(byId.c1.Customer.Id, /^\d+$/);
  assert.deepEqual(byId.q1.QueryResponse.Customer, undefined, `item q1 must not see c1's creation: ${JSON.stringify(byId.q1)}`);
  assert.equal(byId.u1.Fault.Error[0].code, '5010');
  assert.equal(byId.d1.Fault.Error[0].code, '6240');
  assert.equal(byId.q2.QueryResponse.Customer[0].Id, existing.Id);

  const now = ok(await call(qbo, 'findCustomers', { DisplayName: fresh }), 'find after batch');
  assert.equal(now.QueryResponse.Customer.length, 1);
});

test('batch: more than 30 items is refused as a whole', async () => {
  const base = unique('Batch Big');
  const items = Array.from({ length: 31 }, (_, i) => ({ bId: `b${i}`, operation: 'create', Customer: { DisplayName: `${base} ${i}` } }));
  const outcome = await call(qbo, 'batch', items);
  assert.equal(outcome.ok, false, JSON.stringify(outcome.body).slice(0, 500));
  assert.equal(outcome.status, 400);
  assert.ok(outcome.body.Fault, JSON.stringify(outcome.body).slice(0, 500));
  const count = ok(await call(qbo, 'findCustomers', [{ field: 'DisplayName', value: `${base}%`, operator: 'LIKE' }, { count: true }]), 'count');
  assert.equal(count.QueryResponse.totalCount, 0);

  const thirty = ok(await call(qbo, 'batch', items.slice(0, 30)), '30 items');
  assert.equal(thirty.BatchItemResponse.length, 30);
});

test('requestid (node-quickbooks entity.requestId): a create is replayed, not executed again', async () => {
  const requestId = `node-${env.runId}-${process.pid}-cust`;
  const name = unique('Replay Co');
  const first = await call(qbo, 'createCustomer', { DisplayName: name, requestId });
  ok(first, 'first create');
  const before = await stats(env.realmA);
  const second = await call(qbo, 'createCustomer', { DisplayName: name, requestId });
  ok(second, 'replayed create (no 6240: it is not executed again)');
  const after = await stats(env.realmA);
  assert.equal(after.executed_writes, before.executed_writes, 'stats: the replay executed no write');
  assert.equal(after.replays, before.replays + 1, 'stats: one replay');
  assert.equal(second.status, first.status);
  assert.deepEqual(second.body, first.body, 'same response, time included');
  const found = ok(await call(qbo, 'findCustomers', { DisplayName: name }), 'find');
  assert.equal(found.QueryResponse.Customer.length, 1);

  // byte for byte, seen with fetch (node-quickbooks parses the JSON)
  const url = `${env.base}/v3/company/${env.realmA}/customer?requestid=${encodeURIComponent(requestId)}&minorversion=75`;
  const raw = [];
  for (let i = 0; i < 2; i += 1) {
    const response = await pacedFetch(url, {
      method: 'POST',
      headers: { Authorization: `Bearer ${accessToken}`, 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ DisplayName: name }),
    });
    raw.push({ status: response.status, text: await response.text() });
  }
  assert.equal(raw[0].status, 200);
  assert.equal(raw[0].text, raw[1].text);
  assert.deepEqual(JSON.parse(raw[0].text), first.body);
});

test('requestid is per company: the same id on Company B executes there', async () => {
  const requestId = `node-${env.runId}-${process.pid}-percompany`;
  const nameA = unique('PerCo A');
  const a = ok(await call(qbo, 'createCustomer', { DisplayName: nameA, requestId }), 'create on A');
  const { token } = await connect('Company B');
  const qboB = qbClient(token.access_token, env.realmB);
  const nameB = unique('PerCo B');
  const b = ok(await call(qboB, 'createCustomer', { DisplayName: nameB, requestId }), 'create on B with the same requestid');
  assert.equal(b.DisplayName, nameB, 'Company B executed its own request, no replay of Company A');
  assert.equal(a.DisplayName, nameA);
});

test('requestid: a sparse update is replayed and SyncToken moves once', async () => {
  const created = ok(await call(qbo, 'createCustomer', { DisplayName: unique('Replay Upd') }), 'create');
  const requestId = `node-${env.runId}-${process.pid}-upd`;
  const a = ok(await call(qbo, 'updateCustomer', { Id: created.Id, SyncToken: '0', CompanyName: 'once', requestId }), 'update');
  const b = ok(await call(qbo, 'updateCustomer', { Id: created.Id, SyncToken: '0', CompanyName: 'once', requestId }), 'replayed update');
  assert.equal(a.SyncToken, '1');
  assert.equal(b.SyncToken, '1');
  assert.equal(ok(await call(qbo, 'getCustomer', created.Id), 'read').SyncToken, '1');
});

test('requestid on a batch (fetch: node-quickbooks batch() cannot send one) is replayed', async () => {
  const requestId = `nb-${env.runId}${process.pid}`.slice(0, 36);
  const name = unique('Replay Batch');
  const url = `${env.base}/v3/company/${env.realmA}/batch?requestid=${encodeURIComponent(requestId)}&minorversion=75`;
  const body = JSON.stringify({ BatchItemRequest: [{ bId: 'b1', operation: 'create', Customer: { DisplayName: name } }] });
  const texts = [];
  for (let i = 0; i < 2; i += 1) {
    const response = await pacedFetch(url, {
      method: 'POST',
      headers: { Authorization: `Bearer ${accessToken}`, 'Content-Type': 'application/json', Accept: 'application/json' },
      body,
    });
    texts.push(await response.text());
    assert.equal(response.status, 200, texts[i]);
  }
  assert.equal(texts[0], texts[1]);
  assert.equal(JSON.parse(texts[0]).BatchItemResponse[0].Customer.DisplayName, name);
  const found = ok(await call(qbo, 'findCustomers', { DisplayName: name }), 'find');
  assert.equal(found.QueryResponse.Customer.length, 1);
});

test('response lost after the write committed: the retry with the same requestid gets the committed object', async () => {
  const name = unique('Lost Response');
  const requestId = `node-${env.runId}-${process.pid}-lost`;
  await injectFault(env.realmA, 'lose_response_after_write', { entity: 'Customer' });
  const before = await stats(env.realmA);
  const lost = await call(qbo, 'createCustomer', { DisplayName: name, requestId });
  assert.equal(lost.ok, false, 'the first attempt sees no response');
  assert.equal(lost.status, 0, `no HTTP response, got ${lost.status} ${JSON.stringify(lost.body)}`);
  const retry = await call(qbo, 'createCustomer', { DisplayName: name, requestId });
  const customer = ok(retry, 'retry with the same requestid');
  assert.equal(customer.DisplayName, name);
  const after = await stats(env.realmA);
  assert.equal(after.executed_writes - before.executed_writes, 1, 'exactly one write executed');
  const found = ok(await call(qbo, 'findCustomers', { DisplayName: name }), 'find');
  assert.equal(found.QueryResponse.Customer.length, 1);
  assert.equal(found.QueryResponse.Customer[0].Id, customer.Id);
});

test('connection dropped before the write: nothing stored, the retry executes once', async () => {
  const name = unique('Dropped');
  const requestId = `node-${env.runId}-${process.pid}-drop`;
  await injectFault(env.realmA, 'drop_before_write', { entity: 'Customer' });
  const dropped = await call(qbo, 'createCustomer', { DisplayName: name, requestId });
  assert.equal(dropped.status, 0, `no HTTP response, got ${dropped.status} ${JSON.stringify(dropped.body)}`);
  const none = ok(await call(qbo, 'findCustomers', { DisplayName: name }), 'find after the drop');
  assert.deepEqual(none.QueryResponse, {});
  const customer = ok(await call(qbo, 'createCustomer', { DisplayName: name, requestId }), 'retry');
  assert.equal(customer.DisplayName, name);
});

test('injected 500 and 503 reach node-quickbooks as those statuses, then service resumes', async () => {
  await injectFault(env.realmA, '503', { entity: 'Customer' });
  const unavailable = await call(qbo, 'findCustomers', { DisplayName: names[0] });
  assert.equal(unavailable.status, 503, JSON.stringify(unavailable.body));
  await injectFault(env.realmA, '500', { entity: 'Customer' });
  const broken = await call(qbo, 'getCustomer', '1');
  assert.equal(broken.status, 500, JSON.stringify(broken.body));
  const fine = ok(await call(qbo, 'findCustomers', { DisplayName: names[0] }), 'afterwards');
  assert.equal(fine.QueryResponse.Customer.length, 1);
});
