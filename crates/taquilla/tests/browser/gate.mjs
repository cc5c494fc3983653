// The gate screen: a scanner admits a sold ticket once, and the second scan of
// the same ticket (its QR payload this time) is rejected with when and at
// which gate it was first admitted.
//
// Environment (set by tests/api/browser.rs):
//   VALIDATOR_USERNAME, VALIDATOR_PASSWORD  a validator of the tenant
//   EVENT_ID                                the ticket's event
//   TICKET_CODE, TICKET_QR                  a sold, unused ticket's code and QR payload
import assert from 'node:assert/strict';
import { checkPage, pathOf, scenario, signIn } from './lib.mjs';

/** Console line Chromium logs for a response with a 4xx status. */
const CLIENT_ERROR_STATUS = /Failed to load resource: the server responded with a status of 4\d\d/;

function required(env, name) {
  const value = env[name];
  assert.ok(value, `${name} is not set`);
  return value;
}

/** Returns the data-testid of the focused element. */
function focusedTestid(page) {
  return page.evaluate(() => document.activeElement?.dataset?.testid ?? null);
}

/** Types `text` and Enter as a USB scanner does, into whatever has the focus. */
async function scan(page, text) {
  await page.keyboard.type(text, { delay: 2 });
  await page.keyboard.press('Enter');
}

scenario('gate', async ({ browser, env, step, allowConsoleError }) => {
  const username = required(env, 'VALIDATOR_USERNAME');
  const password = required(env, 'VALIDATOR_PASSWORD');
  const eventId = required(env, 'EVENT_ID');
  const code = required(env, 'TICKET_CODE');
  const qrPayload = required(env, 'TICKET_QR');
  const context = await browser.newContext();

  step(`${username} signs in and lands on the gate screen`);
  const page = await signIn(context, username, password);
  assert.equal(pathOf(page), '/app/porteria');
  await page.locator('[data-testid=gate-code]').waitFor({ state: 'visible' });
  assert.equal(await focusedTestid(page), 'gate-code', 'the code input has the focus on arrival');
  await checkPage(page, 'gate-ready');

  step('the gate is set to the event and named "Puerta 2"; the focus returns to the code input');
  await page.locator('[data-testid=gate-event]').selectOption(eventId);
  assert.equal(await focusedTestid(page), 'gate-code', 'after choosing the event');
  await page.locator('[data-testid=gate-name]').fill('Puerta 2');
  await page.keyboard.press('Tab');
  await page.mouse.click(5, 700);
  await page.waitForFunction(() => document.activeElement?.dataset?.testid === 'gate-code');

  step('the scanner reads the ticket code: ADMITIDO');
  await scan(page, code);
  const result = page.locator('[data-testid=gate-result]');
  await page.locator('[data-testid=gate-result][data-result=admitted]').waitFor();
  assert.equal((await page.locator('[data-testid=gate-verdict]').innerText()).trim(), 'ADMITIDO');
  const admittedReason = await page.locator('[data-testid=gate-reason]').innerText();
  assert.ok(admittedReason.includes(code), `the verdict names the ticket: "${admittedReason}"`);
  assert.ok(admittedReason.includes('uso 1 de 1'), `the verdict counts the use: "${admittedReason}"`);
  assert.equal(await focusedTestid(page), 'gate-code', 'the focus stays on the code input after a scan');
  assert.equal(await page.locator('[data-testid=gate-code]').inputValue(), '', 'the input is cleared for the next scan');
  await checkPage(page, 'gate-admitted');

  step('the same ticket again, by its QR payload: RECHAZADO with the first admission');
  const allowRejection = allowConsoleError(CLIENT_ERROR_STATUS);
  await scan(page, qrPayload);
  await page.locator('[data-testid=gate-result][data-result=rejected]').waitFor();
  allowRejection();
  assert.equal((await page.locator('[data-testid=gate-verdict]').innerText()).trim(), 'RECHAZADO');
  const reason = (await page.locator('[data-testid=gate-reason]').innerText()).trim();
  assert.match(reason, /^Entrada ya usada: admitida a las .*\d{1,2}:\d{2}.* por Puerta 2\.$/, `rejection reason: "${reason}"`);
  assert.ok(await result.evaluate((node) => node.classList.contains('rejected')), 'the result is drawn red');
  await checkPage(page, 'gate-rejected');

  step('the history lists both scans, newest first');
  const items = page.locator('[data-testid=gate-history-item]');
  assert.equal(await items.count(), 2);
  assert.equal(await items.nth(0).getAttribute('data-result'), 'rejected');
  assert.equal(await items.nth(1).getAttribute('data-result'), 'admitted');
  assert.ok((await items.nth(0).innerText()).includes(code), 'the rejected scan shows the code from the QR payload');

  step('an unknown code is rejected as not found');
  const allowUnknown = allowConsoleError(CLIENT_ERROR_STATUS);
  await scan(page, 'NOEXISTE123');
  await page.locator('[data-testid=gate-history-item]').nth(2).waitFor();
  allowUnknown();
  assert.equal(
    (await page.locator('[data-testid=gate-reason]').innerText()).trim(),
    'Entrada no encontrada: revise el código.',
  );

  step('a reload keeps the gate name and the event of this device');
  await page.reload();
  await page.locator('[data-testid=gate-code]').waitFor({ state: 'visible' });
  assert.equal(await page.locator('[data-testid=gate-name]').inputValue(), 'Puerta 2');
  assert.equal(await page.locator('[data-testid=gate-event]').inputValue(), eventId);

  await context.close();
});
