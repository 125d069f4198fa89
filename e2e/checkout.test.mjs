// Browser end-to-end test: a Checkout Session created through the service is paid in headless Chromium on the
// Stripe stand-in's hosted page, and the service publishes `payment.succeeded` for its order on NATS. The page's
// money must read exactly as Chromium's own `Intl.NumberFormat('en-US', {style: 'currency'})` writes it (symbol,
// thousands separators, the currency's decimals), in USD, JPY (no decimals) and KWD (three).
//
// Run it with ../scripts/browser-test.sh, which starts nats-server, the stand-in and the service and sets:
//   NATS_URL     the NATS the service publishes to (nats://127.0.0.1:<port>)
//   SERVICE_URL  the service's base URL (http://127.0.0.1:<port>)
//   EMULATOR_URL the Checkout emulator's base URL (its result page after Checkout)
//   CHROMIUM     optional, the browser binary (default /usr/bin/chromium, Debian's `chromium` package)
//   E2E_REQUIRE_BROWSER  optional, 1: fail instead of skipping when the browser is missing (CI)
//   E2E_TIMEOUT_MS  optional, limit of each browser step and of the whole flow up to payment.succeeded (default 30000)
// Without the browser the test is skipped, saying so.

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';

import { connect, JSONCodec } from 'nats';
import { chromium } from 'playwright-core';

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const TIMEOUT_MS = Number(process.env.E2E_TIMEOUT_MS || 30000);
const CHROMIUM_ARGS = [
  '--no-sandbox', // runs as root in CI
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  // Without these Chromium keeps calling Google services, which the offline network refuses.
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const missing = existsSync(CHROMIUM)
  ? false
  : `Chromium not found at ${CHROMIUM}: install Debian's \`chromium\` package (apt-get install chromium) ` +
    'or set CHROMIUM to a Chromium binary; scripts/browser-test.sh installs it when run as root';
// CI sets E2E_REQUIRE_BROWSER=1: there a missing browser fails the test instead of skipping it.
const required = /^(1|true|yes)$/i.test(process.env.E2E_REQUIRE_BROWSER ?? '');
const skip = required ? false : missing;

function requiredEnv(name) {
  const value = process.env[name];
  assert.ok(value, `${name} is not set: run this test with scripts/browser-test.sh`);
  return value.replace(/\/+$/, '');
}

/** The first message on `sub` whose JSON body satisfies `match`, or a rejection after `ms`. */
function firstMatching(sub, match, ms, what) {
  const codec = JSONCodec();
  const seen = [];
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms; received: ${JSON.stringify(seen)}`)), ms);
  });
  const found = (async () => {
    for await (const msg of sub) {
      const body = codec.decode(msg.data);
      seen.push(body);
      if (match(body)) return { body, headers: msg.headers };
    }
    throw new Error(`subscription closed before ${what}; received: ${JSON.stringify(seen)}`);
  })();
  return Promise.race([found, timeout]).finally(() => clearTimeout(timer));
}

/** `amount` (major units) of `currency` as Chromium's Intl writes it: the reference the page must match. */
function intl(page, amount, currency) {
  return page.evaluate(([a, c]) => new Intl.NumberFormat('en-US', { style: 'currency', currency: c }).format(a),
    [amount, currency]);
}

async function createSession(serviceUrl, body) {
  const created = await fetch(`${serviceUrl}/payments/create-session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  const session = await created.json();
  assert.equal(created.status, 200, `create-session answered ${created.status}: ${JSON.stringify(session)}`);
  return session;
}

test('Checkout pages format money per currency as Intl does (no decimals in JPY, three in KWD)',
  { skip, timeout: 3 * TIMEOUT_MS }, async (t) => {
    assert.ok(!missing, `${missing} (E2E_REQUIRE_BROWSER is set, so this fails instead of skipping)`);
    const serviceUrl = requiredEnv('SERVICE_URL');
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    t.after(() => browser.close());
    const page = await browser.newPage();
    page.setDefaultTimeout(TIMEOUT_MS);
    const cases = [
      { currency: 'jpy', price: 123456, quantity: 2, unit: '¥123,456', total: '¥246,912' },
      { currency: 'kwd', price: 1234.56, quantity: 2, unit: null, total: null },
      { currency: 'eur', price: 1999.9, quantity: 3, unit: '€1,999.90', total: '€5,999.70' },
    ];
    for (const c of cases) {
      const session = await createSession(serviceUrl, {
        orderId: randomUUID(), currency: c.currency, items: [{ name: 'Thing', price: c.price, quantity: c.quantity }],
      });
      await page.goto(session.url);
      const code = c.currency.toUpperCase();
      const cells = await page.locator('#line-items tbody td').allTextContents();
      const total = (await page.locator('#total').textContent()).trim();
      assert.deepEqual(cells.slice(2).map((s) => s.trim()),
        [await intl(page, c.price, code), await intl(page, c.price * c.quantity, code)], `${code} line`);
      assert.equal(total, await intl(page, c.price * c.quantity, code), `${code} total`);
      if (c.total) assert.equal(total, c.total);
      if (c.unit) assert.equal(cells[2].trim(), c.unit);
      t.diagnostic(`${code}: ${cells.slice(2).join(' / ')}, total ${total}`);
    }
  });

test('Checkout paid in Chromium publishes payment.succeeded on NATS', { skip, timeout: 3 * TIMEOUT_MS }, async (t) => {
  assert.ok(!missing, `${missing} (E2E_REQUIRE_BROWSER is set, so this fails instead of skipping)`);
  const natsUrl = requiredEnv('NATS_URL');
  const serviceUrl = requiredEnv('SERVICE_URL');
  const orderId = randomUUID();

  // 1. Listen first, so the outcome cannot be published before we subscribe.
  const nc = await connect({ servers: natsUrl, name: 'payments-e2e' });
  t.after(() => nc.close());
  const sub = nc.subscribe('payment.succeeded');
  await nc.flush(); // the server has registered the subscription
  const succeeded = firstMatching(sub, (body) => body?.orderId === orderId, TIMEOUT_MS,
    `payment.succeeded for order ${orderId}`);
  succeeded.catch(() => {}); // awaited below; avoid an unhandled rejection if an earlier step fails

  // 2. Create the session through the service.
  const created = await fetch(`${serviceUrl}/payments/create-session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      orderId,
      currency: 'usd',
      items: [{ name: 'T-Shirt', price: 20.5, quantity: 2 }],
    }),
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  const session = await created.json();
  assert.equal(created.status, 200, `create-session answered ${created.status}: ${JSON.stringify(session)}`);
  assert.match(session.sessionId, /^cs_/);
  assert.ok(session.url, `no url in ${JSON.stringify(session)}`);
  assert.ok(session.successUrl, `no successUrl in ${JSON.stringify(session)}`);

  // 3. The hosted Checkout page in headless Chromium.
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  t.after(() => browser.close());
  const page = await browser.newPage();
  page.setDefaultTimeout(TIMEOUT_MS);
  page.on('pageerror', (error) => t.diagnostic(`page error: ${error.message}`));

  const opened = await page.goto(session.url);
  assert.equal(opened.status(), 200, `${session.url} answered ${opened.status()}`);
  const rows = await page.locator('#line-items tbody tr').evaluateAll((trs) =>
    trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent.trim())));
  assert.deepEqual(rows, [['T-Shirt', '2', await intl(page, 20.5, 'USD'), await intl(page, 41, 'USD')]]);
  assert.deepEqual(rows[0].slice(2), ['$20.50', '$41.00']);
  assert.equal((await page.locator('#total').textContent()).trim(), await intl(page, 41, 'USD'));
  assert.equal(await page.locator('#state').getAttribute('data-status'), 'open');

  const shots = await mkdtemp(join(tmpdir(), 'payments-e2e-'));
  const screenshot = join(shots, 'checkout.png');
  await page.screenshot({ path: screenshot, fullPage: true });
  t.diagnostic(`screenshot of the Checkout page: ${screenshot}`);

  // 4. Pay by card: the stand-in answers 303 to the session's success_url, the service's success page.
  await Promise.all([page.waitForURL(session.successUrl), page.click('#pay-card')]);
  assert.equal(page.url(), session.successUrl);
  const shown = await page.locator('body').innerText();
  assert.match(shown, /Payment successful/, `success page shows: ${shown}`);

  // The emulator's result page (where scripts/run.sh sends the customer) reads as a page, not JSON.
  const result = `${requiredEnv('EMULATOR_URL')}/checkout/${session.sessionId}/result`;
  assert.equal((await page.goto(result)).status(), 200, result);
  assert.equal(await page.title(), 'Payment successful');
  assert.equal(await page.locator('#result').getAttribute('data-outcome'), 'paid');
  assert.equal((await page.locator('#amount').textContent()).trim(), await intl(page, 41, 'USD'));
  assert.equal((await page.locator('#order').textContent()).trim(), orderId);

  // 5. The outcome on NATS, for this order, with exactly the documented body.
  const { body, headers } = await succeeded;
  assert.deepEqual(Object.keys(body).sort(), ['orderId', 'receiptUrl', 'stripePaymentId']);
  assert.equal(body.orderId, orderId);
  assert.match(body.stripePaymentId, /^ch_\w+$/);
  assert.equal(new URL(body.receiptUrl).protocol, 'https:', `receiptUrl: ${body.receiptUrl}`);
  assert.match(headers?.get('Nats-Msg-Id') ?? '', /^succeeded\./, 'Nats-Msg-Id header');
  t.diagnostic(`payment.succeeded: ${JSON.stringify(body)}`);
});
