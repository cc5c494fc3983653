// Two cashiers hold the same seat at once: one gets it, the other gets the
// API's Spanish message and the seat marked as taken. The winner then sells it.
//
// Environment: CASHIER_USERNAME, CASHIER_PASSWORD, CASHIER2_USERNAME,
// CASHIER2_PASSWORD, ZONE_NAME, SEAT_ROW, SEAT_NUMBER.
import assert from 'node:assert/strict';
import { checkPage, scenario } from './lib.mjs';
import { chooseCustomer, openZone, pay, seat, seatClasses, waitForSeatStatus } from './cashier-steps.mjs';

const CLIENT_ERROR_STATUS = /Failed to load resource: the server responded with a status of 409/;

/** Resolves to "hold" or "error", whichever the page shows first after a hold. */
async function outcome(page) {
  const held = page.locator('[data-testid=hold-panel]');
  const refused = page.locator('[data-testid=flash-error]');
  await Promise.race([held.waitFor({ state: 'visible' }), refused.waitFor({ state: 'visible' })]);
  return (await held.isVisible()) ? 'hold' : 'error';
}

scenario('cashier-race', async ({ browser, env, step, allowConsoleError }) => {
  const zoneName = env.ZONE_NAME || 'Platea';
  const row = env.SEAT_ROW || 'B';
  const number = Number(env.SEAT_NUMBER || 5);

  step('two cashiers open the same zone and choose the same seat');
  const first = await openZone(await browser.newContext(), env.CASHIER_USERNAME, env.CASHIER_PASSWORD, zoneName);
  const second = await openZone(await browser.newContext(), env.CASHIER2_USERNAME, env.CASHIER2_PASSWORD, zoneName);
  await seat(first, row, number).click();
  await seat(second, row, number).click();

  step('both press Apartar at once');
  const allowConflict = allowConsoleError(CLIENT_ERROR_STATUS);
  await Promise.all([
    first.locator('[data-testid=hold]').click(),
    second.locator('[data-testid=hold]').click(),
  ]);
  const results = await Promise.all([outcome(first), outcome(second)]);
  assert.deepEqual([...results].sort(), ['error', 'hold'], `outcomes: ${results}`);
  const [winner, loser] = results[0] === 'hold' ? [first, second] : [second, first];

  step('the other cashier reads the Spanish message and sees the seat taken');
  const message = await loser.locator('[data-testid=flash-error]').innerText();
  assert.match(message, /Algunos asientos ya no están disponibles/);
  assert.match(message, new RegExp(`fila ${row}, asiento ${number}`));
  assert.equal(await loser.locator('[data-testid=flash-error]').getAttribute('role'), 'alert');
  await waitForSeatStatus(loser, row, number, 'held');
  assert.ok(!(await seatClasses(loser, row, number)).includes('selected'));
  assert.equal(await loser.locator('[data-testid=hold-panel]').isVisible(), false);
  await checkPage(loser, 'race-refused');
  allowConflict();

  step('the winner sells the seat');
  await chooseCustomer(winner, {
    document: 'V-14.222.333', firstName: 'José', lastName: 'Hernández', phone: '0412-5551234',
  });
  await winner.locator('[data-testid=create-order]').click();
  await winner.locator('[data-testid=order-panel]').waitFor({ state: 'visible' });
  await pay(winner, { method: 'cash', currency: 'USD', amount: '100' });
  await winner.locator('[data-testid=open-receipt]').waitFor({ state: 'visible' });
  await waitForSeatStatus(loser, row, number, 'sold');
  await checkPage(winner, 'race-winner');
});
