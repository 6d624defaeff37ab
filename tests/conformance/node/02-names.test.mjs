// Name lists through node-quickbooks: Customer and Item CRUD, sparse and full update, SyncToken
// conflicts, DisplayName uniqueness, illegal characters and lengths.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import {
  env, connect, qbClient, call, ok, assertFault, header, unique,
} from './helpers.mjs';

let qbo;
let incomeAccount;

before(async () => {
  const { token, realmId } = await connect('Company A');
  assert.equal(realmId, env.realmA);
  qbo = qbClient(token.access_token, env.realmA, token.refresh_token);
  const accounts = ok(await call(qbo, 'findAccounts', { AccountType: 'Income' }), 'findAccounts Income');
  assert.ok(accounts.QueryResponse.Account && accounts.QueryResponse.Account.length > 0, 'income accounts exist');
  incomeAccount = accounts.QueryResponse.Account[0];
});

test('customer: create returns the full object with Id, SyncToken 0, MetaData and intuit_tid', async () => {
  const name = unique('Acme Ltd');
  const outcome = await call(qbo, 'createCustomer', {
    DisplayName: name,
    GivenName: 'Ann',
    FamilyName: 'Lee',
    CompanyName: 'Acme',
    PrimaryEmailAddr: { Address: 'ann@acme.test' },
    PrimaryPhone: { FreeFormNumber: '(555) 010-2000' },
    BillAddr: { Line1: '1 Main St', City: 'Springfield', CountrySubDivisionCode: 'CA', PostalCode: '90000' },
  });
  const customer = ok(outcome, 'createCustomer');
  assert.equal(outcome.status, 200);
  assert.ok(header(outcome.headers, 'intuit_tid'), 'intuit_tid header');
  assert.ok(outcome.body.time, 'envelope time');
  assert.match(outcome.body.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?[+-]\d\d:\d\d$/, 'time is ISO-8601 with offset');
  assert.match(customer.Id, /^\d+$/);
  assert.equal(customer.SyncToken, '0');
  assert.equal(customer.DisplayName, name);
  assert.equal(customer.FullyQualifiedName, name);
  assert.equal(customer.Active, true);
  assert.equal(customer.Balance, 0);
  assert.equal(customer.domain, 'QBO');
  assert.equal(customer.sparse, false);
  assert.equal(customer.PrimaryEmailAddr.Address, 'ann@acme.test');
  assert.equal(customer.BillAddr.City, 'Springfield');
  assert.ok(customer.MetaData && customer.MetaData.CreateTime && customer.MetaData.LastUpdatedTime);

  const read = ok(await call(qbo, 'getCustomer', customer.Id), 'getCustomer');
  assert.equal(read.Id, customer.Id);
  assert.equal(read.DisplayName, name);
  assert.equal(read.SyncToken, '0');
  assert.equal(read.PrimaryPhone.FreeFormNumber, '(555) 010-2000');
});

test('customer: DisplayName is built from the name parts when absent', async () => {
  const family = unique('Lee');
  const customer = ok(await call(qbo, 'createCustomer', { GivenName: 'Ann', FamilyName: family }), 'create without DisplayName');
  assert.ok(customer.DisplayName, 'DisplayName filled in');
  assert.ok(customer.DisplayName.includes('Ann') && customer.DisplayName.includes(family), customer.DisplayName);
});

test('customer: sparse update (node-quickbooks default) changes only the fields sent', async () => {
  const name = unique('Sparse Co');
  const created = ok(await call(qbo, 'createCustomer', {
    DisplayName: name, PrimaryEmailAddr: { Address: 'a@sparse.test' }, Notes: 'keep me',
  }), 'create');
  const updated = ok(await call(qbo, 'updateCustomer', {
    Id: created.Id, SyncToken: created.SyncToken, CompanyName: 'Sparse Company',
  }), 'sparse update');
  assert.equal(updated.SyncToken, '1');
  assert.equal(updated.CompanyName, 'Sparse Company');
  assert.equal(updated.DisplayName, name);
  assert.equal(updated.PrimaryEmailAddr.Address, 'a@sparse.test');
  assert.equal(updated.Notes, 'keep me');
  const read = ok(await call(qbo, 'getCustomer', created.Id), 'read back');
  assert.equal(read.SyncToken, '1');
  assert.equal(read.CompanyName, 'Sparse Company');
  assert.equal(read.Notes, 'keep me');
});

