// Transactions through node-quickbooks: Invoice and Payment CRUD, sparse update, SyncToken
// conflict, DocNumber rules, and the balances QuickBooks keeps (invoice, customer, unapplied).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import {
  env, connect, qbClient, call, ok, assertFault, money, unique,
} from './helpers.mjs';

let qbo;
let widget;
let gadget;
let undeposited;
let checking;

function line(item, qty, unitPrice, description) {
  return {
    DetailType: 'SalesItemLineDetail',
    Amount: money(qty * unitPrice),
    Description: description,
    SalesItemLineDetail: { ItemRef: { value: item.Id }, Qty: qty, UnitPrice: unitPrice },
  };
}

async function newCustomer(prefix = 'Txn Customer') {
  return ok(await call(qbo, 'createCustomer', { DisplayName: unique(prefix) }), 'createCustomer');
}

async function customerBalance(id) {
  return money(ok(await call(qbo, 'getCustomer', id), 'getCustomer').Balance);
}

async function invoice(id) {
  return ok(await call(qbo, 'getInvoice', id), 'getInvoice');
}

before(async () => {
  const { token } = await connect('Company A');
  qbo = qbClient(token.access_token, env.realmA, token.refresh_token);
  const income = ok(await call(qbo, 'findAccounts', { AccountType: 'Income' }), 'income accounts').QueryResponse.Account[0];
  widget = ok(await call(qbo, 'createItem', {
    Name: unique('Txn Widget'), Type: 'Service', UnitPrice: 50, IncomeAccountRef: { value: income.Id },
  }), 'create widget');
  gadget = ok(await call(qbo, 'createItem', {
    Name: unique('Txn Gadget'), Type: 'NonInventory', UnitPrice: 12.5, IncomeAccountRef: { value: income.Id },
  }), 'create gadget');
  const accounts = ok(await call(qbo, 'findAccounts', [
    { field: 'Active', value: [true, false], operator: 'IN' },
  ]), 'all accounts').QueryResponse.Account;
  undeposited = accounts.find((a) => a.AccountSubType === 'UndepositedFunds');
  checking = accounts.find((a) => a.AccountSubType === 'Checking');
  assert.ok(undeposited, 'chart of accounts has Undeposited Funds');
  assert.equal(undeposited.AccountType, 'Other Current Asset');
  assert.ok(checking, 'chart of accounts has a Checking account');
  assert.ok(accounts.find((a) => a.AccountType === 'Accounts Receivable'), 'chart of accounts has A/R');
});

test('invoice: totals, appended subtotal line, CustomerRef name, DocNumber, customer balance', async () => {
  const customer = await newCustomer();
  const docNumber = unique('INV').replace(/\s+/g, '').slice(-21);
  const outcome = await call(qbo, 'createInvoice', {
    CustomerRef: { value: customer.Id },
    TxnDate: '2026-03-01',
    DocNumber: docNumber,
    TotalAmt: 1, // read-only: computed by QuickBooks, ignored on input
    Balance: 1,
    Line: [line(widget, 3, 50, 'Widgets'), line(gadget, 2, 12.5, 'Gadgets')],
  });
  const inv = ok(outcome, 'createInvoice');
  assert.match(inv.Id, /^\d+$/);
  assert.equal(inv.SyncToken, '0');
  assert.equal(inv.DocNumber, docNumber);
  assert.equal(inv.TxnDate, '2026-03-01');
  assert.equal(inv.CustomerRef.value, customer.Id);
  assert.equal(inv.CustomerRef.name, customer.DisplayName);
  assert.equal(money(inv.TotalAmt), 175);
  assert.equal(money(inv.Balance), 175);
  const itemLines = inv.Line.filter((l) => l.DetailType === 'SalesItemLineDetail');
  assert.equal(itemLines.length, 2);
  for (const l of itemLines) {
    assert.ok(l.Id, 'line Id');
    assert.ok(l.LineNum, 'line LineNum');
  }
  const subtotal = inv.Line[inv.Line.length - 1];
  assert.equal(subtotal.DetailType, 'SubTotalLineDetail', JSON.stringify(inv.Line));
  assert.equal(money(subtotal.Amount), 175);
  assert.equal(await customerBalance(customer.Id), 175);

  // TxnDate and DueDate default to the company's date
  const plain = ok(await call(qbo, 'createInvoice', { CustomerRef: { value: customer.Id }, Line: [line(widget, 1, 50)] }), 'invoice without dates');
  assert.match(plain.TxnDate, /^\d{4}-\d\d-\d\d$/);
  assert.match(plain.DueDate, /^\d{4}-\d\d-\d\d$/);
  assert.ok(plain.DueDate >= plain.TxnDate, `${plain.DueDate} >= ${plain.TxnDate}`);
});

