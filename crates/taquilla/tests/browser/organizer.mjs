// The organiser's screens. The admin signs in and visits each section. On a
// draft event it previews and creates a numbered zone by rows × seats, gets
// the API's validation message in Spanish first, and sets a row markup. Then
// it reads the sold places of each zone on the dashboard of an event with
// sales, in Spanish and in English.
//
// Environment (set by tests/api/browser.rs):
//   ADMIN_USERNAME, ADMIN_PASSWORD  a tenant admin
//   DRAFT_EVENT_ID                  a draft event of the tenant, which accepts new zones
//   SALES_EVENT_ID                  an event on sale with paid orders
//   ZONE_FIGURES                    JSON list of {name, capacity, sold, available}
//                                   of the sales event's zones, in the dashboard's order
//   TICKETS_SOLD                    tickets of the sales event's paid orders
import assert from 'node:assert/strict';
import { checkPage, pathOf, scenario, signIn } from './lib.mjs';

/** Console line Chromium logs for a response with a 4xx status. */
const CLIENT_ERROR_STATUS = /Failed to load resource: the server responded with a status of 4\d\d/;

function required(env, name) {
  const value = env[name];
  assert.ok(value, `${name} is not set`);
  return value;
}

async function textOf(locator) {
  return (await locator.innerText()).trim();
}

/** Asserts the dashboard's zone table against the expected figures. */
async function assertZoneFigures(page, zones) {
  const rows = page.locator('[data-testid=zone-row]');
  assert.equal(await rows.count(), zones.length, 'one dashboard row per zone');
  for (const [index, zone] of zones.entries()) {
    const row = rows.nth(index);
    assert.equal(await textOf(row.locator('[data-testid=zone-name]')), zone.name);
    assert.equal(await textOf(row.locator('[data-testid=zone-capacity]')), String(zone.capacity));
    assert.equal(await textOf(row.locator('[data-testid=zone-sold]')), String(zone.sold), `sold in ${zone.name}`);
    assert.equal(
      await textOf(row.locator('[data-testid=zone-available]')),
      String(zone.available),
      `available in ${zone.name}`,
    );
  }
}

