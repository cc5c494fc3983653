// The cashier's day: the X report on screen, closing the day with the Z report
// after a confirmation, the closed desk, and a sale attempt the API rejects.
//
// Environment (set by tests/api/browser.rs):
//   CASHIER_USERNAME, CASHIER_PASSWORD  a cashier who sold once today
//   ZONE_ID                             a zone on sale, for the sale attempt after Z
//   NET_BS                              the day's net total as the page shows it
//   CLOSED_UNTIL                        when the closed desk opens again, as the page shows it
import assert from 'node:assert/strict';
import { checkPage, pathOf, scenario, signIn } from './lib.mjs';

/** Console line Chromium logs for a response with a 4xx status. */
const CLIENT_ERROR_STATUS = /Failed to load resource: the server responded with a status of 4\d\d/;

function required(env, name) {
  const value = env[name];
  assert.ok(value, `${name} is not set`);
  return value;
}

/** Returns the amount cell of the report line `testid`. */
async function reportValue(page, testid) {
  return (await page.locator(`[data-testid=${testid}] td`).first().innerText()).trim();
}

scenario('day', async ({ browser, env, step, allowConsoleError }) => {
  const username = required(env, 'CASHIER_USERNAME');
  const password = required(env, 'CASHIER_PASSWORD');
  const zoneId = required(env, 'ZONE_ID');
  const netBs = required(env, 'NET_BS');
  const closedUntil = required(env, 'CLOSED_UNTIL');
  const context = await browser.newContext();

  step(`${username} opens the cash desk and reads the X report`);
  const page = await signIn(context, username, password);
  await page.goto('/app/caja');
  assert.equal(await page.locator('[data-testid=day-status]').getAttribute('data-state'), 'open');
  const xReport = page.locator('[data-testid=x-report]');
  await xReport.waitFor({ state: 'visible' });
  assert.ok((await xReport.locator('.report-title').innerText()).includes('REPORTE X'));
  assert.equal(await reportValue(page, 'report-invoices-count'), '1');
  assert.equal(await reportValue(page, 'report-credit-notes-count'), '0');
  assert.equal(await reportValue(page, 'report-net-bs'), netBs);
  assert.equal(await reportValue(page, 'report-invoices-total-bs'), netBs);
  assert.ok(
    (await reportValue(page, 'report-invoices-tax')).startsWith('Bs. '),
    'the IVA of the invoices is shown in bolívares',
  );
  const payments = page.locator('[data-testid=report-payment]');
  assert.equal(await payments.count(), 1);
  assert.ok((await payments.first().innerText()).includes('Efectivo Bs.'));
  const numbering = page.locator('[data-testid=report-series]');
  assert.equal(await numbering.count(), 1);
  assert.match(await numbering.first().innerText(), /N° 1 al 1/);
  await checkPage(page, 'x-report');

  step('the refresh reads the X report again from the API');
  const refreshed = page.waitForResponse((response) => response.url().includes('/api/v1/fiscal/reports/x'));
  await page.locator('[data-testid=x-refresh]').click();
  assert.equal((await refreshed).status(), 200);
  await page.locator('[data-testid=x-updated]').filter({ hasText: /\d/ }).waitFor();
  assert.equal(await reportValue(page, 'report-net-bs'), netBs);

  step('the print view shows the report alone on 80 mm paper');
  await page.emulateMedia({ media: 'print' });
  assert.equal(await page.locator('header.topbar').isVisible(), false, 'the top bar is not printed');
  assert.equal(await page.locator('[data-testid=z-open]').isVisible(), false, 'buttons are not printed');
  assert.equal(await xReport.isVisible(), true, 'the report is printed');
  const paperWidth = await page.locator('[data-testid=report]').evaluate((node) => node.getBoundingClientRect().width);
  assert.ok(paperWidth < 300, `the printed report is about 74 mm wide, found ${paperWidth}px`);
  await page.emulateMedia({ media: 'screen' });

  step('the Z button asks first; cancelling leaves the day open');
  await page.locator('[data-testid=z-open]').click();
  const dialog = page.locator('[data-testid=z-dialog]');
  await dialog.waitFor({ state: 'visible' });
  const warning = await page.locator('[data-testid=z-dialog-text]').innerText();
  assert.ok(warning.includes('no se puede deshacer'), `the dialog says what cannot be undone: "${warning}"`);
  await page.locator('[data-testid=z-cancel]').click();
  await dialog.waitFor({ state: 'hidden' });
  assert.equal(await page.locator('[data-testid=day-status]').getAttribute('data-state'), 'open');

  step('confirming issues the Z report and shows the closed desk');
  await page.locator('[data-testid=z-open]').click();
  await Promise.all([
    page.waitForURL(/\/app\/caja\?z=/),
    page.locator('[data-testid=z-confirm]').click(),
  ]);
  assert.equal(await page.locator('[data-testid=day-status]').getAttribute('data-state'), 'closed');
  assert.equal((await page.locator('[data-testid=closed-until]').innerText()).trim(), closedUntil);
  assert.equal(
    (await page.locator('[data-testid=flash-ok]').innerText()).trim(),
    'Jornada cerrada con el reporte Z N° 1.',
  );
  assert.equal(await page.locator('[data-testid=z-open]').count(), 0, 'a closed day has no Z button');
  const zReport = page.locator('[data-testid=z-report]');
  await zReport.waitFor({ state: 'visible' });
  assert.ok((await zReport.locator('.report-title').innerText()).includes('REPORTE Z N° 1'));
  assert.equal(await reportValue(page, 'report-invoices-count'), '1');
  assert.equal(await reportValue(page, 'report-net-bs'), netBs);
  await checkPage(page, 'z-report');

  step('after Z, a sale with the cashier session is rejected by the API');
  const allowRejection = allowConsoleError(CLIENT_ERROR_STATUS);
  const refusal = await page.evaluate(async (zone) => {
    try {
      await window.taquilla.api('POST', '/holds', { zone_id: zone, quantity: 1 });
      return null;
    } catch (error) {
      return { status: error.status, code: error.code, message: error.message };
    }
  }, zoneId);
  allowRejection();
  assert.ok(refusal, 'the hold after the Z report must be rejected');
  assert.equal(refusal.status, 409);
  assert.equal(refusal.code, 'fiscal_day_closed');
  assert.ok(refusal.message.includes('reporte Z'), `Spanish message: "${refusal.message}"`);

  await context.close();
});