test('customer: full update (sparse false) clears omitted writable fields', async () => {
  const name = unique('Full Co');
  const created = ok(await call(qbo, 'createCustomer', {
    DisplayName: name, PrimaryEmailAddr: { Address: 'b@full.test' }, Notes: 'will go',
  }), 'create');
  const updated = ok(await call(qbo, 'updateCustomer', {
    Id: created.Id, SyncToken: created.SyncToken, sparse: false, DisplayName: name, CompanyName: 'Full Company',
  }), 'full update');
  assert.equal(updated.SyncToken, '1');
  assert.equal(updated.CompanyName, 'Full Company');
  assert.equal(updated.PrimaryEmailAddr, undefined, 'e-mail cleared by full update');
  assert.ok(updated.Notes === undefined || updated.Notes === '', 'Notes cleared by full update');
});

test('customer: stale SyncToken is refused with 5010 and changes nothing', async () => {
  const created = ok(await call(qbo, 'createCustomer', { DisplayName: unique('Stale Co') }), 'create');
  ok(await call(qbo, 'updateCustomer', { Id: created.Id, SyncToken: '0', CompanyName: 'first' }), 'first update');
  const stale = await call(qbo, 'updateCustomer', { Id: created.Id, SyncToken: '0', CompanyName: 'second' });
  const error = assertFault(stale, 400, '5010', 'update with SyncToken 0 after it became 1');
  assert.match(error.Message, /Stale Object/i);
  const read = ok(await call(qbo, 'getCustomer', created.Id), 'read back');
  assert.equal(read.CompanyName, 'first');
  assert.equal(read.SyncToken, '1');
});

test('customer: DisplayName must be unique (6240), inactive customers included', async () => {
  const name = unique('Dup Co');
  const first = ok(await call(qbo, 'createCustomer', { DisplayName: name }), 'create');
  const dup = await call(qbo, 'createCustomer', { DisplayName: name });
  const error = assertFault(dup, 400, '6240', 'second customer with the same DisplayName');
  assert.match(error.Message, /Duplicate Name Exists/i);

  const inactive = ok(await call(qbo, 'updateCustomer', { Id: first.Id, SyncToken: first.SyncToken, Active: false }), 'inactivate');
  assert.equal(inactive.Active, false);
  assertFault(await call(qbo, 'createCustomer', { DisplayName: name }), 400, '6240', 'name of an inactive customer');

  // renaming another customer onto the name is refused as well
  const other = ok(await call(qbo, 'createCustomer', { DisplayName: unique('Other Co') }), 'create other');
  assertFault(
    await call(qbo, 'updateCustomer', { Id: other.Id, SyncToken: other.SyncToken, DisplayName: name }),
    400, '6240', 'rename onto an existing name',
  );
});

test('customer: uniqueness ignores case and extra spaces (UNCONFIRMED in the notes: the stricter rule)', async () => {
  const name = unique('Case Co');
  ok(await call(qbo, 'createCustomer', { DisplayName: name }), 'create');
  assertFault(await call(qbo, 'createCustomer', { DisplayName: name.toUpperCase() }), 400, '6240', 'same name upper-case');
  assertFault(await call(qbo, 'createCustomer', { DisplayName: `${name.replace(' ', '  ')} ` }), 400, '6240', 'same name with extra spaces');
});

test('customer: DisplayName may not clash with a vendor or an employee (6240)', async () => {
  const vendors = ok(await call(qbo, 'findVendors'), 'findVendors');
  const vendor = vendors.QueryResponse.Vendor && vendors.QueryResponse.Vendor[0];
  assert.ok(vendor && vendor.DisplayName, 'the company has a vendor');
  assertFault(await call(qbo, 'createCustomer', { DisplayName: vendor.DisplayName }), 400, '6240', 'customer named like the vendor');

  const employees = ok(await call(qbo, 'findEmployees'), 'findEmployees');
  const employee = employees.QueryResponse.Employee && employees.QueryResponse.Employee[0];
  assert.ok(employee && employee.DisplayName, 'the company has an employee');
  assertFault(await call(qbo, 'createCustomer', { DisplayName: employee.DisplayName }), 400, '6240', 'customer named like the employee');
});

