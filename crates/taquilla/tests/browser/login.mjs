// Sign-in, language switch and logout of the box office web app.
//
// Environment (defaults fit `taquilla serve --demo`):
//   CASHIER_USERNAME, CASHIER_PASSWORD  a cashier of the tenant
//   LOGIN_ERROR_ES, LOGIN_ERROR_EN      the invalid-credentials message in each language
import assert from 'node:assert/strict';
import { checkPage, pathOf, scenario, signIn, submitAndWaitForLoad } from './lib.mjs';

/** Console line Chromium logs for a page served with a 4xx status. */
const CLIENT_ERROR_STATUS = /Failed to load resource: the server responded with a status of 4\d\d/;

/** Submits the login form with a wrong password and returns the flash-error text. */
async function submitWrongPassword(page, username) {
  const form = page.locator('form[data-testid=login-form]');
  await form.locator('input[name=username]').fill(username);
  await form.locator('input[name=password]').fill('not-the-password');
  await submitAndWaitForLoad(page, form.locator('button[data-testid=login-submit]'));
  assert.equal(pathOf(page).split('?')[0], '/app/login', 'a wrong password must leave the user on the login page');

  const flash = page.locator('[data-testid=flash-error]');
  await flash.waitFor({ state: 'visible' });
  assert.equal(await flash.getAttribute('role'), 'alert', '[data-testid=flash-error] needs role=alert');
  return (await flash.innerText()).trim();
}

/** Returns the `lang` attribute of the page's `<html>`. */
function htmlLang(page) {
  return page.locator('html').getAttribute('lang');
}

scenario('login', async ({ browser, env, step, allowConsoleError }) => {
  const username = env.CASHIER_USERNAME || 'demo-cajero';
  const password = env.CASHIER_PASSWORD || 'demo-cajero-2026';
  const errorEs = env.LOGIN_ERROR_ES || 'Usuario o contraseña incorrectos.';
  const errorEn = env.LOGIN_ERROR_EN || 'Invalid username or password.';

  const context = await browser.newContext();

  step('an /app page without a session redirects to the login page');
  const page = await context.newPage();
  const first = await page.goto('/app/taquilla');
  assert.equal(pathOf(page), '/app/login', 'GET /app/taquilla without a session');
  assert.ok(first.request().redirectedFrom(), '/app/login must be reached by a redirect');
  await page.locator('form[data-testid=login-form]').waitFor({ state: 'visible' });
  assert.equal(await htmlLang(page), 'es-VE', 'the login page defaults to Spanish');
  await checkPage(page, 'login');

  step('a wrong password shows the Spanish error');
  const allowRejectedLogin = allowConsoleError(CLIENT_ERROR_STATUS);
  const spanishError = await submitWrongPassword(page, username);
  assert.ok(
    spanishError.includes(errorEs),
    `flash-error should contain "${errorEs}", found "${spanishError}"`,
  );
  assert.equal(await htmlLang(page), 'es-VE');
  await checkPage(page, 'login-wrong-password');
  allowRejectedLogin();
  await page.close();

  step(`${username} signs in and lands on the cashier screen`);
  const cashier = await signIn(context, username, password);
  assert.equal(pathOf(cashier), '/app/taquilla', `a cashier lands on /app/taquilla`);
  const currentUser = cashier.locator('[data-testid=current-user]');
  assert.ok(
    (await currentUser.innerText()).includes(username),
    `[data-testid=current-user] should show ${username}, found "${await currentUser.innerText()}"`,
  );
  const cookies = await context.cookies();
  const session = cookies.find((cookie) => cookie.name === 'taquilla_session');
  assert.ok(session, `no taquilla_session cookie after sign-in (cookies: ${cookies.map((c) => c.name)})`);
  assert.equal(session.httpOnly, true, 'taquilla_session must be HttpOnly');
  assert.equal(session.sameSite, 'Strict', 'taquilla_session must be SameSite=Strict');
  const logoutEs = (await cashier.locator('[data-testid=logout]').innerText()).trim();
  const mainEs = (await cashier.locator('main').innerText()).trim();
  await checkPage(cashier, 'taquilla-es');

  step('/app/idioma/en switches the page to English');
  await cashier.goto('/app/idioma/en');
  assert.ok(
    (await context.cookies()).some((cookie) => cookie.name === 'taquilla_lang' && cookie.value === 'en'),
    '/app/idioma/en must set the taquilla_lang cookie to en',
  );
  if (pathOf(cashier) !== '/app/taquilla') {
    await cashier.goto('/app/taquilla');
  }
  assert.equal(await htmlLang(cashier), 'en', 'after /app/idioma/en');
  const logoutEn = (await cashier.locator('[data-testid=logout]').innerText()).trim();
  const mainEn = (await cashier.locator('main').innerText()).trim();
  assert.notEqual(logoutEn, logoutEs, 'the logout button should be translated');
  assert.notEqual(mainEn, mainEs, 'the main content should be translated');
  await checkPage(cashier, 'taquilla-en');

  step('logout returns to the login page');
  await submitAndWaitForLoad(cashier, cashier.locator('[data-testid=logout]'));
  assert.equal(pathOf(cashier), '/app/login', 'after logout');
  assert.equal(await htmlLang(cashier), 'en', 'the language cookie outlives the session');
  await checkPage(cashier, 'login-en');

  step('/app/taquilla redirects to the login page after logout');
  const after = await cashier.goto('/app/taquilla');
  assert.equal(pathOf(cashier), '/app/login', 'GET /app/taquilla after logout');
  assert.ok(after.request().redirectedFrom(), '/app/login must be reached by a redirect');

  step('the revoked session cookie no longer opens /app/taquilla');
  const replay = await browser.newContext();
  await replay.addCookies([session]);
  const replayPage = await replay.newPage();
  await replayPage.goto('/app/taquilla');
  assert.equal(pathOf(replayPage), '/app/login', 'a session cookie used after logout');
  await replay.close();

  step('a wrong password shows the English error once the language is English');
  const allowRejectedLoginEn = allowConsoleError(CLIENT_ERROR_STATUS);
  const englishError = await submitWrongPassword(cashier, username);
  assert.ok(
    englishError.includes(errorEn),
    `flash-error should contain "${errorEn}", found "${englishError}"`,
  );
  await checkPage(cashier, 'login-wrong-password-en');
  allowRejectedLoginEn();

  step('/app/idioma/es switches back to Spanish');
  await cashier.goto('/app/idioma/es');
  if (pathOf(cashier) !== '/app/login') {
    await cashier.goto('/app/login');
  }
  assert.equal(await htmlLang(cashier), 'es-VE', 'after /app/idioma/es');

  await context.close();
});
