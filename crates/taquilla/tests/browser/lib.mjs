// Harness shared by every browser scenario: launches Debian's Chromium through
// playwright-core, keeps every page on loopback, collects console and page
// errors, and runs one scenario with an overall timeout.
//
// A scenario file calls `scenario(name, body)` once. The Rust tests in
// tests/api/browser.rs run it as `node <file>.mjs` with BASE_URL (the server
// under test) and ARTIFACTS_DIR (where screenshots go) set.

import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const SCRIPTS_DIR = path.dirname(fileURLToPath(import.meta.url));

/** Hosts a page may load from; everything else is aborted and fails the scenario. */
export const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** URL schemes that never leave the browser process. */
const LOCAL_SCHEMES = new Set(['about:', 'blob:', 'data:']);

/**
 * Chromium switches on top of the ones playwright-core always passes (which
 * already include --disable-field-trial-config, --disable-default-apps,
 * --disable-extensions, --disable-search-engine-choice-screen and a
 * --disable-features list that stops optimization hints, network time queries
 * and search preconnects). Passing our own --disable-features would replace
 * Playwright's list, so this list has none.
 */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  '--disable-domain-reliability',
  '--disable-client-side-phishing-detection',
  '--dns-prefetch-disable',
  '--no-pings',
  '--no-default-browser-check',
  '--metrics-recording-only',
  '--no-proxy-server',
  // Any lookup of a name other than localhost fails inside Chromium, so a
  // request that slipped past the network guard still cannot leave the machine.
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1, EXCLUDE ::1',
];

/** Options of every browser context: the box office runs in Caracas, in Spanish. */
export const CONTEXT_DEFAULTS = {
  locale: 'es-VE',
  timezoneId: 'America/Caracas',
  viewport: { width: 1024, height: 768 },
  serviceWorkers: 'block',
};

/** Milliseconds a single action (click, fill, wait for a selector) may take. */
const ACTION_TIMEOUT_MS = 15_000;
/** Milliseconds a navigation may take. */
const NAVIGATION_TIMEOUT_MS = 30_000;
/** Default overall time limit of a scenario, in milliseconds. */
const DEFAULT_SCENARIO_TIMEOUT_MS = 120_000;
/** Milliseconds to wait for the browser to close before giving up on it. */
const CLOSE_TIMEOUT_MS = 10_000;

/**
 * Failures collected while a scenario runs. They are reported when they
 * happen and fail the scenario at its end, so a request to an outside host or
 * a console error fails it even when every assertion passed.
 */
class CollectedFailures {
  constructor() {
    this.blockedRequests = [];
    this.consoleErrors = [];
    this.pageErrors = [];
    this.allowedConsoleErrors = [];
  }

  /** Records a request outside loopback once per URL. `source` names the hook that saw it. */
  blockRequest(url, source) {
    if (!this.blockedRequests.some((entry) => entry.url === url)) {
      this.blockedRequests.push({ url, source });
      log(`network guard: request outside loopback (${source}): ${url}`);
    }
  }

  consoleError(pageUrl, text) {
    const allowed = this.allowedConsoleErrors.some((pattern) => pattern.test(text));
    this.consoleErrors.push({ pageUrl, text, allowed });
    log(`console error on ${pageUrl}${allowed ? ' (allowed)' : ''}: ${text}`);
  }

  /** Accepts console errors matching `pattern` until the returned function is called. */
  allowConsoleError(pattern) {
    this.allowedConsoleErrors.push(pattern);
    return () => {
      this.allowedConsoleErrors = this.allowedConsoleErrors.filter((other) => other !== pattern);
    };
  }

  pageError(pageUrl, error) {
    const text = error?.stack || String(error);
    this.pageErrors.push({ pageUrl, text });
    log(`uncaught page error on ${pageUrl}: ${text}`);
  }

  /** Returns a description of every collected failure, or an empty list. */
  summary() {
    const lines = [];
    for (const { url } of this.blockedRequests) {
      lines.push(`request to a host outside taquilla (aborted): ${url}`);
    }
    for (const { pageUrl, text } of this.consoleErrors.filter((entry) => !entry.allowed)) {
      lines.push(`console error on ${pageUrl}: ${text}`);
    }
    for (const { pageUrl, text } of this.pageErrors) {
      lines.push(`uncaught error on ${pageUrl}: ${text}`);
    }
    return lines;
  }
}

let startedAt = Date.now();
let scenarioName = 'scenario';
let stepNumber = 0;

function log(message) {
  const seconds = ((Date.now() - startedAt) / 1000).toFixed(1);
  console.log(`[${scenarioName} ${seconds}s] ${message}`);
}