test('invoice: CustomerRef and Line are required (2020); bad or inactive references (2500/610)', async () => {
  const customer = await newCustomer();
  assertFault(await call(qbo, 'createInvoice', { Line: [line(widget, 1, 50)] }), 400, '2020', 'invoice without CustomerRef');
  assertFault(await call(qbo, 'createInvoice', { CustomerRef: { value: customer.Id } }), 400, '2020', 'invoice without Line');
  const badRef = await call(qbo, 'createInvoice', { CustomerRef: { value: '987654321' }, Line: [line(widget, 1, 50)] });
  assert.ok(['2500', '610'].includes(badRef.body?.Fault?.Error?.[0]?.code), JSON.stringify(badRef.body));
  assertFault(badRef, 400, badRef.body.Fault.Error[0].code, 'invoice for a missing customer');
  const badItem = await call(qbo, 'createInvoice', {
    CustomerRef: { value: customer.Id }, Line: [line({ Id: '987654321' }, 1, 50)],
  });
  assert.ok(['2500', '610'].includes(badItem.body?.Fault?.Error?.[0]?.code), JSON.stringify(badItem.body));
  const inactive = await newCustomer('Inactive Buyer');
  ok(await call(qbo, 'updateCustomer', { Id: inactive.Id, SyncToken: inactive.SyncToken, Active: false }), 'inactivate');
  const onInactive = await call(qbo, 'createInvoice', { CustomerRef: { value: inactive.Id }, Line: [line(widget, 1, 50)] });
  assert.ok(['2500', '610'].includes(onInactive.body?.Fault?.Error?.[0]?.code), `invoice for an inactive customer: ${JSON.stringify(onInactive.body)}`);
  assert.equal(onInactive.status, 400);
  const income = ok(await call(qbo, 'findAccounts', { AccountType: 'Income' }), 'income').QueryResponse.Account[0];
  const retired = ok(await call(qbo, 'createItem', { Name: unique('Retired'), Type: 'Service', IncomeAccountRef: { value: income.Id } }), 'item');
  ok(await call(qbo, 'updateItem', { Id: retired.Id, SyncToken: retired.SyncToken, Active: false }), 'inactivate item');
  const onRetired = await call(qbo, 'createInvoice', { CustomerRef: { value: customer.Id }, Line: [line(retired, 1, 5)] });
  assert.ok(['2500', '610'].includes(onRetired.body?.Fault?.Error?.[0]?.code), `invoice line with an inactive item: ${JSON.stringify(onRetired.body)}`);
  assert.equal(onRetired.status, 400);
  const invoices = ok(await call(qbo, 'findInvoices', { CustomerRef: customer.Id }), 'findInvoices by CustomerRef');
  assert.equal(invoices.QueryResponse.Invoice, undefined, 'no invoice was written by the refused requests');
});

