// Steps of the cashier's sale screen shared by the cashier scenarios.
import assert from 'node:assert/strict';
import { pathOf, signIn, submitAndWaitForLoad } from './lib.mjs';

/** Milliseconds a map update from another desk may take: two polls and a margin. */
export const MAP_UPDATE_MS = 8_000;

/** Returns the locator of one seat of the map on `page`. */
export function seat(page, row, number) {
  return page.locator(`#seat-map [data-testid=seat][data-row="${row}"][data-number="${number}"]`);
}

/** Signs `username` in, opens the first event on sale and picks `zoneName`. */
export async function openZone(context, username, password, zoneName) {
  const page = await signIn(context, username, password);
  assert.equal(pathOf(page), '/app/taquilla');
  await submitAndWaitForLoad(page, page.locator('[data-testid=event-link]').first());
  assert.match(pathOf(page), /^\/app\/taquilla\/[0-9a-f-]{36}$/);
  await page.locator('[data-testid=zone-button]', { hasText: zoneName }).click();
  await page.locator('#seat-map [data-testid=seat]').first().waitFor({ state: 'visible' });
  return page;
}

/** Waits until the seat's class names include `status`. */
export async function waitForSeatStatus(page, row, number, status, timeout = MAP_UPDATE_MS) {
  await page.waitForFunction(
    ({ row, number, status }) => {
      const element = document.querySelector(
        `#seat-map [data-testid=seat][data-row="${row}"][data-number="${number}"]`,
      );
      return element !== null && element.getAttribute('class').split(' ').includes(status);
    },
    { row, number, status },
    { timeout },
  );
}

/** Returns the class names of a seat. */
export async function seatClasses(page, row, number) {
  return (await seat(page, row, number).getAttribute('class')).split(' ');
}

/** Finds the customer by document, or registers them with the quick form. */
export async function chooseCustomer(page, customer) {
  const search = page.locator('[data-testid=customer-search]');
  await search.locator('[data-testid=customer-document]').fill(customer.document);
  await search.locator('[data-testid=customer-search-submit]').click();
  const chosen = page.locator('[data-testid=customer-chosen]');
  const form = page.locator('[data-testid=customer-new]');
  await Promise.race([
    chosen.waitFor({ state: 'visible' }),
    form.waitFor({ state: 'visible' }),
  ]);
  if (await chosen.isVisible()) return;
  await form.locator('[data-testid=customer-first-name]').fill(customer.firstName);
  await form.locator('[data-testid=customer-last-name]').fill(customer.lastName);
  await form.locator('[data-testid=customer-phone]').fill(customer.phone);
  await form.locator('[data-testid=customer-save]').click();
  await chosen.waitFor({ state: 'visible' });
}

/** Fills and sends one payment line; waits until the API recorded it. */
export async function pay(page, line) {
  const form = page.locator('[data-testid=payment-form]');
  const before = await page.locator('[data-testid=payment-line]').count();
  await form.locator('[data-testid=payment-method]').selectOption(line.method);
  await form.locator('[data-testid=payment-currency]').selectOption(line.currency);
  await form.locator('[data-testid=payment-amount]').fill(line.amount);
  if (line.bank) await form.locator('[data-testid=payment-bank]').selectOption(line.bank);
  if (line.reference) await form.locator('[data-testid=payment-reference]').fill(line.reference);
  if (line.phone) await form.locator('[data-testid=payment-phone]').fill(line.phone);
  if (line.document) await form.locator('[data-testid=payment-document]').fill(line.document);
  await form.locator('[data-testid=add-payment]').click();
  await page.locator('[data-testid=payment-line]').nth(before).waitFor({ state: 'visible' });
}