/** Prints a numbered step of the running scenario. */
export function step(description) {
  stepNumber += 1;
  log(`step ${stepNumber}: ${description}`);
}

/** Returns true when `url` stays on loopback or inside the browser. */
export function isLoopbackUrl(url) {
  let parsed;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  if (LOCAL_SCHEMES.has(parsed.protocol)) {
    return true;
  }
  return LOOPBACK_HOSTS.has(parsed.hostname);
}

/** Returns the directory for this scenario's screenshots, created. */
export function artifactsDir() {
  const directory =
    process.env.ARTIFACTS_DIR ||
    path.resolve(SCRIPTS_DIR, '..', '..', '..', '..', 'target', 'browser-artifacts', scenarioName);
  mkdirSync(directory, { recursive: true });
  return directory;
}

/** Returns the Chromium executable: $CHROMIUM_PATH, else Debian's /usr/bin/chromium. */
export function chromiumPath() {
  return process.env.CHROMIUM_PATH || '/usr/bin/chromium';
}

/**
 * Installs the network guard and the error collectors on `context`.
 *
 * Every HTTP(S) request goes through `context.route`, which aborts those to a
 * host outside loopback. The `request` listener also records requests that
 * bypass routing, and WebSockets get the same check.
 */
async function guardContext(context, problems) {
  await context.route('**/*', async (route) => {
    const url = route.request().url();
    if (isLoopbackUrl(url)) {
      await route.fallback();
    } else {
      problems.blockRequest(url, 'route');
      await route.abort('blockedbyclient');
    }
  });
  await context.routeWebSocket(/.*/, (webSocket) => {
    if (isLoopbackUrl(webSocket.url())) {
      webSocket.connectToServer();
    } else {
      problems.blockRequest(webSocket.url(), 'websocket');
      webSocket.close({ code: 1008, reason: 'taquilla browser tests allow loopback only' });
    }
  });
  context.on('request', (request) => {
    if (!isLoopbackUrl(request.url())) {
      problems.blockRequest(request.url(), 'request event');
    }
  });

  const watchPage = (page) => {
    page.on('console', (message) => {
      if (message.type() === 'error') {
        const location = message.location();
        const where = location?.url ? ` [${location.url}:${location.lineNumber}]` : '';
        problems.consoleError(page.url(), `${message.text()}${where}`);
      }
    });
    page.on('pageerror', (error) => problems.pageError(page.url(), error));
  };
  context.pages().forEach(watchPage);
  context.on('page', watchPage);

  context.setDefaultTimeout(ACTION_TIMEOUT_MS);
  context.setDefaultNavigationTimeout(NAVIGATION_TIMEOUT_MS);
}

/**
 * Makes `browser.newContext` and `browser.newPage` apply CONTEXT_DEFAULTS,
 * `baseURL` and the guard, so no scenario can open an unguarded context.
 */
function guardBrowser(browser, baseUrl, problems) {
  const newContext = browser.newContext.bind(browser);
  browser.newContext = async (options = {}) => {
    const context = await newContext({ ...CONTEXT_DEFAULTS, baseURL: baseUrl, ...options });
    await guardContext(context, problems);
    return context;
  };
  browser.newPage = async (options = {}) => {
    const context = await browser.newContext(options);
    return context.newPage();
  };
}

/**
 * Checks a rendered page and saves a full-page screenshot as
 * `$ARTIFACTS_DIR/<name>.png`. Fails when `<html lang>` is missing or is
 * not `es-VE` or `en`, or when the visible text contains `??`, the marker the
 * server's i18n lookup puts around a missing key.
 */
