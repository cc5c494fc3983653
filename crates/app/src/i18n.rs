//! User-facing messages in Spanish (es-VE, the default) and English, chosen by
//! the request's `Accept-Language`. Error codes and rule names stay English.

use axum::http::HeaderMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locale {
    Es,
    En,
}

impl Locale {
    /// Picks English only when the first language the client lists is
    /// English. A language with `q=0` is one the client does not accept, so it
    /// is skipped.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let first = headers
            .get(axum::http::header::ACCEPT_LANGUAGE)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split(',').find(|tag| !zero_weight(tag)))
            .and_then(|tag| tag.split(';').next())
            .map(|tag| tag.trim().to_ascii_lowercase())
            .unwrap_or_default();
        if first.starts_with("en") {
            Locale::En
        } else {
            Locale::Es
        }
    }
}

/// Tells whether an `Accept-Language` entry has a weight of zero (`en;q=0`).
fn zero_weight(entry: &str) -> bool {
    entry.split(';').skip(1).any(|parameter| {
        parameter
            .trim()
            .strip_prefix("q=")
            .and_then(|weight| weight.trim().parse::<f32>().ok())
            .is_some_and(|weight| weight <= 0.0)
    })
}

/// Returns the message for an error `code`.
pub fn error_message(code: &str, locale: Locale) -> &'static str {
    let (es, en) = match code {
        "validation_failed" => (
            "Los datos enviados no son válidos.",
            "The submitted data is invalid.",
        ),
        "invalid_json" => (
            "El cuerpo de la solicitud no es JSON válido.",
            "The request body is not valid JSON.",
        ),
        "invalid_query" => (
            "Los parámetros de la consulta no son válidos.",
            "The query parameters are invalid.",
        ),
        "invalid_path" => (
            "El identificador de la ruta no es válido.",
            "The identifier in the path is invalid.",
        ),
        "invalid_cursor" => (
            "El cursor de paginación no es válido.",
            "The pagination cursor is invalid.",
        ),
        "idempotency_key_required" => (
            "Esta operación requiere la cabecera Idempotency-Key.",
            "This operation requires an Idempotency-Key header.",
        ),
        "idempotency_key_repeated" => (
            "Envíe la cabecera Idempotency-Key una sola vez.",
            "Send the Idempotency-Key header only once.",
        ),
        "idempotency_key_invalid" => (
            "La cabecera Idempotency-Key debe tener entre 1 y 255 caracteres visibles.",
            "The Idempotency-Key header must have 1 to 255 visible characters.",
        ),
        "idempotency_key_reused" => (
            "Esta Idempotency-Key ya se usó con una solicitud distinta.",
            "This Idempotency-Key was already used with a different request.",
        ),
        "tenant_required" => (
            "Indique la organización con la cabecera X-Tenant-Id.",
            "Name the tenant with the X-Tenant-Id header.",
        ),
        "missing_token" => ("Debe iniciar sesión.", "Authentication is required."),
        "invalid_token" => (
            "La sesión no es válida o expiró.",
            "The session is invalid or has expired.",
        ),
        "invalid_credentials" => (
            "Usuario o contraseña incorrectos.",
            "Invalid username or password.",
        ),
        "invalid_refresh_token" => (
            "El token de renovación no es válido.",
            "The refresh token is invalid.",
        ),
        "account_locked" => (
            "La cuenta está bloqueada por demasiados intentos fallidos. Intente más tarde.",
            "The account is locked after too many failed attempts. Try again later.",
        ),
        "rate_limited" => (
            "Demasiadas solicitudes en poco tiempo.",
            "Too many requests in a short time.",
        ),
        "csrf_token_invalid" => (
            "La página venció o la solicitud no vino de taquilla. Recargue la página e intente de nuevo.",
            "The page has expired or the request did not come from taquilla. Reload the page and try again.",
        ),
        "web_role_not_allowed" => (
            "Este usuario no puede usar la taquilla web. Use la API.",
            "This user cannot use the web box office. Use the API.",
        ),
        "forbidden" => (
            "No tiene permiso para esta operación.",
            "You are not allowed to do this.",
        ),
        "not_found" => ("No se encontró el recurso.", "The resource was not found."),
        "seats_unavailable" => (
            "Algunos asientos ya no están disponibles.",
            "Some seats are no longer available.",
        ),
        "seat_not_found" => (
            "Algunos asientos no existen en esta zona.",
            "Some seats do not exist in this zone.",
        ),
        "insufficient_capacity" => (
            "No quedan suficientes entradas en esta zona.",
            "Not enough tickets are left in this zone.",
        ),
        "event_not_on_sale" => ("El evento no está a la venta.", "The event is not on sale."),
        "sale_window_closed" => (
            "La venta de este evento no está abierta en este momento.",
            "Sales for this event are not open now.",
        ),
        "event_not_ready" => (
            "El evento no se puede activar todavía.",
            "The event cannot be activated yet.",
        ),
        "event_status_transition" => (
            "El evento no admite ese cambio de estado.",
            "The event does not allow that status change.",
        ),
        "hold_not_active" => (
            "La reserva ya no está activa.",
            "The hold is no longer active.",
        ),
        "hold_expired" => ("La reserva expiró.", "The hold has expired."),
        "hold_already_ordered" => (
            "Esta reserva ya tiene una orden.",
            "This hold already has an order.",
        ),
        "exchange_rate_missing" => (
            "No hay tasa BCV registrada para hoy. Registre la tasa del día antes de vender.",
            "No BCV rate is recorded for today. Enter today's rate before selling.",
        ),
        "order_not_payable" => (
            "La orden no admite pagos.",
            "The order does not accept payments.",
        ),
        "order_expired" => (
            "El plazo de pago de la orden venció.",
            "The order's payment deadline has passed.",
        ),
        "order_not_cancellable" => (
            "La orden no se puede cancelar.",
            "The order cannot be cancelled.",
        ),
        "order_not_voidable" => (
            "Solo se puede anular una orden pagada.",
            "Only a paid order can be voided.",
        ),
        "amount_exceeds_balance" => (
            "El monto supera el saldo pendiente. Solo el efectivo admite vuelto.",
            "The amount exceeds the balance due. Only cash allows change.",
        ),
        "payment_reference_used" => (
            "Esa referencia de Pago Móvil ya fue usada.",
            "That Pago Móvil reference has already been used.",
        ),
        "ticket_not_found" => ("Entrada desconocida.", "Unknown ticket."),
        "ticket_already_used" => (
            "La entrada ya fue usada.",
            "The ticket has already been used.",
        ),
        "ticket_cancelled" => ("La entrada está anulada.", "The ticket is cancelled."),
        "event_cancelled" => (
            "El evento de esta entrada fue cancelado.",
            "This ticket's event was cancelled.",
        ),
        "order_has_payments" => (
            "La orden ya tiene pagos: no se puede cancelar sin reembolsarlos.",
            "The order already has payments: it cannot be cancelled without refunding them.",
        ),
        "method_not_allowed" => (
            "Método HTTP no permitido en esta ruta.",
            "HTTP method not allowed on this route.",
        ),
        "ticket_wrong_event" => (
            "La entrada es de otro evento.",
            "The ticket is for another event.",
        ),
        "ticket_signature_invalid" => (
            "El código QR no es auténtico.",
            "The QR code is not authentic.",
        ),
        "username_taken" => (
            "Ese nombre de usuario ya existe.",
            "That username already exists.",
        ),
        "tenant_slug_taken" => (
            "Ese identificador de organización ya existe.",
            "That tenant slug already exists.",
        ),
        "event_not_editable" => (
            "El evento está cerrado o cancelado y ya no se puede modificar.",
            "The event is closed or cancelled and can no longer be changed.",
        ),
        "fiscal_day_closed" => (
            "Su jornada fiscal de hoy ya se cerró con el reporte Z; podrá vender de nuevo el próximo día.",
            "Your fiscal day is closed by a Z report; you can sell again on the next fiscal day.",
        ),
        "z_report_exists" => (
            "Esa jornada fiscal ya tiene su reporte Z.",
            "That fiscal day already has its Z report.",
        ),
        "amount_mismatch" => (
            "Los pagos no coinciden con el total de la venta. Revise el saldo indicado: cobre la diferencia o quite los pagos que sobran.",
            "The payments do not match the sale's total. Check the balance shown, then collect the difference or remove the payments that are not needed.",
        ),
        "offline_block_open" => (
            "Este cajero tiene un bloque de números fuera de línea abierto; sincronice y cierre el bloque antes del reporte Z.",
            "This cashier has an open offline number block; sync and close it before the Z report.",
        ),
        "offline_block_closed" => (
            "El bloque de números fuera de línea ya está cerrado.",
            "The offline number block is already closed.",
        ),
        "offline_number_reused" => (
            "Ese número del bloque ya se sincronizó con otra venta; el terminal no puede reutilizar números.",
            "That number of the block was already synced with another sale; a terminal cannot reuse numbers.",
        ),
        "documents_pending_issue" => (
            "Hay documentos fiscales de esta jornada pendientes de emisión; espere a que se emitan o resuelva los rechazados antes del reporte Z.",
            "Fiscal documents of this day are still waiting to be issued; wait for them or resolve the rejected ones before the Z report.",
        ),
        "invoice_pending" => (
            "La factura de esta orden aún no se ha emitido; no se puede anular todavía.",
            "This order's invoice has not been issued yet, so it cannot be voided yet.",
        ),
        "series_exists" => (
            "Ya existe una serie con ese código.",
            "A series with that code already exists.",
        ),
        "document_number_taken" => (
            "El proveedor devolvió un número de documento que ya está registrado.",
            "The provider returned a document number that is already recorded.",
        ),
        "issue_not_rejected" => (
            "Solo se puede mover a otra serie un documento rechazado.",
            "Only a rejected document can be moved to another series.",
        ),
        "issue_same_series" => (
            "El documento ya está en esa serie; para enviarlo de nuevo use el reintento.",
            "The document is already in that series; use the retry to send it again.",
        ),
        "issue_already_issued_by_provider" => (
            "El proveedor ya emitió este documento con números que chocan con otros registrados; anúlelo con el proveedor antes de emitirlo en otra serie.",
            "The provider already issued this document with numbers that clash with recorded ones; annul it with the provider before issuing it in another series.",
        ),
        "table_must_be_complete" => (
            "Esta zona vende mesas completas: seleccione todos los asientos de la mesa.",
            "This zone sells whole tables: select every seat of the table.",
        ),
        "discount_code_unavailable" => (
            "El código de descuento no existe, está inactivo o ya agotó sus usos.",
            "The discount code does not exist, is inactive or has no uses left.",
        ),
        "discount_code_taken" => (
            "Ya existe ese código de descuento para el evento.",
            "That discount code already exists for the event.",
        ),
        "seat_already_in_table" => (
            "Alguno de los asientos ya pertenece a otra mesa.",
            "One of the seats already belongs to another table.",
        ),
        "table_name_taken" => (
            "Ya existe una mesa con ese nombre en la zona.",
            "A table with that name already exists in the zone.",
        ),
        "row_not_found" => (
            "La fila indicada no existe en la zona.",
            "The row does not exist in the zone.",
        ),
        "stage_ended" => (
            "La etapa de precio ya terminó.",
            "The price stage has already ended.",
        ),
        "tax_rule_ended" => (
            "La regla de impuesto ya no está vigente.",
            "The tax rule is no longer in force.",
        ),
        "service_busy" => (
            "El sistema está ocupado. Reintente en unos segundos.",
            "The system is busy. Retry in a few seconds.",
        ),
        "payload_too_large" => (
            "La solicitud es demasiado grande.",
            "The request is too large.",
        ),
        _ => (
            "Error interno. Intente de nuevo o contacte al soporte.",
            "Internal error. Try again or contact support.",
        ),
    };
    match locale {
        Locale::Es => es,
        Locale::En => en,
    }
}