test('invoice: DocNumber numbering follows the custom-transaction-numbers preference', async () => {
  const prefs = ok(await call(qbo, 'getPreferences'), 'getPreferences');
  const ctn = prefs.SalesFormsPrefs && prefs.SalesFormsPrefs.CustomTxnNumbers;
  assert.equal(typeof ctn, 'boolean', `Preferences.SalesFormsPrefs.CustomTxnNumbers: ${JSON.stringify(prefs.SalesFormsPrefs)}`);
  const customer = await newCustomer();
  const a = ok(await call(qbo, 'createInvoice', { CustomerRef: { value: customer.Id }, Line: [line(widget, 1, 50)] }), 'no DocNumber a');
  const b = ok(await call(qbo, 'createInvoice', { CustomerRef: { value: customer.Id }, Line: [line(widget, 1, 50)] }), 'no DocNumber b');
  if (ctn) {
    assert.ok(a.DocNumber === undefined || a.DocNumber === null, `CTN on: no DocNumber generated (${a.DocNumber})`);
    assert.ok(b.DocNumber === undefined || b.DocNumber === null);
  } else {
    assert.match(a.DocNumber, /^\d+$/, 'CTN off: numbered in sequence');
    assert.equal(Number(b.DocNumber), Number(a.DocNumber) + 1);
  }
  const found = ok(await call(qbo, 'findInvoices', [{ field: 'CustomerRef', value: customer.Id }, { field: 'asc', value: 'Id' }]), 'findInvoices');
  assert.deepEqual(found.QueryResponse.Invoice.map((i) => i.Id), [a.Id, b.Id]);
});

test('customer: an open balance blocks inactivation (notes §1.5; code UNCONFIRMED)', async () => {
  const customer = await newCustomer();
  ok(await call(qbo, 'createInvoice', { CustomerRef: { value: customer.Id }, Line: [line(widget, 1, 50)] }), 'open invoice');
  const refused = await call(qbo, 'updateCustomer', { Id: customer.Id, SyncToken: customer.SyncToken, Active: false });
  assert.equal(refused.ok, false, `inactivating a customer with balance 50 must fail: ${JSON.stringify(refused.body)}`);
  assert.equal(refused.status, 400);
  assert.ok(refused.body.Fault, JSON.stringify(refused.body));
  const read = ok(await call(qbo, 'getCustomer', customer.Id), 'read');
  assert.equal(read.Active, true);
  assert.equal(money(read.Balance), 50);
});

test('invoice: DocNumber duplicate is 6140 unless allowduplicatedocnum; over 21 characters is 2050', async () => {
  const customer = await newCustomer();
  const docNumber = `D${env.runId}${process.pid % 1000}`.slice(0, 21);
  ok(await call(qbo, 'createInvoice', { CustomerRef: { value: customer.Id }, DocNumber: docNumber, Line: [line(widget, 1, 50)] }), 'first');
  const dup = await call(qbo, 'createInvoice', { CustomerRef: { value: customer.Id }, DocNumber: docNumber, Line: [line(widget, 1, 50)] });
  const error = assertFault(dup, 400, '6140', 'second invoice with the same DocNumber');
  assert.match(error.Message, /Duplicate Document Number/i);
  assert.match(`${error.Detail}`, new RegExp(docNumber));
  // node-quickbooks: entity.allowDuplicateDocNum -> include=allowduplicatedocnum
  const allowed = ok(await call(qbo, 'createInvoice', {
    CustomerRef: { value: customer.Id }, DocNumber: docNumber, Line: [line(widget, 1, 50)], allowDuplicateDocNum: true,
  }), 'duplicate with allowduplicatedocnum');
  assert.equal(allowed.DocNumber, docNumber);
  assertFault(
    await call(qbo, 'createInvoice', { CustomerRef: { value: customer.Id }, DocNumber: 'N'.repeat(22), Line: [line(widget, 1, 50)] }),
    400, '2050', 'DocNumber of 22 characters',
  );
  for (const [field, extra] of [
    ['PrivateNote', { PrivateNote: 'p'.repeat(4001) }],
    ['CustomerMemo', { CustomerMemo: { value: 'm'.repeat(1001) } }],
  ]) {
    assertFault(
      await call(qbo, 'createInvoice', { CustomerRef: { value: customer.Id }, Line: [line(widget, 1, 50)], ...extra }),
      400, '2050', `invoice ${field} too long`,
    );
  }
  assertFault(
    await call(qbo, 'createInvoice', { CustomerRef: { value: customer.Id }, Line: [line(widget, 1, 50, 'l'.repeat(4001))] }),
    400, '2050', 'invoice Line.Description of 4001 characters',
  );
  ok(await call(qbo, 'createInvoice', { CustomerRef: { value: customer.Id }, DocNumber: unique('').replace(/\W/g, '').padEnd(21, '0').slice(-21), Line: [line(widget, 1, 50)] }), 'DocNumber of 21 characters');
  // 6140 applies per transaction type: a credit memo may reuse an invoice's number
  const memo = await call(qbo, 'createCreditMemo', { CustomerRef: { value: customer.Id }, DocNumber: docNumber, Line: [line(widget, 1, 10)] });
  ok(memo, 'credit memo reusing an invoice DocNumber (unique per type)');
});

