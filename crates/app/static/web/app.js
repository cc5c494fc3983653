// Shared helpers of the box-office pages: API calls with the session's CSRF
// token, texts in the page's language, and money in the box office's format.
"use strict";

(function () {
  const csrfToken = () =>
    document.querySelector('meta[name="csrf-token"]')?.content ?? "";

  const pageLanguage = () => document.documentElement.lang || "es-VE";

  let texts = null;
  // Returns the words for `key` from the page's `i18n` script element, or
  // `??key??` when the page did not include them (the browser tests look for
  // that marker).
  function t(key, values) {
    if (texts === null) {
      const element = document.getElementById("i18n");
      texts = element ? JSON.parse(element.textContent) : {};
    }
    let words = texts[key];
    if (words === undefined) return `??${key}??`;
    for (const [name, value] of Object.entries(values ?? {})) {
      words = words.replaceAll(`{${name}}`, String(value));
    }
    return words;
  }

  // Returns a random Idempotency-Key. crypto.getRandomValues works on plain
  // HTTP too, where crypto.randomUUID does not.
  function idempotencyKey() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
  }

  // Error of an API call: `code` is the API's stable code, `message` its text
  // in the page's language.
  class ApiError extends Error {
    constructor(status, code, message, details) {
      super(message);
      this.status = status;
      this.code = code;
      this.details = details ?? {};
    }
  }

  // Calls the JSON API with the session cookie. Requests that change
  // something carry the CSRF token and, unless `options.idempotencyKey` is
  // false, a fresh Idempotency-Key (pass a string to reuse one on a retry).
  async function api(method, path, body, options = {}) {
    const headers = {
      Accept: "application/json",
      "Accept-Language": pageLanguage().startsWith("en") ? "en" : "es-VE",
    };
    if (method !== "GET") {
      headers["X-CSRF-Token"] = csrfToken();
      if (options.idempotencyKey !== false) {
        headers["Idempotency-Key"] =
          typeof options.idempotencyKey === "string" ? options.idempotencyKey : idempotencyKey();
      }
    }
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(`/api/v1${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: "same-origin",
      });
    } catch (error) {
      throw new ApiError(0, "network_error", t("common.network_error"));
    }
    if (response.status === 401) {
      window.location.assign("/app/login");
      throw new ApiError(401, "invalid_token", t("common.session_expired"));
    }
    const text = await response.text();
    const data = text ? JSON.parse(text) : null;
    if (!response.ok) {
      const error = data?.error ?? {};
      throw new ApiError(response.status, error.code ?? "unknown", error.message ?? response.statusText, error.details);
    }
    return data;
  }

  // Formats the API's decimal string as `US$ 1.234,56` / `Bs. 1.234,56`
  // (Spanish) or `US$ 1,234.56` (English) without turning it into a float.
  function money(amount, currency) {
    const symbol = { USD: "US$", VES: "Bs." }[currency] ?? currency;
    let digits = String(amount ?? "0");
    const negative = digits.startsWith("-");
    if (negative) digits = digits.slice(1);
    let [whole, fraction = ""] = digits.split(".");
    fraction = (fraction + "00").slice(0, 2);
    const english = pageLanguage().startsWith("en");
    const group = english ? "," : ".";
    const decimal = english ? "." : ",";
    whole = (whole || "0").replace(/\B(?=(\d{3})+(?!\d))/g, group);
    return `${symbol} ${negative ? "-" : ""}${whole}${decimal}${fraction}`;
  }

  // Formats an instant in Caracas time, as the server does.
  function dateTime(instant) {
    const english = pageLanguage().startsWith("en");
    return new Intl.DateTimeFormat(english ? "en-US" : "es-VE", {
      timeZone: "America/Caracas",
      dateStyle: "short",
      timeStyle: "short",
    }).format(new Date(instant));
  }

  // Replaces the children of `element` with one text node.
  function setText(element, words) {
    element.textContent = words;
  }

  window.taquilla = { api, ApiError, t, money, dateTime, idempotencyKey, setText };
})();