/// Returns the explanation of a validation `rule`.
pub fn rule_message(rule: &str, locale: Locale) -> &'static str {
    let (es, en) = match rule {
        "required" => ("es obligatorio", "is required"),
        "unknown_series" => (
            "no es una serie de esta organización",
            "is not a series of this tenant",
        ),
        "series_not_offline" => (
            "no es una serie fuera de línea (adaptador offline)",
            "is not an offline series (offline adapter)",
        ),
        "series_offline_only" => (
            "es una serie fuera de línea: sus números se entregan en bloques a los terminales",
            "is an offline series: its numbers are handed to terminals in blocks",
        ),
        "offline_invoices_only" => (
            "solo sirve para series de facturas",
            "is for invoice series only",
        ),
        "reason_reserved" => (
            "es un motivo que solo registra el servidor; use otro",
            "is a reason only the server records; use another",
        ),
        "number_outside_block" => (
            "no pertenece al bloque de números",
            "is not a number of the block",
        ),
        "not_increasing" => (
            "debe ser mayor que el número anterior del lote",
            "must be greater than the previous number of the batch",
        ),
        "void_with_sale" => (
            "no puede anular un número y enviar una venta a la vez",
            "cannot void a number and send a sale at once",
        ),
        "series_wrong_kind" => (
            "es una serie de otro tipo de documento",
            "is a series of another document kind",
        ),
        "series_code_format" => (
            "debe tener de 1 a 10 letras o dígitos",
            "must have 1 to 10 letters or digits",
        ),
        "unknown_document_kind" => (
            "debe ser invoice o credit_note",
            "must be invoice or credit_note",
        ),
        "unknown_adapter" => (
            "debe ser internal, digital_printer o fiscal_printer",
            "must be internal, digital_printer or fiscal_printer",
        ),
        "unknown_printer_driver" => (
            "no es un controlador de impresora fiscal disponible (use simulated)",
            "is not an available fiscal printer driver (use simulated)",
        ),
        "must_be_object" => ("debe ser un objeto JSON", "must be a JSON object"),
        "url_format" => (
            "debe ser una URL http:// o https://",
            "must be an http:// or https:// URL",
        ),
        "only_for_invoice_series" => (
            "solo aplica a series de facturas",
            "applies only to invoice series",
        ),
        "not_used_by_adapter" => (
            "no aplica a este adaptador; deje el campo vacío",
            "is not used by this adapter; leave it empty",
        ),
        "not_a_seller" => (
            "no es un usuario que venda (taquillero, administrador o cliente de API)",
            "is not a selling user (cashier, admin or API client)",
        ),
        "fiscal_day_before_tenant" => (
            "es anterior a la creación de la organización",
            "is before the tenant was created",
        ),
        "fiscal_day_in_future" => ("no puede ser un día futuro", "cannot be a future day"),

        "too_long" => ("es demasiado largo", "is too long"),
        "out_of_range" => (
            "está fuera del rango permitido",
            "is out of the allowed range",
        ),
        "positive" => ("debe ser mayor que cero", "must be greater than zero"),
        "not_negative" => ("no puede ser negativo", "cannot be negative"),
        "invalid_value" => ("no es un valor permitido", "is not an allowed value"),
        "duplicate_field" => (
            "aparece más de una vez en la solicitud",
            "appears more than once in the request",
        ),
        "unknown_field" => (
            "no es un campo de esta solicitud",
            "is not a field of this request",
        ),
        "invalid_type" => (
            "tiene un tipo de dato incorrecto",
            "has the wrong data type",
        ),
        "invalid_characters" => (
            "contiene caracteres de control no permitidos",
            "contains control characters, which are not allowed",
        ),
        "visible_ascii_only" => (
            "solo admite caracteres ASCII visibles: sin espacios, acentos ni eñes",
            "accepts only visible ASCII characters: no spaces or accented letters",
        ),
        "too_large" => ("es demasiado grande", "is too large"),
        "in_future" => ("debe estar en el futuro", "must be in the future"),
        "customer_document_required" => (
            "debe tener cédula o RIF para emitir la factura",
            "needs a cédula or RIF for the invoice",
        ),
        "uuid" => ("debe ser un identificador UUID", "must be a UUID"),
        "rif_check_digit" => (
            "tiene un dígito verificador de RIF incorrecto",
            "has a wrong RIF check digit",
        ),
        "rif_format" => (
            "debe ser un RIF: letra, 8 dígitos y dígito verificador (J-12345678-9)",
            "must be a RIF: letter, 8 digits and check digit (J-12345678-9)",
        ),
        "rif_letter" => (
            "debe empezar por V, E, J, P o G",
            "must start with V, E, J, P or G",
        ),
        "cedula_format" => (
            "debe ser una cédula: V o E y de 6 a 8 dígitos (V-12345678)",
            "must be a cédula: V or E and 6 to 8 digits (V-12345678)",
        ),
        "cedula_letter" => ("debe empezar por V o E", "must start with V or E"),
        "document_letter" => (
            "debe empezar por V, E (cédula) o V, E, J, P, G (RIF)",
            "must start with V, E (cédula) or V, E, J, P, G (RIF)",
        ),
        "phone_format" => (
            "no es un número de teléfono válido",
            "is not a valid phone number",
        ),
        "phone_venezuelan" => (
            "no es un número venezolano válido (ejemplo: 0412-1234567)",
            "is not a valid Venezuelan number (example: 0412-1234567)",
        ),
        "phone_mobile" => (
            "debe ser un celular venezolano (0412, 0414, 0416, 0424, 0426…)",
            "must be a Venezuelan mobile number (0412, 0414, 0416, 0424, 0426…)",
        ),
        "email_format" => (
            "no es un correo electrónico válido",
            "is not a valid e-mail address",
        ),
        "contact_required" => (
            "requiere un teléfono o un correo electrónico",
            "requires a phone number or an e-mail address",
        ),
        "bank_code_unknown" => (
            "no es un código de banco conocido",
            "is not a known bank code",
        ),
        "decimal_with_at_most_8_places" => (
            "debe ser un número decimal con hasta 8 decimales (36,12345678)",
            "must be a decimal number with at most 8 places (36.12345678)",
        ),
        "date_format" => ("debe ser una fecha AAAA-MM-DD", "must be a date YYYY-MM-DD"),
        "datetime_format" => (
            "debe ser una fecha y hora RFC 3339 (2026-12-31T20:00:00-04:00)",
            "must be an RFC 3339 date-time (2026-12-31T20:00:00-04:00)",
        ),
        "duplicate" => ("contiene elementos repetidos", "contains duplicates"),
        "not_allowed_for_general_admission" => (
            "no se usa en una zona de entrada general",
            "is not used in a general-admission zone",
        ),
        "required_for_numbered_zone" => (
            "es obligatorio en una zona numerada",
            "is required in a numbered zone",
        ),
        "seats_or_quantity" => (
            "admite asientos o una cantidad, pero no ambos a la vez",
            "give seats or a quantity, not both",
        ),
        "not_allowed_for_method" => (
            "no aplica a este método de pago",
            "does not apply to this payment method",
        ),
        "currency_for_method" => (
            "no es una moneda aceptada por este método de pago",
            "is not a currency this payment method accepts",
        ),
        "after_start" => ("debe ser posterior al inicio", "must be after the start"),
        "zone_required" => (
            "debe tener al menos una zona",
            "must have at least one zone",
        ),
        "price_required" => (
            "debe tener precio en todas las zonas",
            "must have a price in every zone",
        ),
        "sale_window_required" => ("debe tener una ventana de venta", "must have a sale window"),
        "stage_window_overlaps" => (
            "se solapa con otra etapa del mismo alcance o va antes de ella",
            "overlaps or precedes another stage of the same scope",
        ),
        "stage_quantity_exceeds_capacity" => (
            "supera la capacidad de la zona o del evento",
            "exceeds the capacity of the zone or event",
        ),
        "numbered_zone_only" => (
            "solo aplica a zonas numeradas",
            "applies to numbered zones only",
        ),
        "does_not_match_seats" => (
            "no coincide con los asientos seleccionados",
            "does not match the selected seats",
        ),
        "not_allowed_with_courtesy" => (
            "no se puede usar en una cortesía",
            "cannot be used on a courtesy",
        ),
        "discount_code_format" => (
            "debe tener de 3 a 32 letras, dígitos o guiones",
            "must have 3 to 32 letters, digits or dashes",
        ),
        "one_of_tenant_venue_event" => (
            "debe ser tenant, venue o event",
            "must be tenant, venue or event",
        ),
        "one_of_by_seat_complete_only" => (
            "debe ser by_seat o complete_only",
            "must be by_seat or complete_only",
        ),
        "unknown_payment_method" => (
            "contiene un método de pago desconocido",
            "contains an unknown payment method",
        ),
        "too_many" => ("tiene demasiados elementos", "has too many items"),
        "exchange_rate_superseded" => (
            "es una tasa corregida; fije la tasa vigente",
            "is a corrected rate; pin the current one",
        ),
        "exchange_rate_not_effective" => (
            "es una tasa con fecha valor futura",
            "is a rate whose effective date is in the future",
        ),
        "must_lower_price" => (
            "debe rebajar el precio (porcentaje o monto negativo)",
            "must lower the price (a negative percentage or amount)",
        ),
        "compound_percentage_only" => (
            "solo aplica a impuestos porcentuales",
            "applies to percentage taxes only",
        ),
        "not_allowed_for_scope" => ("no aplica a este alcance", "does not apply to this scope"),
        _ => ("no es válido", "is invalid"),
    };
    match locale {
        Locale::Es => es,
        Locale::En => en,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn spanish_is_the_default() {
        assert_eq!(Locale::from_headers(&HeaderMap::new()), Locale::Es);
        let mut headers = HeaderMap::new();
        headers.insert(
            "accept-language",
            HeaderValue::from_static("es-VE,es;q=0.9,en;q=0.5"),
        );
        assert_eq!(Locale::from_headers(&headers), Locale::Es);
    }

    #[test]
    fn english_when_listed_first() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "accept-language",
            HeaderValue::from_static("en-US,en;q=0.9"),
        );
        assert_eq!(Locale::from_headers(&headers), Locale::En);
    }

    #[test]
    fn language_with_zero_weight_is_skipped() {
        let language = |value: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert("accept-language", HeaderValue::from_static(value));
            Locale::from_headers(&headers)
        };
        assert_eq!(language("en;q=0"), Locale::Es);
        assert_eq!(language("en; q=0.0, es"), Locale::Es);
        assert_eq!(language("en;q=0, en-GB;q=0.8"), Locale::En);
        assert_eq!(language("en;q=0.1"), Locale::En);
    }
}