test('invoice: sparse update of a header field, stale SyncToken 5010, line replacement', async () => {
  const customer = await newCustomer();
  const inv = ok(await call(qbo, 'createInvoice', {
    CustomerRef: { value: customer.Id }, PrivateNote: 'keep', Line: [line(widget, 2, 50)],
  }), 'create');
  const sparse = ok(await call(qbo, 'updateInvoice', { Id: inv.Id, SyncToken: inv.SyncToken, CustomerMemo: { value: 'Thanks!' } }), 'sparse update');
  assert.equal(sparse.SyncToken, '1');
  assert.equal(sparse.CustomerMemo.value, 'Thanks!');
  assert.equal(sparse.PrivateNote, 'keep');
  assert.equal(money(sparse.TotalAmt), 100, 'lines kept by a sparse update without Line');

  assertFault(
    await call(qbo, 'updateInvoice', { Id: inv.Id, SyncToken: '0', PrivateNote: 'late' }),
    400, '5010', 'stale invoice update',
  );

  const replaced = ok(await call(qbo, 'updateInvoice', {
    Id: inv.Id, SyncToken: sparse.SyncToken, Line: [line(gadget, 4, 12.5)],
  }), 'replace lines');
  assert.equal(replaced.SyncToken, '2');
  assert.equal(money(replaced.TotalAmt), 50);
  assert.equal(money(replaced.Balance), 50);
  const kept = replaced.Line.filter((l) => l.DetailType === 'SalesItemLineDetail');
  assert.equal(kept.length, 1);
  assert.equal(await customerBalance(customer.Id), 50);

  // a line sent with its Id is updated in place, not added
  const changed = ok(await call(qbo, 'updateInvoice', {
    Id: inv.Id, SyncToken: replaced.SyncToken, Line: [{ ...line(gadget, 6, 12.5), Id: kept[0].Id }],
  }), 'update the line by Id');
  const lines = changed.Line.filter((l) => l.DetailType === 'SalesItemLineDetail');
  assert.equal(lines.length, 1);
  assert.equal(lines[0].Id, kept[0].Id);
  assert.equal(money(changed.TotalAmt), 75);

  // a full update must carry the required Line
  assertFault(
    await call(qbo, 'updateInvoice', { Id: inv.Id, SyncToken: changed.SyncToken, sparse: false, CustomerRef: { value: customer.Id } }),
    400, '2020', 'full update of an invoice without Line',
  );
});