scenario('organizer', async ({ browser, env, step, allowConsoleError }) => {
  const username = required(env, 'ADMIN_USERNAME');
  const password = required(env, 'ADMIN_PASSWORD');
  const draftEventId = required(env, 'DRAFT_EVENT_ID');
  const salesEventId = required(env, 'SALES_EVENT_ID');
  const zones = JSON.parse(required(env, 'ZONE_FIGURES'));
  const ticketsSold = required(env, 'TICKETS_SOLD');
  const context = await browser.newContext();

  step(`${username} signs in and lands on the organiser's dashboard`);
  const page = await signIn(context, username, password);
  assert.equal(pathOf(page), '/app/organizador');
  await page.locator('[data-testid=organizer-nav]').waitFor();

  step('every section of the organiser opens with its texts');
  for (const [testid, path] of [
    ['nav-rates', '/app/organizador/tasas'],
    ['nav-venues', '/app/organizador/recintos'],
    ['nav-events', '/app/organizador/eventos'],
    ['nav-users', '/app/organizador/usuarios'],
  ]) {
    await Promise.all([page.waitForURL(`**${path}`), page.locator(`[data-testid=${testid}]`).click()]);
    assert.equal(
      await page.locator(`[data-testid=${testid}]`).getAttribute('aria-current'),
      'page',
      `${path} marks its own link`,
    );
    await checkPage(page, path.split('/').pop());
  }

  step('the draft event page previews a numbered zone of 6 rows × 12 seats');
  await page.goto(`/app/organizador/eventos/${draftEventId}`);
  const form = page.locator('[data-testid=zone-form]');
  await form.locator('[data-testid=zone-name-input]').fill('Balcón');
  await form.locator('[data-testid=zone-kind]').selectOption('numbered');
  await form.locator('[data-testid=zone-rows]').fill('6');
  await form.locator('[data-testid=zone-seats-per-row]').fill('12');
  await form.locator('[data-testid=zone-price]').fill('25,00');
  const preview = form.locator('[data-testid=zone-preview]');
  assert.equal(await preview.locator('rect').count(), 72, 'the preview draws every seat');
  assert.equal(await preview.locator('text').count(), 6, 'the preview labels every row');
  // SVG elements have no innerText.
  assert.equal(await preview.locator('text').last().textContent(), 'F');
  assert.equal(await textOf(form.locator('[data-testid=zone-preview-total]')), '6 filas × 12 asientos = 72 puestos');
  await checkPage(page, 'zone-preview');

  step('the API rejects a zone without seats, and the page shows why in Spanish');
  await form.locator('[data-testid=zone-seats-per-row]').fill('0');
  const allowRejection = allowConsoleError(CLIENT_ERROR_STATUS);
  const rejected = page.waitForResponse((response) => response.url().endsWith(`/events/${draftEventId}/zones`));
  await form.locator('[data-testid=zone-submit]').click();
  assert.equal((await rejected).status(), 422);
  const flashError = page.locator('[data-testid=flash-error]');
  await flashError.waitFor({ state: 'visible' });
  allowRejection();
  const message = await textOf(flashError);
  assert.ok(message.length > 0, 'the error has a message');
  assert.doesNotMatch(message, /\?\?/);
  assert.doesNotMatch(message, /\b(invalid|must|field)\b/i, `the message is in Spanish: "${message}"`);
  assert.equal(await page.locator('[data-testid=zone-line]').count(), 0, 'no zone was created');

  step('with 12 seats per row the zone is created and listed');
  await form.locator('[data-testid=zone-seats-per-row]').fill('12');
  await Promise.all([page.waitForEvent('load'), form.locator('[data-testid=zone-submit]').click()]);
  assert.equal(await textOf(page.locator('[data-testid=flash-ok]')), 'Guardado.');
  const created = page.locator('[data-testid=zone-line]');
  assert.equal(await created.count(), 1);
  const line = await textOf(created.first());
  assert.ok(line.includes('Balcón'), `zone line: "${line}"`);
  assert.ok(line.includes('6 × 12'), `zone line shows the layout: "${line}"`);
  assert.ok(line.includes('72'), `zone line shows the capacity: "${line}"`);
  assert.ok(line.includes('US$ 25,00'), `zone line shows the price: "${line}"`);
  await checkPage(page, 'zone-created');

  step('the row markup form sets 10 % on every row of the new zone');
  const markup = page.locator('[data-testid=markup-form]');
  await markup.locator('[data-testid=markup-every-row]').fill('10');
  await Promise.all([page.waitForEvent('load'), markup.locator('[data-testid=markup-submit]').click()]);
  assert.equal(await textOf(page.locator('[data-testid=flash-ok]')), 'Guardado.');
  assert.equal(await textOf(page.locator('[data-testid=zone-row-markup]')), '10,00 %');

  step('the dashboard of the event with sales shows the sold places per zone');
  await page.goto(`/app/organizador?evento=${salesEventId}`);
  assert.equal(await textOf(page.locator('[data-testid=total-tickets]')), ticketsSold);
  await assertZoneFigures(page, zones);
  assert.ok((await textOf(page.locator('[data-testid=total-usd]'))).startsWith('US$ '));
  assert.ok((await textOf(page.locator('[data-testid=total-bs]'))).startsWith('Bs. '));
  const methods = page.locator('[data-testid=method-row]');
  assert.equal(await methods.count(), 1, 'every sale was paid in cash in bolívares');
  assert.equal(await textOf(methods.first().locator('[data-testid=method-name]')), 'Efectivo Bs.');
  assert.equal(await textOf(methods.first().locator('[data-testid=method-count]')), '3');
  await page.locator('[data-testid=hour-chart]').waitFor();
  await page.locator('[data-testid=heat-map]').waitFor();
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 1024, `the dashboard fits 1024 px without scrolling sideways, found ${width}px`);
  await checkPage(page, 'dashboard');

  step('the English dashboard shows the same figures');
  await Promise.all([page.waitForEvent('load'), page.locator('[data-testid=lang-en]').click()]);
  // The language link returns to the same event.
  assert.equal(new URL(page.url()).searchParams.get('evento'), salesEventId);
  assert.equal(await page.locator('html').getAttribute('lang'), 'en');
  await assertZoneFigures(page, zones);
  assert.equal(await textOf(page.locator('h1')), 'Organiser dashboard');
  await checkPage(page, 'dashboard-en');

  await context.close();
});
