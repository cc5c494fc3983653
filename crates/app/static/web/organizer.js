// Script of the organiser's pages: sends the management forms to the JSON
// API, draws the preview of a numbered zone's map, runs the event lifecycle
// and stage end buttons, and submits the dashboard's selectors when they change.
"use strict";

(function () {
  const { api, t } = window.taquilla;
  const FLASH_KEY = "taquilla.organizer.flash";
  // The forms take Caracas wall-clock times. Caracas has kept UTC-04:00 all
  // year since 2016-05-01.
  const CARACAS_OFFSET = "-04:00";
  // Seats the preview draws at most. A larger zone is counted but not drawn.
  const MAX_PREVIEW_SEATS = 20000;
  const SVG = "http://www.w3.org/2000/svg";

  const flashError = () => document.querySelector('[data-testid="flash-error"]');
  const flashOk = () => document.querySelector('[data-testid="flash-ok"]');

  function showError(words) {
    const ok = flashOk();
    if (ok) ok.classList.add("hidden");
    const element = flashError();
    if (!element) return;
    element.textContent = words;
    element.classList.remove("hidden");
    element.scrollIntoView({ block: "nearest" });
  }

  function showOk(words) {
    const error = flashError();
    if (error) error.classList.add("hidden");
    const element = flashOk();
    if (!element) return;
    element.textContent = words;
    element.classList.remove("hidden");
  }

  // Error of a form value that the page checks before calling the API.
  // `field` is the name of the input.
  class InputError extends Error {
    constructor(field, message) {
      super(message);
      this.field = field;
    }
  }

  // Parses `25`, `25,5`, `1.234,56` or `1234.56` into integer cents without
  // floating point. Returns null for anything else.
  function parseCents(text) {
    let value = String(text ?? "").trim().replace(/\s/g, "");
    if (value === "") return null;
    if (value.includes(",")) {
      value = value.replace(/\./g, "").replace(",", ".");
    }
    const match = /^(-?)(\d+)(?:\.(\d{1,2}))?$/.exec(value);
    if (!match) return null;
    const cents = Number(match[2]) * 100 + Number((match[3] ?? "").padEnd(2, "0"));
    return match[1] === "-" ? -cents : cents;
  }

  // Returns the RFC 3339 instant of a `datetime-local` value in Caracas time,
  // or undefined when the input is empty.
  function caracasInstant(value) {
    if (!value) return undefined;
    const withSeconds = value.length === 16 ? `${value}:00` : value;
    return `${withSeconds}${CARACAS_OFFSET}`;
  }

  // Reads a whole number; "2.7" is refused rather than cut to 2.
  function optionalInteger(form, name) {
    const value = form.elements[name]?.value.trim();
    if (!value) return undefined;
    if (!/^-?\d{1,9}$/.test(value)) throw new InputError(name, t("organizer.invalid_integer"));
    return Number.parseInt(value, 10);
  }

  // Reads a whole number for the map preview, which draws nothing for
  // anything else instead of showing an error while the user types.
  function previewInteger(form, name) {
    const value = form.elements[name]?.value.trim() ?? "";
    return /^\d{1,9}$/.test(value) ? Number.parseInt(value, 10) : 0;
  }

  function requiredCents(form, name) {
    const cents = parseCents(form.elements[name].value);
    if (cents === null) throw new InputError(name, t("organizer.invalid_amount"));
    return cents;
  }

  // Percentages are typed with up to two decimals, so their hundredths are
  // basis points.
  function requiredBasisPoints(form, name) {
    const basisPoints = parseCents(form.elements[name].value);
    if (basisPoints === null) throw new InputError(name, t("organizer.invalid_percent"));
    return basisPoints;
  }

  // Row labels as the server names them: A … Z, AA, AB …
  function rowLabel(index) {
    let label = "";
    let remaining = index + 1;
    while (remaining > 0) {
      remaining -= 1;
      label = String.fromCharCode(65 + (remaining % 26)) + label;
      remaining = Math.floor(remaining / 26);
    }
    return label;
  }

  // Builders of each form's API request: they return the path, the body and,
  // when it is not POST, the method.
  const builders = {
    venue(form) {
      return {
        path: "/venues",
        body: {
          name: form.elements.name.value,
          address: form.elements.address.value,
          city: form.elements.city.value,
        },
      };
    },
    event(form) {
      return {
        path: "/events",
        body: {
          venue_id: form.elements.venue_id.value,
          name: form.elements.name.value,
          description: form.elements.description.value || undefined,
          starts_at: caracasInstant(form.elements.starts_at.value) ?? "",
          // An event without a sale window cannot go on sale later, so
          // empty sale dates are sent and the API names the missing field.
          sale_starts_at: caracasInstant(form.elements.sale_starts_at.value) ?? "",
          sale_ends_at: caracasInstant(form.elements.sale_ends_at.value) ?? "",
          hold_minutes: optionalInteger(form, "hold_minutes"),
          payment_minutes: optionalInteger(form, "payment_minutes"),
        },
      };
    },
    zone(form) {
      const kind = form.elements.kind.value;
      const body = {
        name: form.elements.name.value,
        kind,
        price_usd_cents: requiredCents(form, "price"),
        entries_per_ticket: optionalInteger(form, "entries_per_ticket"),
      };
      if (kind === "numbered") {
        const rows = optionalInteger(form, "row_count") ?? 0;
        const seats = optionalInteger(form, "seats_per_row") ?? 0;
        body.rows = Array.from({ length: Math.max(rows, 0) }, () => seats);
      } else {
        body.capacity = optionalInteger(form, "capacity");
      }
      return { path: `/events/${form.dataset.eventId}/zones`, body };
    },
    stage(form) {
      const kind = form.elements.modifier_kind.value;
      const modifier =
        kind === "percent"
          ? { kind, basis_points: requiredBasisPoints(form, "modifier_value") }
          : { kind, usd_cents: requiredCents(form, "modifier_value") };
      return {
        path: `/events/${form.dataset.eventId}/stages`,
        body: {
          zone_id: form.elements.zone_id.value || undefined,
          name: form.elements.name.value,
          modifier,
          starts_at: caracasInstant(form.elements.starts_at.value),
          ends_at: caracasInstant(form.elements.ends_at.value),
          quantity_limit: optionalInteger(form, "quantity_limit"),
        },
      };
    },
    markup(form) {
      const body = {};
      if (form.elements.row_markup.value.trim() !== "") {
        body.row_markup_basis_points = requiredBasisPoints(form, "row_markup");
      }
      const row = form.elements.row.value.trim();
      if (row !== "") {
        // An empty value removes the row's own markup.
        const basisPoints =
          form.elements.row_value.value.trim() === "" ? null : requiredBasisPoints(form, "row_value");
        body.rows = [{ row, basis_points: basisPoints }];
      }
      if (Object.keys(body).length === 0) {
        throw new InputError("row_markup", t("organizer.markups.empty"));
      }
      return {
        method: "PATCH",
        path: `/zones/${form.elements.zone_id.value}/pricing`,
        body,
      };
    },
    rate(form) {
      return {
        path: "/exchange-rates",
        body: {
          // `1.234,56` is sent as `1234.56`. The API reads a comma as the
          // decimal mark but takes no thousands separators.
          rate: form.elements.rate.value.trim().replace(/\.(?=.*,)/g, "").replace(",", "."),
          effective_date: form.elements.effective_date.value,
          source: form.elements.source.value,
        },
      };
    },
    user(form) {
      return {
        path: "/users",
        body: {
          username: form.elements.username.value,
          email: form.elements.email.value,
          password: form.elements.password.value,
          role: form.elements.role.value,
        },
      };
    },
  };

  // API field names that differ from the form's input names.
  const INPUT_OF_FIELD = {
    price_usd_cents: "price",
    rows: "row_count",
    modifier: "modifier_value",
    row_markup_basis_points: "row_markup",
    "rows[0].row": "row",
    "rows[0].basis_points": "row_value",
  };

  function markInvalid(form, fields) {
    for (const input of form.querySelectorAll("[aria-invalid]")) {
      input.removeAttribute("aria-invalid");
    }
    let first = null;
    for (const field of fields) {
      const input = form.elements[INPUT_OF_FIELD[field] ?? field];
      if (input && typeof input.setAttribute === "function") {
        input.setAttribute("aria-invalid", "true");
        first = first ?? input;
      }
    }
    if (first) first.focus();
  }

  async function submitForm(form) {
    const build = builders[form.dataset.apiForm];
    const button = form.querySelector('button[type="submit"]');
    let request;
    try {
      request = build(form);
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      markInvalid(form, [error.field]);
      showError(error.message);
      return;
    }
    if (button) button.disabled = true;
    try {
      await api(request.method ?? "POST", request.path, request.body);
      sessionStorage.setItem(FLASH_KEY, t("organizer.saved"));
      window.location.reload();
    } catch (error) {
      const fieldErrors = error.details?.errors ?? [];
      markInvalid(
        form,
        fieldErrors.map((entry) => entry.field),
      );
      const extra = fieldErrors.slice(1).map((entry) => entry.message);
      showError([error.message, ...extra].join(" "));
    } finally {
      if (button) button.disabled = false;
    }
  }

  // Shows the fields of the chosen zone kind and redraws the preview.
  function updateZoneForm(form) {
    const kind = form.elements.kind.value;
    for (const group of form.querySelectorAll("[data-kind-fields]")) {
      group.classList.toggle("hidden", group.dataset.kindFields !== kind);
    }
    if (kind === "numbered") drawPreview(form);
  }

  function drawPreview(form) {
    const svg = form.querySelector('[data-testid="zone-preview"]');
    const total = form.querySelector('[data-testid="zone-preview-total"]');

    const rows = previewInteger(form, "row_count");
    const seats = previewInteger(form, "seats_per_row");
    total.textContent = t("organizer.zones.preview_total", {
      rows,
      seats,
      total: rows * seats,
    });
    svg.replaceChildren();

    if (rows * seats === 0 || rows * seats > MAX_PREVIEW_SEATS) {
      svg.setAttribute("viewBox", "0 0 0 0");
      svg.setAttribute("width", "0");
      svg.setAttribute("height", "0");
      return;
    }

    // The same layout as the dashboard's occupancy map.
    const size = 12;
    const gap = 2;
    const labelSpace = 28;
    const width = labelSpace + seats * (size + gap);
    const height = rows * (size + gap);
    svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    svg.setAttribute("width", String(width * 2));
    svg.setAttribute("height", String(height * 2));

    for (let row = 0; row < rows; row += 1) {
      const y = row * (size + gap);
      const label = document.createElementNS(SVG, "text");
      label.setAttribute("class", "row-label");
      label.setAttribute("x", "0");
      label.setAttribute("y", String(y + size - 2));
      label.textContent = rowLabel(row);
      svg.append(label);
      for (let seat = 0; seat < seats; seat += 1) {
        const rect = document.createElementNS(SVG, "rect");
        rect.setAttribute("class", "seat-free");
        rect.setAttribute("x", String(labelSpace + seat * (size + gap)));
        rect.setAttribute("y", String(y));
        rect.setAttribute("width", String(size));
        rect.setAttribute("height", String(size));
        svg.append(rect);
      }
    }
  }

  async function runEventAction(button) {
    const { eventAction: action, eventId, eventName } = button.dataset;
    if (action === "close" || action === "cancel") {
      const question = t(`organizer.events.confirm_${action}`, { name: eventName });
      if (!window.confirm(question)) return;
    }
    button.disabled = true;
    try {
      await api("POST", `/events/${eventId}/${action}`);
      sessionStorage.setItem(FLASH_KEY, t("organizer.saved"));
      window.location.reload();
    } catch (error) {
      showError(error.message);
      button.disabled = false;
    }
  }

  async function endStage(button) {
    const { stageEnd: stageId, stageName } = button.dataset;
    if (!window.confirm(t("organizer.stages.confirm_end", { name: stageName }))) return;
    button.disabled = true;
    try {
      await api("POST", `/stages/${stageId}/end`);
      sessionStorage.setItem(FLASH_KEY, t("organizer.saved"));
      window.location.reload();
    } catch (error) {
      showError(error.message);
      button.disabled = false;
    }
  }

  function start() {
    const saved = sessionStorage.getItem(FLASH_KEY);
    if (saved) {
      sessionStorage.removeItem(FLASH_KEY);
      showOk(saved);
    }
    for (const select of document.querySelectorAll("select[data-autosubmit]")) {
      select.addEventListener("change", () => select.form.requestSubmit());
    }
    for (const form of document.querySelectorAll("form[data-api-form]")) {
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        submitForm(form);
      });
    }
    const zoneForm = document.querySelector('form[data-api-form="zone"]');
    if (zoneForm) {
      zoneForm.elements.kind.addEventListener("change", () => updateZoneForm(zoneForm));
      zoneForm.elements.row_count.addEventListener("input", () => drawPreview(zoneForm));
      zoneForm.elements.seats_per_row.addEventListener("input", () => drawPreview(zoneForm));
      updateZoneForm(zoneForm);
    }
    for (const button of document.querySelectorAll("button[data-event-action]")) {
      button.addEventListener("click", () => runEventAction(button));
    }
    for (const button of document.querySelectorAll("button[data-stage-end]")) {
      button.addEventListener("click", () => endStage(button));
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