test('payment: partial then full payment reduce invoice and customer balances; LinkedTxn both ways', async () => {
  const customer = await newCustomer();
  const inv = ok(await call(qbo, 'createInvoice', { CustomerRef: { value: customer.Id }, Line: [line(widget, 3, 50)] }), 'invoice');
  assert.equal(money(inv.TotalAmt), 150);

  const p1 = ok(await call(qbo, 'createPayment', {
    CustomerRef: { value: customer.Id },
    TotalAmt: 40,
    PaymentRefNum: 'CHK-1',
    Line: [{ Amount: 40, LinkedTxn: [{ TxnId: inv.Id, TxnType: 'Invoice' }] }],
  }), 'partial payment');
  assert.match(p1.Id, /^\d+$/);
  assert.equal(p1.SyncToken, '0');
  assert.equal(money(p1.TotalAmt), 40);
  assert.equal(money(p1.UnappliedAmt), 0);
  assert.equal(p1.DepositToAccountRef.value, undeposited.Id, 'no deposit account -> Undeposited Funds');
  assert.equal(p1.Line[0].LinkedTxn[0].TxnId, inv.Id);
  const readBack = ok(await call(qbo, 'getPayment', p1.Id), 'getPayment');
  assert.equal(readBack.Id, p1.Id);
  assert.equal(money(readBack.TotalAmt), 40);
  assert.equal(readBack.PaymentRefNum, 'CHK-1');
  assert.equal(readBack.CustomerRef.value, customer.Id);

  let after = await invoice(inv.Id);
  assert.equal(money(after.Balance), 110);
  assert.equal(money(after.TotalAmt), 150);
  assert.ok((after.LinkedTxn || []).some((l) => l.TxnId === p1.Id && l.TxnType === 'Payment'), JSON.stringify(after.LinkedTxn));
  assert.equal(await customerBalance(customer.Id), 110);

  const methods = ok(await call(qbo, 'findPaymentMethods', { Name: 'Visa' }), 'Visa').QueryResponse.PaymentMethod;
  assert.equal(methods.length, 1);
  const badMethod = await call(qbo, 'createPayment', {
    CustomerRef: { value: customer.Id }, TotalAmt: 1, PaymentMethodRef: { value: '987654321' },
  });
  assert.equal(badMethod.status, 400, JSON.stringify(badMethod.body));
  assert.ok(['2500', '610'].includes(badMethod.body?.Fault?.Error?.[0]?.code), JSON.stringify(badMethod.body));
  const p2 = ok(await call(qbo, 'createPayment', {
    CustomerRef: { value: customer.Id },
    TotalAmt: 110,
    PaymentMethodRef: { value: methods[0].Id },
    DepositToAccountRef: { value: checking.Id },
    Line: [{ Amount: 110, LinkedTxn: [{ TxnId: inv.Id, TxnType: 'Invoice' }] }],
  }), 'rest of the payment');
  assert.equal(p2.DepositToAccountRef.value, checking.Id);
  assert.equal(p2.PaymentMethodRef.value, methods[0].Id);
  after = await invoice(inv.Id);
  assert.equal(money(after.Balance), 0);
  assert.equal(await customerBalance(customer.Id), 0);

  // deleting a payment reopens the invoice
  const deleted = await call(qbo, 'deletePayment', { Id: p2.Id, SyncToken: p2.SyncToken });
  ok(deleted, 'deletePayment');
  assert.equal(deleted.body.Payment.status, 'Deleted');
  assert.equal(deleted.body.Payment.Id, p2.Id);
  after = await invoice(inv.Id);
  assert.equal(money(after.Balance), 110);
  assert.equal(await customerBalance(customer.Id), 110);
  assertFault(await call(qbo, 'getPayment', p2.Id), 400, '610', 'read a deleted payment');
});

test('payment: overpayment leaves UnappliedAmt and a credit on the customer', async () => {
  const customer = await newCustomer();
  const inv = ok(await call(qbo, 'createInvoice', { CustomerRef: { value: customer.Id }, Line: [line(widget, 2, 50)] }), 'invoice');
  const pay = ok(await call(qbo, 'createPayment', {
    CustomerRef: { value: customer.Id },
    TotalAmt: 120,
    Line: [{ Amount: 100, LinkedTxn: [{ TxnId: inv.Id, TxnType: 'Invoice' }] }],
  }), 'overpayment');
  assert.equal(money(pay.UnappliedAmt), 20);
  assert.equal(money((await invoice(inv.Id)).Balance), 0);
  assert.equal(await customerBalance(customer.Id), -20);

  const unapplied = ok(await call(qbo, 'createPayment', { CustomerRef: { value: customer.Id }, TotalAmt: 5 }), 'payment with no lines');
  assert.equal(money(unapplied.UnappliedAmt), 5);
  assert.equal(await customerBalance(customer.Id), -25);
});

