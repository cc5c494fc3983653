// Script of the cashier's sale screen: zones, the seat map, the hold, the
// customer, the order and its payments. Every amount shown comes from the API
// (availability, hold, order); the script only formats it.
"use strict";

(function () {
  const { api, t, money } = window.taquilla;

  // Seconds between reads of the seat map; the API caches it, so this is cheap.
  const POLL_MILLISECONDS = 2000;
  // Size of a seat's cell in the map, in SVG units; a seat is drawn 16 x 16.
  const CELL = 20;
  const ROW_LABEL_WIDTH = 34;
  const STAGE_HEIGHT = 30;
  const SVG_NS = "http://www.w3.org/2000/svg";

  const data = JSON.parse(document.getElementById("sale-data").textContent);
  const state = {
    zone: null,
    availability: null,
    // Seat elements and data by seat id, for the zone on screen.
    seatElements: new Map(),
    seats: new Map(),
    // Seat ids in map order, and the index of each, for arrow-key moves.
    seatOrder: [],
    rows: [],
    focusedSeatId: null,
    selection: new Set(),
    hold: null,
    customer: null,
    order: null,
    polling: false,
    pollAgain: false,
    // Idempotency-Keys kept until their request succeeds, so a retry after a
    // lost response or a second click cannot create a second hold, order or payment.
    holdKey: null,
    orderKey: null,
    paymentKey: null,
    countdownTimer: null,
    serverOffset: 0,
  };

  const $ = (id) => document.getElementById(id);

  // ---- The sale in progress, kept across a reload --------------------------

  // Key of the tab's hold and order ids, so a reload comes back to the same
  // sale instead of leaving it to expire. One per tab and event.
  const SALE_KEY = `taquilla.sale.${data.event_id}`;

  function rememberSale() {
    if (!state.hold && !state.order) {
      sessionStorage.removeItem(SALE_KEY);
      return;
    }
    sessionStorage.setItem(SALE_KEY, JSON.stringify({
      zoneId: state.zone?.id,
      holdId: state.hold?.id ?? state.order?.hold_id,
      orderId: state.order?.id,
      // The hold's creation time estimates the clock offset only when fresh.
      serverOffset: state.serverOffset,
    }));
  }

  // Brings back the sale of this tab after a reload: the hold while it is
  // active, and the order with its payments while it is pending.
  async function resumeSale() {
    let saved;
    try {
      saved = JSON.parse(sessionStorage.getItem(SALE_KEY) ?? "null");
    } catch {
      saved = null;
    }
    if (!saved?.holdId || !zoneById(saved.zoneId)) {
      sessionStorage.removeItem(SALE_KEY);
      return false;
    }
    try {
      const held = await api("GET", `/holds/${saved.holdId}`);
      const order = saved.orderId ? await api("GET", `/orders/${saved.orderId}`) : null;
      const holdActive = held.status === "active";
      const orderPending = order?.status === "pending";
      if (!holdActive && !orderPending) {
        sessionStorage.removeItem(SALE_KEY);
        return false;
      }
      chooseZone(saved.zoneId);
      state.hold = held;
      state.serverOffset = Number(saved.serverOffset) || 0;
      showHold();
      if (orderPending) {
        chooseCustomer(await api("GET", `/customers/${order.customer_id}`));
        showOrder(order);
      }
      flash("ok", t("cashier.sale_resumed"));
      return true;
    } catch (error) {
      sessionStorage.removeItem(SALE_KEY);
      flash("error", errorText(error));
      return false;
    }
  }

  // Formats API cents as a decimal string for taquilla.money, without floats.
  function decimal(cents) {
    const negative = cents < 0;
    const digits = String(Math.abs(cents)).padStart(3, "0");
    return `${negative ? "-" : ""}${digits.slice(0, -2)}.${digits.slice(-2)}`;
  }
  const usd = (cents) => money(decimal(cents), "USD");
  const bs = (cents) => money(decimal(cents), "VES");
  const inCurrency = (cents, currency) => money(decimal(cents), currency);

  // ---- Messages ----------------------------------------------------------

  function flash(kind, words) {
    const element = $(`flash-${kind}`);
    element.textContent = words ?? "";
    element.classList.toggle("hidden", !words);
  }

  function clearFlash() {
    flash("error", "");
    flash("ok", "");
    flash("warn", "");
  }

  function errorText(error) {
    if (error?.code === "network_error") return t("cashier.network_error");
    return error?.message ?? String(error);
  }

  // Shows the API's per-field messages next to the fields of `form`, and
  // those of fields the form has no slot for in the error banner. Returns
  // false when the error named no field.
  function showFieldErrors(form, error) {
    const fields = error?.details?.errors ?? [];
    const unplaced = [];
    for (const field of fields) {
      const name = String(field.field ?? "").replace(/^payments\[\d+\]\./, "");
      const slot = form.querySelector(`[data-field-error="${CSS.escape(name)}"]`);
      const message = field.message ?? t("cashier.field_error");
      if (slot && !slot.classList.contains("hidden")) slot.textContent = message;
      else unplaced.push(message);
    }
    if (unplaced.length > 0) flash("error", unplaced.join(" "));
    return fields.length > 0;
  }

  function clearFieldErrors(form) {
    for (const slot of form.querySelectorAll("[data-field-error]")) slot.textContent = "";
  }

  // ---- Zones -------------------------------------------------------------

  function zoneById(id) {
    return data.zones.find((zone) => zone.id === id) ?? null;
  }

  function chooseZone(id) {
    if (state.hold || state.order) return;
    const zone = zoneById(id);
    if (!zone) return;
    state.zone = zone;
    state.selection.clear();
    state.availability = null;
    for (const button of document.querySelectorAll("[data-zone-id]")) {
      button.setAttribute("aria-pressed", String(button.dataset.zoneId === id));
    }
    $("pick-zone")?.classList.add("hidden");
    $("seat-panel").classList.toggle("hidden", !zone.numbered);
    $("quantity-panel").classList.toggle("hidden", zone.numbered);
    $("seat-map").replaceChildren();
    state.seatElements.clear();
    state.seats.clear();
    updateSelection();
    refreshAvailability();
  }

  function setZonesLocked(locked) {
    for (const button of document.querySelectorAll("[data-zone-id]")) {
      button.disabled = locked && button.dataset.zoneId !== state.zone?.id;
    }
  }

  // ---- Availability and the seat map --------------------------------------

  async function refreshAvailability() {
    const zone = state.zone;
    if (!zone) return;
    // A read asked for while another runs follows it, so an action's result
    // is never left to the next poll.
    if (state.polling) {
      state.pollAgain = true;
      return;
    }
    state.polling = true;
    state.pollAgain = false;
    try {
      const availability = await api("GET", `/zones/${zone.id}/availability`);
      if (state.zone !== zone) return;
      state.availability = availability;
      updateZoneLeft(zone.id, availability);
      if (zone.numbered) {
        if (state.seatElements.size !== availability.seats.length) drawMap(availability);
        paintSeats(availability);
      }
      updateHoldButton();
    } catch (error) {
      if (error?.status !== 401) flash("error", errorText(error));
    } finally {
      state.polling = false;
      if (state.pollAgain) refreshAvailability();
    }
  }

  function updateZoneLeft(zoneId, availability) {
    const button = document.querySelector(`[data-zone-id="${zoneId}"]`);
    const count = button?.querySelector(".zone-left-count");
    if (count) count.textContent = String(availability.available);
  }

  function svgElement(name, attributes) {
    const element = document.createElementNS(SVG_NS, name);
    for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value));
    return element;
  }

  // Draws every seat once per zone; later reads only repaint the seats.
  function drawMap(availability) {
    const rows = [];
    const byLabel = new Map();
    for (const seat of availability.seats) {
      let row = byLabel.get(seat.row);
      if (!row) {
        row = { label: seat.row, seats: [] };
        byLabel.set(seat.row, row);
        rows.push(row);
      }
      row.seats.push(seat);
    }
    const columns = Math.max(1, ...rows.map((row) => row.seats.length));
    const width = ROW_LABEL_WIDTH + columns * CELL + 4;
    const height = STAGE_HEIGHT + rows.length * CELL + 4;
    const svg = svgElement("svg", {
      viewBox: `0 0 ${width} ${height}`,
      role: "group",
      "aria-label": t("cashier.map"),
      "aria-describedby": "map-help",
      class: "seat-svg",
      "data-columns": columns,
    });
    svg.classList.add(columns > 40 ? "wide" : "narrow");
    const stage = svgElement("rect", {
      x: ROW_LABEL_WIDTH, y: 2, width: columns * CELL - 4, height: STAGE_HEIGHT - 10, rx: 4, class: "stage",
    });
    const stageLabel = svgElement("text", {
      x: ROW_LABEL_WIDTH + (columns * CELL - 4) / 2, y: STAGE_HEIGHT - 14, class: "stage-label", "text-anchor": "middle",
    });
    stageLabel.textContent = t("cashier.stage_side");
    svg.append(stage, stageLabel);

    const tableNames = new Map((availability.tables ?? []).map((table) => [table.id, table.name]));
    state.seatElements.clear();
    state.seats.clear();
    state.seatOrder = [];
    state.rows = [];
    rows.forEach((row, rowIndex) => {
      const y = STAGE_HEIGHT + rowIndex * CELL;
      const label = svgElement("text", { x: ROW_LABEL_WIDTH - 6, y: y + 13, class: "row-label", "text-anchor": "end" });
      label.textContent = row.label;
      svg.append(label);
      const ids = [];
      // Shorter rows are centred under the stage, as in the hall.
      const indent = ((columns - row.seats.length) * CELL) / 2;
      row.seats.forEach((seat, seatIndex) => {
        const rect = svgElement("rect", {
          x: ROW_LABEL_WIDTH + indent + seatIndex * CELL, y, width: 16, height: 16, rx: 3,
          class: "seat", role: "checkbox", tabindex: -1, "data-seat-id": seat.id, "data-testid": "seat",
          "data-row": seat.row, "data-number": seat.number,
        });
        if (seat.table_id) rect.dataset.table = tableNames.get(seat.table_id) ?? "";
        state.seatElements.set(seat.id, rect);
        state.seatOrder.push(seat.id);
        ids.push(seat.id);
        svg.append(rect);
      });
      state.rows.push(ids);
    });
    $("seat-map").replaceChildren(svg);
    state.focusedSeatId = state.seatOrder[0] ?? null;
    if (state.focusedSeatId) state.seatElements.get(state.focusedSeatId).setAttribute("tabindex", "0");
  }

  function seatStatus(seat) {
    if (state.hold?.seats?.some((held) => held.id === seat.id)) return "mine";
    if (state.selection.has(seat.id)) return "selected";
    if (seat.status === "available") return "free";
    return seat.status === "sold" ? "sold" : "held";
  }

  const STATUS_TEXT = {
    free: "cashier.seat_free",
    selected: "cashier.seat_selected",
    mine: "cashier.seat_mine",
    held: "cashier.seat_held",
    sold: "cashier.seat_sold",
  };

  function seatName(seat) {
    return t("cashier.selection_item", { row: seat.row, number: seat.number });
  }

  // Repaints seats whose status changed, and drops chosen seats that another
  // desk held or sold meanwhile, saying which.
  function paintSeats(availability) {
    const lost = [];
    for (const seat of availability.seats) {
      state.seats.set(seat.id, seat);
      if (state.selection.has(seat.id) && seat.status !== "available") {
        state.selection.delete(seat.id);
        lost.push(seatName(seat));
      }
    }
    for (const seat of availability.seats) {
      const element = state.seatElements.get(seat.id);
      if (!element) continue;
      const status = seatStatus(seat);
      const table = seat.table_id ? " table" : "";
      const className = `seat ${status}${table}`;
      if (element.getAttribute("class") === className) continue;
      element.setAttribute("class", className);
      element.setAttribute("aria-checked", String(status === "selected" || status === "mine"));
      element.setAttribute("aria-disabled", String(!(status === "free" || status === "selected")));
      const values = { row: seat.row, number: seat.number, status: t(STATUS_TEXT[status]), table: element.dataset.table };
      element.setAttribute(
        "aria-label",
        seat.table_id ? t("cashier.seat_label_table", values) : t("cashier.seat_label", values),
      );
    }
    if (lost.length > 0) {
      flash("warn", t("cashier.seats_lost", { seats: lost.join("; ") }));
      updateSelection();
    }
  }

  function repaint() {
    if (state.availability && state.zone?.numbered) paintSeats(state.availability);
  }

  function toggleSeat(seatId) {
    if (state.hold || state.order) return;
    const seat = state.seats.get(seatId);
    if (!seat || seat.status !== "available") return;
    // Tables sold whole take or drop all their free seats together.
    let ids = [seatId];
    if (seat.table_id && state.availability?.table_mode === "complete_only") {
      ids = state.availability.seats
        .filter((other) => other.table_id === seat.table_id && other.status === "available")
        .map((other) => other.id);
    }
    const adding = !state.selection.has(seatId);
    for (const id of ids) {
      if (adding) state.selection.add(id);
      else state.selection.delete(id);
    }
    if (state.selection.size > data.max_units) {
      for (const id of ids) state.selection.delete(id);
      flash("error", t("cashier.too_many", { count: data.max_units }));
    }
    repaint();
    updateSelection();
  }

  function focusSeat(seatId) {
    const previous = state.seatElements.get(state.focusedSeatId);
    const next = state.seatElements.get(seatId);
    if (!next) return;
    previous?.setAttribute("tabindex", "-1");
    next.setAttribute("tabindex", "0");
    next.focus();
    state.focusedSeatId = seatId;
  }

  // Arrow keys move along a row and between rows; Enter or Space chooses.
  function onMapKey(event) {
    const target = event.target.closest?.("[data-seat-id]");
    if (!target) return;
    const id = target.dataset.seatId;
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      toggleSeat(id);
      return;
    }
    const rowIndex = state.rows.findIndex((row) => row.includes(id));
    if (rowIndex < 0) return;
    const seatIndex = state.rows[rowIndex].indexOf(id);
    let next = null;
    if (event.key === "ArrowRight") next = state.rows[rowIndex][seatIndex + 1];
    else if (event.key === "ArrowLeft") next = state.rows[rowIndex][seatIndex - 1];
    else if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      const row = state.rows[rowIndex + (event.key === "ArrowDown" ? 1 : -1)];
      if (row) next = row[Math.min(seatIndex, row.length - 1)];
    } else if (event.key === "Home") next = state.rows[rowIndex][0];
    else if (event.key === "End") next = state.rows[rowIndex].at(-1);
    else return;
    event.preventDefault();
    if (next) focusSeat(next);
  }

  function updateSelection() {
    const list = $("selection");
    const chosen = [...state.selection].map((id) => state.seats.get(id)).filter(Boolean);
    list.textContent = chosen.length === 0
      ? t("cashier.selection_none")
      : chosen.map((seat) => `${seatName(seat)} (${usd(seat.price_usd_cents)})`).join("; ");
    updateHoldButton();
  }

  function updateHoldButton() {
    const button = $("hold");
    const ready = state.zone && !state.hold && !state.order &&
      (state.zone.numbered ? state.selection.size > 0 : Number($("quantity").value) > 0);
    button.disabled = !ready;
  }

  // ---- Hold ----------------------------------------------------------------

  async function hold() {
    const button = $("hold");
    if (button.disabled || !state.zone) return;
    clearFlash();
    const body = { zone_id: state.zone.id };
    if (state.zone.numbered) body.seat_ids = [...state.selection].sort();
    else body.quantity = Number.parseInt($("quantity").value, 10);
    state.holdKey ??= window.taquilla.idempotencyKey();
    button.disabled = true;
    try {
      const held = await api("POST", "/holds", body, { idempotencyKey: state.holdKey });
      state.holdKey = null;
      state.hold = held;
      state.serverOffset = Date.parse(held.created_at) - Date.now();
      state.selection.clear();
      showHold();
      rememberSale();
    } catch (error) {
      if (error.status >= 400 && error.status < 500) state.holdKey = null;
      flash("error", errorText(error));
    } finally {
      updateHoldButton();
      await refreshAvailability();
    }
  }

  function showHold() {
    const held = state.hold;
    $("hold-panel").classList.remove("hidden");
    $("customer-panel").classList.remove("hidden");
    setZonesLocked(true);
    const what = held.seats.length > 0
      ? held.seats.map(seatName).join("; ")
      : t("cashier.hold_units", { count: held.quantity });
    $("hold-summary").textContent = `${what}. ${t("cashier.hold_quote")}: ${usd(held.quoted_subtotal_usd_cents)}`;
    startCountdown(held.expires_at);
    updateSelection();
    repaint();
    updateOrderButton();
    $("customer-search").querySelector("input")?.focus();
  }

  function startCountdown(deadline) {
    clearInterval(state.countdownTimer);
    const tick = () => {
      const left = Date.parse(deadline) - (Date.now() + state.serverOffset);
      if (left <= 0) {
        clearInterval(state.countdownTimer);
        if (state.order?.status !== "paid") expire();
        return;
      }
      const seconds = Math.floor(left / 1000);
      const time = `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
      $("hold-countdown").textContent = t("cashier.hold_expires", { time });
    };
    tick();
    state.countdownTimer = setInterval(tick, 1000);
  }

  function expire() {
    resetSale();
    flash("warn", t("cashier.hold_expired"));
    refreshAvailability();
  }

  async function release() {
    if (!state.hold) return;
    const button = $("release");
    button.disabled = true;
    clearFlash();
    try {
      await api("DELETE", `/holds/${state.hold.id}`, undefined, { idempotencyKey: false });
      resetSale();
      flash("ok", t("cashier.hold_released"));
    } catch (error) {
      flash("error", errorText(error));
    } finally {
      button.disabled = false;
      await refreshAvailability();
    }
  }

  function resetSale() {
    clearInterval(state.countdownTimer);
    state.hold = null;
    state.order = null;
    sessionStorage.removeItem(SALE_KEY);
    state.holdKey = null;
    state.orderKey = null;
    state.paymentKey = null;
    $("hold-panel").classList.add("hidden");
    $("customer-panel").classList.add("hidden");
    $("order-panel").classList.add("hidden");
    $("payment-list").replaceChildren();
    setZonesLocked(false);
    repaint();
    updateSelection();
    updateOrderButton();
  }

  // ---- Customer ------------------------------------------------------------

  function chooseCustomer(customer) {
    state.customer = customer;
    state.orderKey = null;
    const name = `${customer.first_name} ${customer.last_name}`;
    $("customer-name").textContent = t("cashier.customer_chosen", {
      name, document: customer.document ?? t("cashier.no_document"),
    });
    $("customer-chosen").classList.remove("hidden");
    $("customer-search").classList.add("hidden");
    $("customer-new").classList.add("hidden");
    updateOrderButton();
    $("create-order").focus();
  }

  function changeCustomer() {
    if (state.order) return;
    state.customer = null;
    $("customer-chosen").classList.add("hidden");
    $("customer-search").classList.remove("hidden");
    updateOrderButton();
    $("customer-search").querySelector("input").focus();
  }

  async function searchCustomer(event) {
    event.preventDefault();
    const form = event.currentTarget;
    clearFieldErrors(form);
    $("customer-not-found").classList.add("hidden");
    const document_ = form.elements.document.value.trim();
    if (!document_) return;
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const page = await api("GET", `/customers?document=${encodeURIComponent(document_)}&limit=1`);
      if (page.items.length > 0) {
        chooseCustomer(page.items[0]);
      } else {
        $("customer-not-found").classList.remove("hidden");
        const create = $("customer-new");
        create.classList.remove("hidden");
        create.elements.document.value = document_;
        create.elements.first_name.focus();
      }
    } catch (error) {
      if (!showFieldErrors(form, error)) flash("error", errorText(error));
    } finally {
      button.disabled = false;
    }
  }

  async function createCustomer(event) {
    event.preventDefault();
    const form = event.currentTarget;
    clearFieldErrors(form);
    const field = (name) => form.elements[name].value.trim();
    const body = {
      first_name: field("first_name"),
      last_name: field("last_name"),
      document: field("document") || null,
      phone: field("phone") || null,
      email: field("email") || null,
    };
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      chooseCustomer(await api("POST", "/customers", body));
      form.reset();
    } catch (error) {
      if (!showFieldErrors(form, error)) flash("error", errorText(error));
    } finally {
      button.disabled = false;
    }
  }

  function updateOrderButton() {
    const button = $("create-order");
    const ready = state.hold && state.customer && !state.order;
    button.classList.toggle("hidden", !ready);
    button.disabled = !ready;
  }

  // ---- Order and payments --------------------------------------------------

  async function createOrder() {
    const button = $("create-order");
    if (button.disabled || !state.hold || !state.customer) return;
    clearFlash();
    button.disabled = true;
    state.orderKey ??= window.taquilla.idempotencyKey();
    try {
      const order = await api(
        "POST", "/orders",
        { hold_id: state.hold.id, customer_id: state.customer.id },
        { idempotencyKey: state.orderKey },
      );
      state.orderKey = null;
      showOrder(order);
      $("payment-form").elements.amount.focus();
    } catch (error) {
      if (error.status >= 400 && error.status < 500) state.orderKey = null;
      flash("error", errorText(error));
      button.disabled = false;
    } finally {
      updateOrderButton();
    }
  }

  function rateText(rate) {
    const english = document.documentElement.lang.startsWith("en");
    const value = english ? rate.rate : String(rate.rate).replace(".", ",");
    const [year, month, day] = String(rate.effective_date).split("-");
    const date = english ? `${month}/${day}/${year}` : `${day}/${month}/${year}`;
    return t("cashier.rate_value", { rate: value, date });
  }

  function totalsRow(label, usdCents, bsCents, testId, strong) {
    const row = document.createElement("tr");
    if (strong) row.classList.add("strong");
    row.dataset.testid = testId;
    const name = document.createElement("th");
    name.scope = "row";
    name.textContent = label;
    const first = document.createElement("td");
    first.className = "amount";
    first.textContent = usdCents === null ? "" : usd(usdCents);
    const second = document.createElement("td");
    second.className = "amount";
    second.textContent = bsCents === null ? "" : bs(bsCents);
    row.append(name, first, second);
    return row;
  }

  function showOrder(order) {
    state.order = order;
    if (order.status === "pending") rememberSale();
    else sessionStorage.removeItem(SALE_KEY);
    $("order-panel").classList.remove("hidden");
    $("customer-change").disabled = true;
    $("order-rate").textContent = `${t("cashier.rate_order")}: ${rateText(order.exchange_rate)}`;
    const rows = [totalsRow(t("cashier.subtotal"), order.subtotal_usd_cents, order.subtotal_bs_cents, "order-subtotal")];
    if (order.exempt_usd_cents > 0) {
      rows.push(totalsRow(t("cashier.exempt"), order.exempt_usd_cents, order.exempt_bs_cents, "order-exempt"));
    }
    for (const tax of order.taxes) {
      const rate = tax.rate_basis_points > 0 ? ` ${decimal(tax.rate_basis_points).replace(/\.?0+$/, "")} %` : "";
      rows.push(totalsRow(`${tax.name || t("cashier.iva")}${rate}`, tax.tax_usd_cents, tax.tax_bs_cents, "order-tax"));
    }
    rows.push(totalsRow(t("cashier.total"), order.total_usd_cents, order.total_bs_cents, "order-total", true));
    if (order.igtf_usd_cents > 0 || order.igtf_bs_cents > 0) {
      rows.push(totalsRow(t("cashier.igtf"), order.igtf_usd_cents, order.igtf_bs_cents, "order-igtf"));
    }
    rows.push(totalsRow(t("cashier.paid"), null, order.paid_bs_cents, "order-paid"));
    $("order-totals-body").replaceChildren(...rows);

    const payments = order.payments.map((payment) => {
      const item = document.createElement("li");
      item.dataset.testid = "payment-line";
      const parts = [t("cashier.payment_line", {
        method: t(`cashier.method_${payment.method}`),
        currency: payment.currency === "USD" ? "US$" : "Bs.",
        amount: inCurrency(payment.amount_cents, payment.currency),
      })];
      if (payment.igtf_cents > 0) {
        parts.push(t("cashier.payment_igtf", { amount: inCurrency(payment.igtf_cents, payment.currency) }));
      }
      if (payment.change_cents > 0) {
        parts.push(t("cashier.payment_change", {
          amount: inCurrency(payment.change_cents, payment.change_currency ?? payment.currency),
        }));
      }
      item.textContent = parts.join(" · ");
      return item;
    });
    $("payment-list").replaceChildren(...payments);

    const paid = order.status === "paid";
    $("order-due").textContent = paid
      ? ""
      : `${t("cashier.due")}: ${bs(order.balance_bs_cents)} / ${usd(order.balance_usd_cents)}`;
    $("payment-form").classList.toggle("hidden", paid || order.status !== "pending");
    $("cancel-order").classList.toggle("hidden", paid || order.payments.length > 0 || order.status !== "pending");
    updateAmountHint();

    if (paid) {
      clearInterval(state.countdownTimer);
      // The held seats are sold now; the map shows them as such.
      state.hold = null;
      $("hold-panel").classList.add("hidden");
      const change = order.payments
        .filter((payment) => payment.change_cents > 0)
        .map((payment) => inCurrency(payment.change_cents, payment.change_currency ?? payment.currency));
      flash("ok", change.length > 0 ? t("cashier.sold_change", { amount: change.join(" + ") }) : t("cashier.sold"));
      const receipt = $("open-receipt");
      receipt.href = `/app/recibo/${order.id}`;
      receipt.classList.remove("hidden");
      $("new-sale").classList.remove("hidden");
      receipt.focus();
    } else {
      startCountdown(order.payment_deadline);
    }
  }

  // Shows what is still due in the chosen currency, as the API computed it.
  function updateAmountHint() {
    const form = $("payment-form");
    const order = state.order;
    if (!order) return;
    const currency = form.elements.currency.value;
    form.elements.amount.placeholder = currency === "USD"
      ? usd(order.balance_usd_cents)
      : bs(order.balance_bs_cents);
  }

  function updatePaymentFields() {
    const form = $("payment-form");
    const method = form.elements.method.value;
    for (const element of form.querySelectorAll("[data-for-method]")) {
      element.classList.toggle("hidden", !element.dataset.forMethod.split(" ").includes(method));
    }
    // Pago Móvil is always in bolívares.
    const usdOption = form.elements.currency.querySelector("option[value=USD]");
    usdOption.disabled = method === "pago_movil";
    if (method === "pago_movil") form.elements.currency.value = "VES";
    updateAmountHint();
  }

  // Accepted ways to write an amount: "20", "20,5", "20.50", or thousands
  // grouped as "1.234,56" or "1,234.56". Anything else, such as "1,5,3",
  // is unreadable rather than guessed.
  const AMOUNT_FORMS = [
    /^(\d+)(?:[.,](\d{1,2}))?$/,
    /^(\d{1,3}(?:\.\d{3})+)(?:,(\d{1,2}))?$/,
    /^(\d{1,3}(?:,\d{3})+)(?:\.(\d{1,2}))?$/,
  ];

  // Reads an amount as cents. Returns null when unreadable.
  function amountCents(text) {
    const compact = text.replace(/\s/g, "").replace(/^(US\$|Bs\.?)/i, "");
    const match = AMOUNT_FORMS.map((form) => form.exec(compact)).find(Boolean);
    if (!match) return null;
    const whole = match[1].replace(/[.,]/g, "");
    if (!/^\d{1,12}$/.test(whole)) return null;
    const cents = Number.parseInt(whole + (match[2] ?? "").padEnd(2, "0"), 10);
    return cents > 0 ? cents : null;
  }

  async function addPayment(event) {
    event.preventDefault();
    const form = event.currentTarget;
    const button = form.querySelector("button[type=submit]");
    if (button.disabled || !state.order) return;
    clearFieldErrors(form);
    clearFlash();
    const field = (name) => form.elements[name].value.trim();
    const method = field("method");
    const amount = amountCents(field("amount"));
    if (amount === null) {
      form.querySelector('[data-field-error="amount_cents"]').textContent = t("cashier.amount_invalid");
      form.elements.amount.focus();
      return;
    }
    const body = { method, currency: field("currency"), amount_cents: amount };
    if (method === "cash" && field("change_currency")) body.change_currency = field("change_currency");
    if (method === "transfer" || method === "pago_movil") body.bank_code = field("bank_code");
    if (method !== "cash") body.reference = field("reference");
    if (method === "pago_movil") {
      body.phone = field("phone");
      body.document = field("document");
    }
    state.paymentKey ??= window.taquilla.idempotencyKey();
    button.disabled = true;
    button.textContent = t("cashier.working");
    try {
      const outcome = await api("POST", `/orders/${state.order.id}/payments`, body, {
        idempotencyKey: state.paymentKey,
      });
      state.paymentKey = null;
      form.reset();
      updatePaymentFields();
      showOrder(outcome.order);
      if (outcome.order.status === "paid") await refreshAvailability();
    } catch (error) {
      // A rejected request will not succeed with the same body; a lost
      // response (network, 5xx) is retried with the same key by the next click.
      if (error.status >= 400 && error.status < 500) state.paymentKey = null;
      if (!showFieldErrors(form, error)) flash("error", errorText(error));
    } finally {
      button.disabled = false;
      button.textContent = t("cashier.add_payment");
    }
  }

  async function cancelOrder() {
    if (!state.order) return;
    // The button sits under the payment form, so a stray click must not cancel.
    if (!window.confirm(t("cashier.cancel_confirm"))) return;
    const button = $("cancel-order");
    button.disabled = true;
    clearFlash();
    try {
      await api("POST", `/orders/${state.order.id}/cancel`, undefined, { idempotencyKey: false });
      resetSale();
      state.customer = null;
      $("customer-chosen").classList.add("hidden");
      $("customer-search").classList.remove("hidden");
      $("customer-change").disabled = false;
      flash("ok", t("cashier.order_cancelled"));
    } catch (error) {
      flash("error", errorText(error));
    } finally {
      button.disabled = false;
      await refreshAvailability();
    }
  }

  async function loadBanks() {
    try {
      const banks = await api("GET", "/banks");
      const select = $("payment-form").elements.bank_code;
      for (const bank of banks) {
        const option = document.createElement("option");
        option.value = bank.code;
        option.textContent = `${bank.code} — ${bank.name}`;
        select.append(option);
      }
    } catch (error) {
      flash("error", errorText(error));
    }
  }

  // ---- Wiring ----------------------------------------------------------------

  document.addEventListener("DOMContentLoaded", () => {
    for (const button of document.querySelectorAll("[data-zone-id]")) {
      button.addEventListener("click", () => chooseZone(button.dataset.zoneId));
    }
    const map = $("seat-map");
    map.addEventListener("click", (event) => {
      const seat = event.target.closest?.("[data-seat-id]");
      if (seat) {
        focusSeat(seat.dataset.seatId);
        toggleSeat(seat.dataset.seatId);
      }
    });
    map.addEventListener("keydown", onMapKey);
    $("clear-selection").addEventListener("click", () => {
      state.selection.clear();
      repaint();
      updateSelection();
    });
    $("quantity").addEventListener("input", updateHoldButton);
    $("quantity").max = String(data.max_units);
    $("hold").addEventListener("click", hold);
    $("release").addEventListener("click", release);
    $("customer-search").addEventListener("submit", searchCustomer);
    $("customer-new").addEventListener("submit", createCustomer);
    $("customer-change").addEventListener("click", changeCustomer);
    $("create-order").addEventListener("click", createOrder);
    const paymentForm = $("payment-form");
    paymentForm.addEventListener("submit", addPayment);
    paymentForm.elements.method.addEventListener("change", updatePaymentFields);
    paymentForm.elements.currency.addEventListener("change", updateAmountHint);
    // A changed payment is a new request, so it gets a new Idempotency-Key.
    paymentForm.addEventListener("input", () => { state.paymentKey = null; });
    $("cancel-order").addEventListener("click", cancelOrder);
    updatePaymentFields();
    loadBanks();

    resumeSale().then((resumed) => {
      if (!resumed && data.zones.length === 1) chooseZone(data.zones[0].id);
    });
    setInterval(() => {
      if (!document.hidden) refreshAvailability();
    }, POLL_MILLISECONDS);
  });
})();
