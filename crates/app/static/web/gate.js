// Script of the gate page (/app/porteria). A USB scanner types the ticket's
// code, or its signed QR payload `TQ1.<code>.<signature>`, then Enter. Each
// scan goes to POST /tickets/validate. The verdict shows large, the last scans
// are listed, and the focus returns to the code input after every scan.
"use strict";

(function () {
  const { api, t, dateTime } = window.taquilla;
  const data = JSON.parse(document.getElementById("gate-data").textContent);
  const form = document.querySelector("[data-testid=gate-form]");
  const codeInput = document.querySelector("[data-testid=gate-code]");
  const eventSelect = document.querySelector("[data-testid=gate-event]");
  const gateInput = document.querySelector("[data-testid=gate-name]");
  const result = document.querySelector("[data-testid=gate-result]");
  const verdict = document.querySelector("[data-testid=gate-verdict]");
  const reason = document.querySelector("[data-testid=gate-reason]");
  const history = document.querySelector("[data-testid=gate-history]");
  const historyEmpty = document.querySelector("[data-testid=gate-history-empty]");

  const HISTORY_LENGTH = 10;
  const GATE_KEY = "taquilla.gate.name";
  const EVENT_KEY = "taquilla.gate.event";

  // Restores the gate name and event this device used last.
  gateInput.value = localStorage.getItem(GATE_KEY) ?? "";
  const savedEvent = localStorage.getItem(EVENT_KEY);
  if (savedEvent !== null && [...eventSelect.options].some((option) => option.value === savedEvent)) {
    eventSelect.value = savedEvent;
  }
  gateInput.addEventListener("change", () => {
    localStorage.setItem(GATE_KEY, gateInput.value.trim());
    codeInput.focus();
  });
  eventSelect.addEventListener("change", () => {
    localStorage.setItem(EVENT_KEY, eventSelect.value);
    codeInput.focus();
  });

  // Brings the focus back to the code input when nothing else has it. A
  // field, link or button the user moved to keeps the focus, so the page
  // stays usable with the keyboard.
  function refocus() {
    const active = document.activeElement;
    if (active && active !== document.body && active.closest("select, input, a, button")) return;
    codeInput.focus();
  }
  codeInput.addEventListener("blur", () => window.setTimeout(refocus, 150));
  document.addEventListener("click", (event) => {
    if (!event.target.closest("select, input, a, button")) refocus();
  });
  window.addEventListener("focus", refocus);
  // A scanner types wherever the focus is: a character typed outside the
  // settings fields moves the focus to the code input before it lands.
  document.addEventListener("keydown", (event) => {
    const active = document.activeElement;
    if (active === codeInput || active === gateInput || active === eventSelect) return;
    if (event.ctrlKey || event.altKey || event.metaKey || event.key.length !== 1) return;
    codeInput.focus();
  });

  // Formats when a ticket was first used: the time alone on the same day in
  // Caracas, else date and time.
  function firstUse(instant) {
    const english = document.documentElement.lang.startsWith("en");
    const day = (value) =>
      new Intl.DateTimeFormat("en-CA", { timeZone: "America/Caracas", dateStyle: "short" }).format(value);
    const when = new Date(instant);
    if (day(when) !== day(new Date())) {
      return { key: "gate.reason.already_used", time: dateTime(instant) };
    }
    const time = new Intl.DateTimeFormat(english ? "en-US" : "es-VE", {
      timeZone: "America/Caracas",
      timeStyle: "short",
    }).format(when);
    return { key: "gate.reason.already_used_today", time };
  }

  // Returns the reason of a rejection in the page's language.
  function rejectionReason(error) {
    const details = error.details ?? {};
    switch (error.code) {
      case "ticket_already_used": {
        if (!details.first_used_at) return t("gate.reason.already_used_today", { time: "?", gate: details.first_gate ?? "?" });
        const { key, time } = firstUse(details.first_used_at);
        return t(key, { time, gate: details.first_gate ?? "?" });
      }
      case "ticket_cancelled":
        return t("gate.reason.cancelled");
      case "event_cancelled":
        return t("gate.reason.event_cancelled");
      case "ticket_wrong_event": {
        const name = data.events[details.ticket_event_id];
        return name ? t("gate.reason.wrong_event", { event: name }) : t("gate.reason.wrong_event_unknown");
      }
      case "ticket_not_found":
        return t("gate.reason.not_found");
      case "ticket_signature_invalid":
        return t("gate.reason.signature_invalid");
      default:
        return error.message;
    }
  }

  function show(state, words, detail) {
    result.className = `gate-result ${state}`;
    result.dataset.result = state;
    verdict.textContent = words;
    reason.textContent = detail;
  }

  function remember(state, code, detail) {
    historyEmpty.classList.add("hidden");
    const time = new Intl.DateTimeFormat(document.documentElement.lang.startsWith("en") ? "en-US" : "es-VE", {
      timeZone: "America/Caracas",
      timeStyle: "medium",
    }).format(new Date());
    const item = document.createElement("li");
    item.className = state;
    item.dataset.testid = "gate-history-item";
    item.dataset.result = state;
    const cells = [
      ["time", time],
      ["verdict", t(state === "admitted" ? "gate.admitted" : "gate.rejected")],
      ["detail", `${detail}`],
    ];
    for (const [name, words] of cells) {
      const cell = document.createElement("span");
      cell.className = name;
      cell.textContent = words;
      item.append(cell);
    }
    const codeCell = document.createElement("span");
    codeCell.className = "code";
    codeCell.textContent = code;
    item.querySelector(".detail").prepend(codeCell, " ");
    history.prepend(item);
    while (history.children.length > HISTORY_LENGTH) history.lastElementChild.remove();
  }

  // Returns the request body for what the scanner typed.
  function requestBody(scanned) {
    const body = scanned.toUpperCase().startsWith("TQ1.") ? { qr_payload: scanned } : { code: scanned };
    const gate = gateInput.value.trim();
    if (gate) body.gate = gate;
    if (eventSelect.value) body.event_id = eventSelect.value;
    return body;
  }

  // Returns the ticket code to display: the middle part of a QR payload, else the text.
  function ticketCode(scanned) {
    const parts = scanned.split(".");
    return parts.length === 3 && parts[0].toUpperCase() === "TQ1" ? parts[1] : scanned.toUpperCase();
  }

  // Scans that arrive while one is checked wait here in order. The input
  // stays enabled, so the scanner's keystrokes are not dropped meanwhile.
  const queue = [];
  let busy = false;

  async function validate(scanned) {
    show("checking", t("gate.checking"), ticketCode(scanned));
    try {
      const admission = await api("POST", "/tickets/validate", requestBody(scanned));
      const ticket = admission.ticket;
      const uses = { code: ticket.code, uses: ticket.uses, max: ticket.max_uses };
      const eventName = data.events[ticket.event_id];
      const eventLine = eventName ? ` ${t("gate.admitted_event", { event: eventName })}` : "";
      show("admitted", t("gate.admitted"), `${t("gate.admitted_detail", uses)}${eventLine}`);
      remember("admitted", ticket.code, `${t("gate.admitted_uses", uses)}${eventLine}`);
    } catch (error) {
      const words = rejectionReason(error);
      show("rejected", t("gate.rejected"), words);
      remember("rejected", ticketCode(scanned), words);
    }
  }

  async function drain() {
    if (busy) return;
    busy = true;
    try {
      while (queue.length) await validate(queue.shift());
    } finally {
      busy = false;
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const scanned = codeInput.value.trim();
    codeInput.value = "";
    codeInput.focus();
    if (!scanned) return;
    queue.push(scanned);
    drain();
  });

  codeInput.focus();
})();