test('payment: sparse update, stale SyncToken 5010, void restores the invoice balance', async () => {
  const customer = await newCustomer();
  const inv = ok(await call(qbo, 'createInvoice', { CustomerRef: { value: customer.Id }, Line: [line(widget, 1, 50)] }), 'invoice');
  const pay = ok(await call(qbo, 'createPayment', {
    CustomerRef: { value: customer.Id }, TotalAmt: 50,
    Line: [{ Amount: 50, LinkedTxn: [{ TxnId: inv.Id, TxnType: 'Invoice' }] }],
  }), 'payment');
  const updated = ok(await call(qbo, 'updatePayment', { Id: pay.Id, SyncToken: pay.SyncToken, PaymentRefNum: 'CHK-9', PrivateNote: 'note' }), 'sparse update');
  assert.equal(updated.SyncToken, '1');
  assert.equal(updated.PaymentRefNum, 'CHK-9');
  assert.equal(money(updated.TotalAmt), 50, 'lines and amount kept');
  assert.equal(updated.Line.length, 1);
  assert.equal(money((await invoice(inv.Id)).Balance), 0);

  assertFault(
    await call(qbo, 'updatePayment', { Id: pay.Id, SyncToken: '0', PaymentRefNum: 'late' }),
    400, '5010', 'stale payment update',
  );

  // lines are replaced all or nothing: an empty Line unapplies the payment
  const unapplied = ok(await call(qbo, 'updatePayment', { Id: pay.Id, SyncToken: updated.SyncToken, Line: [] }), 'sparse update with Line []');
  assert.equal(unapplied.SyncToken, '2');
  assert.equal(money(unapplied.UnappliedAmt), 50);
  assert.equal(money((await invoice(inv.Id)).Balance), 50);
  assert.equal(await customerBalance(customer.Id), 0, 'invoice 50 open, 50 unapplied credit');
  const reapplied = ok(await call(qbo, 'updatePayment', {
    Id: pay.Id, SyncToken: unapplied.SyncToken, Line: [{ Amount: 50, LinkedTxn: [{ TxnId: inv.Id, TxnType: 'Invoice' }] }],
  }), 'apply again');
  assert.equal(money(reapplied.UnappliedAmt), 0);
  assert.equal(money((await invoice(inv.Id)).Balance), 0);

  const voided = await call(qbo, 'voidPayment', { Id: pay.Id, SyncToken: reapplied.SyncToken });
  ok(voided, 'voidPayment (operation=update&include=void)');
  assert.equal(money((await invoice(inv.Id)).Balance), 50);
  assert.equal(await customerBalance(customer.Id), 50);
});