test('customer: a colon in the name is an illegal character (2040)', async () => {
  assertFault(await call(qbo, 'createCustomer', { DisplayName: unique('Parent:Child') }), 400, '2040', 'DisplayName with colon');
  const created = ok(await call(qbo, 'createCustomer', { DisplayName: unique('Colon Later') }), 'create');
  assertFault(
    await call(qbo, 'updateCustomer', { Id: created.Id, SyncToken: created.SyncToken, DisplayName: 'A:B' }),
    400, '2040', 'update to a name with colon',
  );
});

test('customer: over-long fields are refused with 2050', async () => {
  const cases = [
    ['DisplayName', { DisplayName: 'D'.repeat(501) }],
    ['GivenName', { DisplayName: unique('Len G'), GivenName: 'G'.repeat(101) }],
    ['FamilyName', { DisplayName: unique('Len F'), FamilyName: 'F'.repeat(101) }],
    ['Title', { DisplayName: unique('Len T'), Title: 'T'.repeat(17) }],
    ['Suffix', { DisplayName: unique('Len S'), Suffix: 'S'.repeat(17) }],
    ['PrimaryPhone', { DisplayName: unique('Len P'), PrimaryPhone: { FreeFormNumber: '5'.repeat(31) } }],
    ['PrimaryEmailAddr', { DisplayName: unique('Len E'), PrimaryEmailAddr: { Address: `${'e'.repeat(95)}@x.test` } }],
    ['BillAddr.PostalCode', { DisplayName: unique('Len Z'), BillAddr: { PostalCode: '9'.repeat(31) } }],
    ['Notes', { DisplayName: unique('Len N'), Notes: 'n'.repeat(2001) }],
    // CompanyName: 500 per the API reference, 50 per import tools (UNCONFIRMED): the stricter 50
    ['CompanyName', { DisplayName: unique('Len C'), CompanyName: 'c'.repeat(51) }],
  ];
  for (const [field, body] of cases) {
    assertFault(await call(qbo, 'createCustomer', body), 400, '2050', `too long ${field}`);
  }
  // exactly at the limit is fine
  const atLimit = ok(await call(qbo, 'createCustomer', {
    DisplayName: unique('L').padEnd(500, 'x'),
    GivenName: 'g'.repeat(25),
  }), 'DisplayName of 500 characters');
  assert.equal(atLimit.DisplayName.length, 500);
});

test('customer: an e-mail address must look like one; read-only Balance is ignored on input', async () => {
  const bad = await call(qbo, 'createCustomer', { DisplayName: unique('Bad Mail'), PrimaryEmailAddr: { Address: 'not-an-email' } });
  assert.equal(bad.status, 400, JSON.stringify(bad.body));
  assert.ok(bad.body.Fault, JSON.stringify(bad.body));
  const created = ok(await call(qbo, 'createCustomer', { DisplayName: unique('Read Only'), BalanceWithJobs: 999 }), 'create');
  assert.equal(created.BalanceWithJobs, 0);
  const updated = ok(await call(qbo, 'updateCustomer', { Id: created.Id, SyncToken: created.SyncToken, Balance: 999, Notes: 'x' }), 'sparse update with Balance');
  assert.equal(updated.Balance, 0, 'Balance is computed, not written');
  assert.equal(updated.Notes, 'x');
});

test('customer: inactivation hides it from the default query, Active IN (true,false) finds it', async () => {
  const name = unique('Gone Co');
  const created = ok(await call(qbo, 'createCustomer', { DisplayName: name }), 'create');
  const before = ok(await call(qbo, 'findCustomers', { DisplayName: name }), 'find active');
  assert.equal(before.QueryResponse.Customer.length, 1);
  ok(await call(qbo, 'updateCustomer', { Id: created.Id, SyncToken: created.SyncToken, Active: false }), 'inactivate');
  const after = ok(await call(qbo, 'findCustomers', { DisplayName: name }), 'find after inactivation');
  assert.equal(after.QueryResponse.Customer, undefined, JSON.stringify(after.QueryResponse));
  const all = ok(await call(qbo, 'findCustomers', [
    { field: 'DisplayName', value: name },
    { field: 'Active', value: [true, false], operator: 'IN' },
  ]), 'find with Active IN (true,false)');
  assert.equal(all.QueryResponse.Customer.length, 1);
  assert.equal(all.QueryResponse.Customer[0].Active, false);
});

