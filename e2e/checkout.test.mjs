// Browser end-to-end test: a Checkout Session created through the service is paid in headless Chromium on the
// Stripe stand-in's hosted page, and the service publishes `payment.succeeded` for its order on NATS.
//
// Run it with ../scripts/browser-test.sh, which starts nats-server, the stand-in and the service and sets:
//   NATS_URL     the NATS the service publishes to (nats://127.0.0.1:<port>)
//   SERVICE_URL  the service's base URL (http://127.0.0.1:<port>)
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
  assert.deepEqual(rows, [['T-Shirt', '2', '20.50 USD', '41.00 USD']]);
  assert.equal((await page.locator('#total').textContent()).trim(), '41.00 USD');
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

  // 5. The outcome on NATS, for this order, with exactly the documented body.
  const { body, headers } = await succeeded;
  assert.deepEqual(Object.keys(body).sort(), ['orderId', 'receiptUrl', 'stripePaymentId']);
  assert.equal(body.orderId, orderId);
  assert.match(body.stripePaymentId, /^ch_\w+$/);
  assert.equal(new URL(body.receiptUrl).protocol, 'https:', `receiptUrl: ${body.receiptUrl}`);
  assert.match(headers?.get('Nats-Msg-Id') ?? '', /^succeeded\./, 'Nats-Msg-Id header');
  t.diagnostic(`payment.succeeded: ${JSON.stringify(body)}`);
});