test('invoice: delete answers status Deleted and clears the customer balance; void zeroes it', async () => {
  const customer = await newCustomer();
  const a = ok(await call(qbo, 'createInvoice', { CustomerRef: { value: customer.Id }, Line: [line(widget, 1, 50)] }), 'invoice a');
  const b = ok(await call(qbo, 'createInvoice', { CustomerRef: { value: customer.Id }, Line: [line(gadget, 2, 12.5)] }), 'invoice b');
  assert.equal(await customerBalance(customer.Id), 75);

  const deleted = await call(qbo, 'deleteInvoice', { Id: a.Id, SyncToken: a.SyncToken });
  ok(deleted, 'deleteInvoice');
  assert.equal(deleted.body.Invoice.status, 'Deleted');
  assert.equal(deleted.body.Invoice.Id, a.Id);
  assertFault(await call(qbo, 'getInvoice', a.Id), 400, '610', 'read a deleted invoice');
  assert.equal(await customerBalance(customer.Id), 25);

  const voided = await call(qbo, 'voidInvoice', { Id: b.Id, SyncToken: b.SyncToken });
  ok(voided, 'voidInvoice');
  const afterVoid = await invoice(b.Id);
  assert.equal(money(afterVoid.Balance), 0);
  assert.equal(await customerBalance(customer.Id), 0);

  // by Id: node-quickbooks first GETs the invoice, then POSTs the whole object it read back
  const c = ok(await call(qbo, 'createInvoice', { CustomerRef: { value: customer.Id }, Line: [line(widget, 2, 50)] }), 'invoice c');
  const d = ok(await call(qbo, 'createInvoice', { CustomerRef: { value: customer.Id }, Line: [line(widget, 1, 50)] }), 'invoice d');
  assert.equal(await customerBalance(customer.Id), 150);
  const voidedById = await call(qbo, 'voidInvoice', c.Id);
  ok(voidedById, 'voidInvoice(Id) with the full object as body');
  assert.equal(money((await invoice(c.Id)).Balance), 0);
  const deletedById = await call(qbo, 'deleteInvoice', d.Id);
  ok(deletedById, 'deleteInvoice(Id) with the full object as body');
  assert.equal(deletedById.body.Invoice.status, 'Deleted');
  assert.equal(await customerBalance(customer.Id), 0);
});

test('credit memo applied to an invoice through a zero-amount payment', async () => {
  const customer = await newCustomer();
  const inv = ok(await call(qbo, 'createInvoice', { CustomerRef: { value: customer.Id }, Line: [line(widget, 2, 50)] }), 'invoice');
  const memo = ok(await call(qbo, 'createCreditMemo', { CustomerRef: { value: customer.Id }, Line: [line(widget, 1, 30)] }), 'credit memo');
  assert.equal(money(memo.TotalAmt), 30);
  assert.equal(await customerBalance(customer.Id), 70);
  ok(await call(qbo, 'createPayment', {
    CustomerRef: { value: customer.Id },
    TotalAmt: 0,
    Line: [
      { Amount: 30, LinkedTxn: [{ TxnId: inv.Id, TxnType: 'Invoice' }] },
      { Amount: 30, LinkedTxn: [{ TxnId: memo.Id, TxnType: 'CreditMemo' }] },
    ],
  }), 'zero-amount payment applying the credit');
  assert.equal(money((await invoice(inv.Id)).Balance), 70);
  const memoAfter = ok(await call(qbo, 'getCreditMemo', memo.Id), 'credit memo after');
  assert.equal(money(memoAfter.RemainingCredit), 0);
  assert.equal(await customerBalance(customer.Id), 70);
});

test('change data capture: created and deleted objects since a point in time', async () => {
  const customer = await newCustomer('CDC Customer');
  const since = new Date(Date.parse(customer.MetaData.CreateTime) - 1000);
  const inv = ok(await call(qbo, 'createInvoice', { CustomerRef: { value: customer.Id }, Line: [line(widget, 1, 50)] }), 'invoice');
  ok(await call(qbo, 'deleteInvoice', { Id: inv.Id, SyncToken: inv.SyncToken }), 'delete invoice');
  const data = ok(await call(qbo, 'changeDataCapture', ['Customer', 'Invoice'], since), 'changeDataCapture');
  const lists = data.CDCResponse[0].QueryResponse;
  const customers = lists.flatMap((q) => q.Customer || []);
  const invoices = lists.flatMap((q) => q.Invoice || []);
  assert.ok(customers.some((c) => c.Id === customer.Id), `customer ${customer.Id} in CDC`);
  const gone = invoices.find((i) => i.Id === inv.Id);
  assert.ok(gone, `deleted invoice ${inv.Id} in CDC: ${JSON.stringify(invoices)}`);
  assert.equal(gone.status, 'Deleted');
});
