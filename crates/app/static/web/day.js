// Script of the cash desk page (/app/caja): draws the X and Z reports from
// the API's JSON, refreshes the X report, closes the day with a Z report
// after a confirmation, and prints the report on screen (80 mm paper).
"use strict";

(function () {
  const { api, t, money, dateTime } = window.taquilla;
  const data = JSON.parse(document.getElementById("day-data").textContent);
  const reportBox = document.querySelector("[data-testid=report]");
  const flashError = document.querySelector("[data-testid=flash-error]");
  const updated = document.querySelector("[data-testid=x-updated]");

  // Creates an element with attributes and children (strings become text).
  function element(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes ?? {})) {
      if (value !== undefined && value !== null) node.setAttribute(name, value);
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
  }

  // Returns integer cents as the API's decimal string: 1234 -> "12.34".
  function decimal(cents) {
    const value = BigInt(cents);
    const negative = value < 0n;
    const absolute = negative ? -value : value;
    const fraction = String(absolute % 100n).padStart(2, "0");
    return `${negative ? "-" : ""}${absolute / 100n}.${fraction}`;
  }

  const bs = (cents) => money(decimal(cents), "VES");
  const usd = (cents) => money(decimal(cents), "USD");

  // Formats the API's `YYYY-MM-DD` fiscal day as `dd/mm/yyyy` (Spanish) or
  // `mm/dd/yyyy` (English), without time zone arithmetic.
  function fiscalDay(day) {
    const [year, month, date] = day.split("-");
    return document.documentElement.lang.startsWith("en")
      ? `${month}/${date}/${year}`
      : `${date}/${month}/${year}`;
  }

  // Formats basis points as a percentage: 1600 -> "16 %".
  function rate(basisPoints) {
    const language = document.documentElement.lang || "es-VE";
    return `${(basisPoints / 100).toLocaleString(language)} %`;
  }

  function line(label, value, testid) {
    return element(
      "tr",
      { "data-testid": testid },
      element("th", { scope: "row" }, label),
      element("td", { class: "amount" }, value),
    );
  }

  // Returns the lines of the invoices or the credit notes of a day.
  function documentSection(title, totals, testid) {
    const rows = [line(t("day.count"), String(totals.count), `${testid}-count`)];
    for (const tax of totals.rates) {
      const values = { name: tax.name, rate: rate(tax.rate_basis_points) };
      rows.push(line(t("day.base", values), bs(tax.base_bs_cents), `${testid}-base`));
      rows.push(line(t("day.tax", values), bs(tax.tax_bs_cents), `${testid}-tax`));
    }
    if (totals.exempt_bs_cents !== 0) {
      rows.push(line(t("day.exempt"), bs(totals.exempt_bs_cents), `${testid}-exempt`));
    }
    if (totals.igtf_bs_cents !== 0) {
      rows.push(line(t("day.igtf"), bs(totals.igtf_bs_cents), `${testid}-igtf`));
    }
    rows.push(line(t("day.total"), bs(totals.total_bs_cents), `${testid}-total-bs`));
    rows.push(line("", usd(totals.total_usd_cents), `${testid}-total-usd`));
    return element(
      "section",
      { "data-testid": testid },
      element("h3", {}, title),
      element("table", { class: "report-lines" }, element("tbody", {}, ...rows)),
    );
  }

  function paymentLabel(payment) {
    const specific = `day.method.${payment.method}.${payment.currency}`;
    const words = t(specific);
    if (!words.startsWith("??")) return words;
    const general = t(`day.method.${payment.method}`);
    return general.startsWith("??") ? `${payment.method} ${payment.currency}` : general;
  }

  function paymentsSection(payments) {
    const body = payments.length
      ? element(
          "table",
          { class: "report-lines" },
          element(
            "tbody",
            {},
            ...payments.map((payment) =>
              element(
                "tr",
                { "data-testid": "report-payment", "data-method": payment.method, "data-currency": payment.currency },
                element("th", { scope: "row" }, `${paymentLabel(payment)} (${payment.count})`),
                element("td", { class: "amount" }, money(decimal(payment.amount_cents), payment.currency)),
              ),
            ),
          ),
        )
      : element("p", { class: "hint" }, t("day.payments_none"));
    return element("section", { "data-testid": "report-payments" }, element("h3", {}, t("day.payments")), body);
  }

  function seriesSection(series) {
    const items = series.map((range) =>
      element(
        "li",
        { "data-testid": "report-series", "data-kind": range.kind },
        element("strong", {}, `${t(`day.kind.${range.kind}`)} (${range.count})`),
        element("br"),
        t("day.series_range", { series: range.series, first: range.first_number, last: range.last_number }),
        element("br"),
        t("day.control_range", { first: range.first_control_number, last: range.last_control_number }),
      ),
    );
    return element(
      "section",
      { "data-testid": "report-numbering" },
      element("h3", {}, t("day.series")),
      items.length ? element("ul", { class: "report-series" }, ...items) : element("p", { class: "hint" }, t("day.series_none")),
    );
  }

  // Draws a report: `kind` is "x" or "z"; `number` and `issuedAt` describe it.
  function drawReport(kind, totals, number, issuedAt) {
    const title = kind === "x" ? t("day.report_x") : t("day.report_z", { number });
    const article = element(
      "article",
      { class: "report", "data-testid": `${kind}-report`, "data-fiscal-day": totals.fiscal_day },
      element("h2", { class: "report-title" }, title),
      element("p", {}, `${t("day.cashier")}: ${data.cashier}`),
      element("p", {}, `${t("day.fiscal_day")}: ${fiscalDay(totals.fiscal_day)}`),
      element("p", {}, `${t("day.generated_at")}: ${dateTime(issuedAt)}`),
      kind === "x" ? element("p", { class: "hint" }, t("day.report_x_note")) : null,
      documentSection(t("day.invoices"), totals.invoices, "report-invoices"),
      documentSection(t("day.credit_notes"), totals.credit_notes, "report-credit-notes"),
      element(
        "section",
        { "data-testid": "report-net" },
        element("h3", {}, t("day.net")),
        element(
          "table",
          { class: "report-lines" },
          element(
            "tbody",
            {},
            line("Bs.", bs(totals.net_total_bs_cents), "report-net-bs"),
            line("US$", usd(totals.net_total_usd_cents), "report-net-usd"),
          ),
        ),
      ),
      paymentsSection(totals.payments),
      seriesSection(totals.series),
      totals.pending_documents > 0
        ? element("p", { class: "flash warn", "data-testid": "report-pending" }, t("day.pending", { count: totals.pending_documents }))
        : null,
    );
    reportBox.replaceChildren(article);
  }

  function showError(message) {
    flashError.textContent = message;
    flashError.classList.remove("hidden");
  }

  function clearError() {
    flashError.textContent = "";
    flashError.classList.add("hidden");
  }

  if (data.z) {
    drawReport("z", data.z.totals, data.z.number, data.z.closed_at);
  } else {
    drawReport("x", data.x, null, new Date().toISOString());
  }

  const refresh = document.querySelector("[data-testid=x-refresh]");
  refresh?.addEventListener("click", async () => {
    clearError();
    refresh.disabled = true;
    try {
      data.x = await api("GET", "/fiscal/reports/x");
      const now = new Date().toISOString();
      drawReport("x", data.x, null, now);
      updated.textContent = t("day.updated_at", { time: dateTime(now) });
    } catch (error) {
      showError(error.message);
    } finally {
      refresh.disabled = false;
    }
  });

  document.querySelector("[data-testid=print-report]").addEventListener("click", () => window.print());

  const dialog = document.querySelector("[data-testid=z-dialog]");
  const openClose = document.querySelector("[data-testid=z-open]");
  const confirm = document.querySelector("[data-testid=z-confirm]");
  openClose?.addEventListener("click", () => {
    clearError();
    dialog.showModal();
  });
  document.querySelector("[data-testid=z-cancel]")?.addEventListener("click", () => dialog.close());
  confirm?.addEventListener("click", async () => {
    confirm.disabled = true;
    confirm.textContent = t("day.closing");
    try {
      const report = await api("POST", "/fiscal/reports/z", {});
      // The server draws the closed desk and lists the new report.
      window.location.assign(`/app/caja?z=${encodeURIComponent(report.id)}`);
    } catch (error) {
      // Another tab closed the day meanwhile: draw the closed desk.
      if (error.code === "z_report_exists") {
        window.location.assign("/app/caja");
        return;
      }
      dialog.close();
      confirm.disabled = false;
      confirm.textContent = t("day.confirm_yes");
      showError(error.message);
    }
  });

  for (const button of document.querySelectorAll("[data-testid=z-view]")) {
    button.addEventListener("click", async () => {
      clearError();
      try {
        const report = await api("GET", `/fiscal/reports/z/${encodeURIComponent(button.dataset.reportId)}`);
        drawReport("z", report.totals, report.number, report.closed_at);
        reportBox.scrollIntoView({ block: "start" });
      } catch (error) {
        showError(error.message);
      }
    });
  }
})();