export async function checkPage(page, name) {
  const file = path.join(artifactsDir(), `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  log(`screenshot ${file}`);

  const lang = await page.locator('html').getAttribute('lang');
  if (!lang) {
    throw new Error(`${name}: <html> has no lang attribute (${page.url()})`);
  }
  if (lang !== 'es-VE' && lang !== 'en') {
    throw new Error(`${name}: <html lang="${lang}"> is neither "es-VE" nor "en" (${page.url()})`);
  }

  const text = await page.locator('body').innerText();
  const marker = text.indexOf('??');
  if (marker >= 0) {
    const excerpt = text.slice(Math.max(0, marker - 40), marker + 60).replace(/\s+/g, ' ');
    throw new Error(`${name}: untranslated text key on ${page.url()}: "...${excerpt}..."`);
  }
  return lang;
}

/**
 * Clicks `button` and waits for the `load` event of the document it leads
 * to, after any redirects.
 */
export async function submitAndWaitForLoad(page, button) {
  await Promise.all([page.waitForEvent('load'), button.click()]);
}

/** Returns `page`'s path and query, without the origin. */
export function pathOf(page) {
  const url = new URL(page.url());
  return `${url.pathname}${url.search}`;
}

/**
 * Opens the login page in a new page of `context`, signs in and returns the
 * page on the screen the server redirected to. Throws with the flash message
 * when the server shows the login form again.
 */
export async function signIn(context, username, password) {
  const page = await context.newPage();
  await page.goto('/app/login');
  const form = page.locator('form[data-testid=login-form]');
  await form.locator('input[name=username]').fill(username);
  await form.locator('input[name=password]').fill(password);
  await submitAndWaitForLoad(page, form.locator('button[data-testid=login-submit]'));
  if (new URL(page.url()).pathname === '/app/login') {
    const flash = page.locator('[data-testid=flash-error]');
    const message = (await flash.count()) > 0 ? await flash.first().innerText() : '(no flash-error)';
    throw new Error(`sign-in as ${username} failed: still on /app/login: ${message}`);
  }
  log(`signed in as ${username}, now on ${pathOf(page)}`);
  return page;
}

/** Rejects after `ms` milliseconds with `message`; `clear()` cancels it. */
function deadline(ms, message) {
  let timer;
  const promise = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return { promise, clear: () => clearTimeout(timer) };
}

/** Saves a screenshot of every open page, for a failed scenario. */
async function screenshotOpenPages(browser) {
  let index = 0;
  for (const context of browser.contexts()) {
    for (const page of context.pages()) {
      index += 1;
      const file = path.join(artifactsDir(), `failure-${index}.png`);
      try {
        await page.screenshot({ path: file, fullPage: true, timeout: 5_000 });
        log(`failure screenshot of ${page.url()}: ${file}`);
      } catch (error) {
        log(`could not take a failure screenshot of ${page.url()}: ${error.message}`);
      }
    }
  }
}

/**
 * Runs one scenario: launches Chromium, calls `body` and exits the process
 * with status 0 when it passed and 1 otherwise. The browser is closed in
 * every case.
 *
 * `body` receives `{ browser, baseUrl, env, step, allowConsoleError }`.
 * `allowConsoleError(pattern)` accepts console errors matching the regular
 * expression until the function it returns is called, for a step that
 * expects the browser to log one (a page served with a 4xx status).
 * The time limit is SCENARIO_TIMEOUT_MS milliseconds (default 120000).
 */
export async function scenario(name, body) {
  scenarioName = name;
  startedAt = Date.now();
  stepNumber = 0;

  const baseUrl = process.env.BASE_URL;
  const timeoutMs = Number(process.env.SCENARIO_TIMEOUT_MS || DEFAULT_SCENARIO_TIMEOUT_MS);
  const problems = new CollectedFailures();
  let browser;
  let failure;

  const run = async () => {
    if (!baseUrl) {
      throw new Error('BASE_URL is not set (the server under test, e.g. http://127.0.0.1:8080)');
    }
    if (!isLoopbackUrl(baseUrl)) {
      throw new Error(`BASE_URL ${baseUrl} is not on loopback`);
    }
    log(`starting against ${baseUrl} with ${chromiumPath()}`);
    browser = await chromium.launch({
      executablePath: chromiumPath(),
      headless: true,
      chromiumSandbox: false,
      args: CHROMIUM_ARGS,
    });
    log(`browser ${browser.version()}`);
    guardBrowser(browser, baseUrl, problems);
    await body({
      browser,
      baseUrl,
      env: process.env,
      step,
      allowConsoleError: (pattern) => problems.allowConsoleError(pattern),
    });
    const collected = problems.summary();
    if (collected.length > 0) {
      throw new Error(`the scenario's steps passed, but:\n  ${collected.join('\n  ')}`);
    }
  };

  const limit = deadline(timeoutMs, `scenario ${name} timed out after ${timeoutMs} ms`);
  try {
    await Promise.race([run(), limit.promise]);
  } catch (error) {
    failure = error;
  } finally {
    limit.clear();
  }

  if (browser) {
    if (failure) {
      await screenshotOpenPages(browser);
    }
    const closing = deadline(CLOSE_TIMEOUT_MS, `closing the browser timed out after ${CLOSE_TIMEOUT_MS} ms`);
    try {
      await Promise.race([browser.close(), closing.promise]);
    } catch (error) {
      log(error.message);
    } finally {
      closing.clear();
    }
  }

  if (failure) {
    const other = problems.summary();
    const extra =
      other.length > 0 && !String(failure.message).includes('steps passed, but')
        ? `\nAlso collected:\n  ${other.join('\n  ')}`
        : '';
    console.error(`FAILED ${name}: ${failure.stack || failure}${extra}`);
    process.exit(1);
  }
  log('passed');
  process.exit(0);
}
