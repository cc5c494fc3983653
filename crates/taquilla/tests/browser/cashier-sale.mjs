// A cashier sells two numbered seats, paying part by Pago Móvil and the rest
// in US$ cash with change, and opens the receipt; a second cashier's open map
// shows the two seats as sold without a reload.
//
// Environment:
//   CASHIER_USERNAME, CASHIER_PASSWORD    the cashier who sells
//   CASHIER2_USERNAME, CASHIER2_PASSWORD  a second cashier of the same tenant
//   ZONE_NAME                             a numbered zone of the first event on sale
import assert from 'node:assert/strict';
import { checkPage, pathOf, scenario, submitAndWaitForLoad } from './lib.mjs';
import { chooseCustomer, openZone, pay, seat, seatClasses, waitForSeatStatus } from './cashier-steps.mjs';

/** Console line Chromium logs for an API call that returned a 4xx status. */
const CLIENT_ERROR_STATUS = /Failed to load resource: the server responded with a status of 4\d\d/;

scenario('cashier-sale', async ({ browser, env, step, allowConsoleError }) => {
  const zoneName = env.ZONE_NAME || 'Platea';

  step('a second cashier opens the same zone and keeps the map open');
  const watcher = await openZone(
    await browser.newContext(), env.CASHIER2_USERNAME, env.CASHIER2_PASSWORD, zoneName,
  );
  assert.ok((await seatClasses(watcher, 'A', 1)).includes('free'), 'seat A1 starts free');

  step('the cashier opens the sale screen and picks the zone');
  const page = await openZone(
    await browser.newContext(), env.CASHIER_USERNAME, env.CASHIER_PASSWORD, zoneName,
  );
  await page.locator('[data-testid=seat-legend]').waitFor({ state: 'visible' });
  const seats = await page.locator('#seat-map [data-testid=seat]').count();
  assert.ok(seats > 100, `the demo zone has many seats (found ${seats})`);

  step('seat A1 by click, seat A2 by keyboard (ArrowRight, Space)');
  await seat(page, 'A', 1).click();
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('Space');
  assert.ok((await seatClasses(page, 'A', 1)).includes('selected'));
  assert.ok((await seatClasses(page, 'A', 2)).includes('selected'));
  const selection = await page.locator('[data-testid=selection]').innerText();
  assert.match(selection, /Fila A, asiento 1/);
  assert.match(selection, /Fila A, asiento 2/);
  await checkPage(page, 'seat-map');

  step('hold the two seats; the countdown runs');
  await page.locator('[data-testid=hold]').click();
  await page.locator('[data-testid=hold-panel]').waitFor({ state: 'visible' });
  assert.match(await page.locator('[data-testid=hold-countdown]').innerText(), /Vence en \d+:\d\d/);
  assert.ok((await seatClasses(page, 'A', 1)).includes('mine'));
  await waitForSeatStatus(watcher, 'A', 1, 'held');

  step('the quick customer form shows the API message next to a wrong e-mail');
  const allowRejected = allowConsoleError(CLIENT_ERROR_STATUS);
  const search = page.locator('[data-testid=customer-search]');
  await search.locator('[data-testid=customer-document]').fill('V-20.111.222');
  await search.locator('[data-testid=customer-search-submit]').click();
  const form = page.locator('[data-testid=customer-new]');
  await form.waitFor({ state: 'visible' });
  await form.locator('[data-testid=customer-first-name]').fill('María');
  await form.locator('[data-testid=customer-last-name]').fill('Pérez');
  await form.locator('[data-testid=customer-email]').fill('no-es-un-correo');
  await form.locator('[data-testid=customer-save]').click();
  const emailError = form.locator('[data-field-error=email]');
  await emailError.waitFor({ state: 'visible' });
  assert.match(await emailError.innerText(), /correo|email/i);
  allowRejected();
  await form.locator('[data-testid=customer-email]').fill('');
  await chooseCustomer(page, {
    document: 'V-20.111.222', firstName: 'María', lastName: 'Pérez', phone: '0414-1234567',
  });
  assert.match(await page.locator('[data-testid=customer-chosen]').innerText(), /María Pérez/);

  step('the order shows the API totals and the rate');
  await page.locator('[data-testid=create-order]').click();
  await page.locator('[data-testid=order-panel]').waitFor({ state: 'visible' });
  assert.match(await page.locator('[data-testid=order-rate]').innerText(), /Bs\. [\d.,]+ por US\$/);
  const totals = await page.locator('[data-testid=order-totals]').innerText();
  assert.match(totals, /Total a pagar/);
  assert.match(totals, /US\$ 104,40/, `two seats of US$ 45,00 plus IVA 16 %: ${totals}`);
  assert.match(await page.locator('[data-testid=order-due]').innerText(), /Falta por pagar: Bs\. [\d.,]+/);

  step('a mistyped amount is refused in the page, not guessed');
  const paymentForm = page.locator('[data-testid=payment-form]');
  await paymentForm.locator('[data-testid=payment-method]').selectOption('cash');
  await paymentForm.locator('[data-testid=payment-currency]').selectOption('USD');
  await paymentForm.locator('[data-testid=payment-amount]').fill('1.000,5,3');
  await paymentForm.locator('[data-testid=add-payment]').click();
  const amountError = paymentForm.locator('[data-field-error=amount_cents]');
  await amountError.waitFor({ state: 'visible' });
  assert.match(await amountError.innerText(), /Escriba un monto/);
  assert.equal(await page.locator('[data-testid=payment-line]').count(), 0);

  step('part by Pago Móvil in Bs.');
  await pay(page, {
    method: 'pago_movil', currency: 'VES', amount: '1.000,00', bank: '0102',
    reference: '123456', phone: '0414-7654321', document: 'V-12.345.678',
  });
  assert.match(await page.locator('[data-testid=payment-line]').first().innerText(), /Pago Móvil/);
  assert.match(await page.locator('[data-testid=order-due]').innerText(), /Falta por pagar/);

  step('a reload brings back the order with its payment');
  await page.reload();
  const resumed = page.locator('[data-testid=flash-ok]');
  await resumed.waitFor({ state: 'visible' });
  assert.match(await resumed.innerText(), /Se recuperó la venta en curso/);
  await page.locator('[data-testid=order-panel]').waitFor({ state: 'visible' });
  assert.equal(await page.locator('[data-testid=payment-line]').count(), 1);
  assert.match(await page.locator('[data-testid=payment-line]').first().innerText(), /Pago Móvil/);
  assert.match(await page.locator('[data-testid=customer-chosen]').innerText(), /María Pérez/);
  assert.match(await page.locator('[data-testid=hold-countdown]').innerText(), /Vence en \d+:\d\d/);
  await waitForSeatStatus(page, 'A', 1, 'mine');

  step('the rest in US$ cash, with change');
  await pay(page, { method: 'cash', currency: 'USD', amount: '120' });
  const done = page.locator('[data-testid=flash-ok]');
  await done.waitFor({ state: 'visible' });
  const doneText = await done.innerText();
  assert.match(doneText, /Venta completada\. Entregue el vuelto: US\$ \d+,\d\d/, doneText);
  assert.match(await page.locator('[data-testid=payment-line]').nth(1).innerText(), /Vuelto: US\$/);
  await checkPage(page, 'cashier');

  step('the second cashier sees both seats sold without a reload');
  await waitForSeatStatus(watcher, 'A', 1, 'sold');
  await waitForSeatStatus(watcher, 'A', 2, 'sold');
  assert.equal(await watcher.locator('[data-testid=flash-error]').isVisible(), false);

  step('the receipt shows the invoice, the change and two tickets with QR codes');
  await submitAndWaitForLoad(page, page.locator('[data-testid=open-receipt]'));
  assert.match(pathOf(page), /^\/app\/recibo\/[0-9a-f-]{36}$/);
  const invoice = await page.locator('[data-testid=invoice]').innerText();
  assert.match(invoice, /FACTURA/);
  assert.match(invoice, /N° de control/);
  assert.match(invoice, /Pago Móvil/);
  assert.match(await page.locator('[data-testid=change-amount]').innerText(), /^US\$ \d+,\d\d$/);
  assert.equal(await page.locator('[data-testid=tickets] section.ticket').count(), 2);
  assert.equal(await page.locator('[data-testid=tickets] svg.qr').count(), 2);
  await page.locator('[data-testid=print]').waitFor({ state: 'visible' });
  await checkPage(page, 'receipt');
});