test('item: create, read, sparse update, stale update, inactivate', async () => {
  const name = unique('Widget');
  const created = ok(await call(qbo, 'createItem', {
    Name: name,
    Type: 'Service',
    UnitPrice: 25,
    Description: 'A widget',
    IncomeAccountRef: { value: incomeAccount.Id },
  }), 'createItem');
  assert.match(created.Id, /^\d+$/);
  assert.equal(created.SyncToken, '0');
  assert.equal(created.Name, name);
  assert.equal(created.Type, 'Service');
  assert.equal(Number(created.UnitPrice), 25);
  assert.equal(created.IncomeAccountRef.value, incomeAccount.Id);
  assert.equal(created.Active, true);

  const read = ok(await call(qbo, 'getItem', created.Id), 'getItem');
  assert.equal(read.Name, name);

  const updated = ok(await call(qbo, 'updateItem', { Id: created.Id, SyncToken: created.SyncToken, UnitPrice: 30 }), 'sparse update');
  assert.equal(updated.SyncToken, '1');
  assert.equal(Number(updated.UnitPrice), 30);
  assert.equal(updated.Description, 'A widget');
  assert.equal(updated.IncomeAccountRef.value, incomeAccount.Id);

  assertFault(
    await call(qbo, 'updateItem', { Id: created.Id, SyncToken: '0', UnitPrice: 31 }),
    400, '5010', 'stale item update',
  );

  const inactive = ok(await call(qbo, 'updateItem', { Id: updated.Id, SyncToken: updated.SyncToken, Active: false }), 'inactivate');
  assert.equal(inactive.Active, false);
  assert.equal(inactive.SyncToken, '2');
});

test('item: duplicate Name (6240), missing IncomeAccountRef (2020), colon (2040), length (2050)', async () => {
  const name = unique('Gadget');
  ok(await call(qbo, 'createItem', { Name: name, Type: 'Service', IncomeAccountRef: { value: incomeAccount.Id } }), 'create');
  assertFault(
    await call(qbo, 'createItem', { Name: name, Type: 'Service', IncomeAccountRef: { value: incomeAccount.Id } }),
    400, '6240', 'duplicate item Name',
  );
  assertFault(
    await call(qbo, 'createItem', { Name: unique('No Account'), Type: 'Service' }),
    400, '2020', 'Service item without IncomeAccountRef',
  );
  const inventory = await call(qbo, 'createItem', { Name: unique('Stock'), Type: 'Inventory', IncomeAccountRef: { value: incomeAccount.Id } });
  assert.equal(inventory.status, 400, `Inventory item without AssetAccountRef/QtyOnHand/InvStartDate: ${JSON.stringify(inventory.body)}`);
  assert.ok(inventory.body.Fault, JSON.stringify(inventory.body));
  assertFault(
    await call(qbo, 'createItem', { Name: unique('Bad:Item'), Type: 'Service', IncomeAccountRef: { value: incomeAccount.Id } }),
    400, '2040', 'item Name with colon',
  );
  assertFault(
    await call(qbo, 'createItem', { Name: `Tab\t${unique('Item')}`, Type: 'Service', IncomeAccountRef: { value: incomeAccount.Id } }),
    400, '2040', 'item Name with a tab',
  );
  assertFault(
    await call(qbo, 'createItem', { Name: 'I'.repeat(101), Type: 'Service', IncomeAccountRef: { value: incomeAccount.Id } }),
    400, '2050', 'item Name of 101 characters',
  );
  assertFault(
    await call(qbo, 'createItem', { Name: unique('Long Sku'), Sku: 'S'.repeat(101), Type: 'Service', IncomeAccountRef: { value: incomeAccount.Id } }),
    400, '2050', 'item Sku of 101 characters',
  );
  assertFault(
    await call(qbo, 'createItem', { Name: unique('Long Desc'), Description: 'd'.repeat(4001), Type: 'Service', IncomeAccountRef: { value: incomeAccount.Id } }),
    400, '2050', 'item Description of 4001 characters',
  );
});

test('reads of missing objects answer 610 Object Not Found', async () => {
  assertFault(await call(qbo, 'getCustomer', '987654321'), 400, '610', 'GET customer/987654321');
  assertFault(await call(qbo, 'getItem', '987654321'), 400, '610', 'GET item/987654321');
});
