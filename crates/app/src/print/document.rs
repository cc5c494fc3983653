//! The printed form of a fiscal document (factura or nota de crédito).
//!
//! The print shows what Providencia SNAT/2011/00071 art. 13 requires of a factura:
//! the title, the series and number, the control number and its range when
//! known, the issuer's name, RIF and domicilio fiscal, the issue date as
//! DDMMAAAA (printed with slashes), the buyer's name and RIF or cédula, each
//! line with quantity, description and amount (exempt lines marked « (E)»),
//! the taxable base and tax per rate with the percentage, the exempt total
//! apart, IGTF apart, totals in Bs. and US$ with the exchange rate applied,
//! and «sin derecho a crédito fiscal» on copies. A nota de crédito also cites
//! the date, number and amount of the factura it corrects (arts. 22–23).

use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use serde_json::Value;
use taquilla_domain::fiscal::{format_issue_date, format_issue_time};
use taquilla_store::model::{FiscalDocument, TaxTotal};

use super::format;
use super::{Block, Item, PrintError, TextStyle, amounts, row, styled, total_amounts};

/// Legend of a copy when the stored content has none.
const DEFAULT_COPY_LEGEND: &str = "Copia: sin derecho a crédito fiscal";

/// A fiscal document ready to print: its numbers and its parsed content.
#[derive(Debug, Clone)]
pub struct DocumentPrint {
    kind: DocumentKind,
    series: String,
    number: i64,
    control_number: String,
    issued_at: DateTime<Utc>,
    content: Content,
    copy: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DocumentKind {
    Invoice,
    CreditNote,
}

impl DocumentKind {
    fn title(self) -> &'static str {
        match self {
            DocumentKind::Invoice => "FACTURA",
            DocumentKind::CreditNote => "NOTA DE CRÉDITO",
        }
    }

    fn file_stem(self) -> &'static str {
        match self {
            DocumentKind::Invoice => "factura",
            DocumentKind::CreditNote => "nota-de-credito",
        }
    }
}

/// The `content` JSON of a stored document. Fields that older documents may
/// lack are optional, and unknown fields are ignored.
#[derive(Debug, Clone, Deserialize)]
struct Content {
    issuer: Issuer,
    buyer: Buyer,
    lines: Vec<Line>,
    #[serde(default)]
    taxes: Vec<TaxTotal>,
    subtotal_usd_cents: i64,
    subtotal_bs_cents: i64,
    total_usd_cents: i64,
    total_bs_cents: i64,
    #[serde(default)]
    exempt_usd_cents: i64,
    #[serde(default)]
    exempt_bs_cents: i64,
    igtf: Option<Igtf>,
    total_with_igtf_usd_cents: Option<i64>,
    total_with_igtf_bs_cents: Option<i64>,
    exchange_rate: Rate,
    #[serde(default)]
    payments: Vec<Payment>,
    copy_legend: Option<String>,
    reason: Option<String>,
    references: Option<Reference>,
    control_range: Option<Value>,
    issuer_printer: Option<Value>,
    verification_url: Option<String>,
    cashier: Option<Value>,
}

#[derive(Debug, Clone, Deserialize)]
struct Issuer {
    name: String,
    rif: String,
    fiscal_address: String,
}

#[derive(Debug, Clone, Deserialize)]
struct Buyer {
    name: String,
    document: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct Line {
    description: String,
    quantity: i64,
    unit_price_usd_cents: i64,
    total_usd_cents: i64,
    total_bs_cents: i64,
    /// The unit price's breakdown; read loosely because only the discount is printed.
    price: Option<Value>,
}

#[derive(Debug, Clone, Deserialize)]
struct Igtf {
    rate_basis_points: Option<i64>,
    #[serde(default)]
    rates_basis_points: Vec<i64>,
    #[serde(default)]
    base_usd_cents: i64,
    igtf_usd_cents: i64,
    igtf_bs_cents: i64,
}

#[derive(Debug, Clone, Deserialize)]
struct Rate {
    #[serde(default)]
    rate: String,
    #[serde(default)]
    rate_scaled: i64,
    effective_date: NaiveDate,
}

#[derive(Debug, Clone, Deserialize)]
struct Payment {
    method: String,
    currency: String,
    amount_cents: i64,
    #[serde(default)]
    igtf_cents: i64,
}

#[derive(Debug, Clone, Deserialize)]
struct Reference {
    document: Option<String>,
    series: String,
    number: i64,
    control_number: String,
    issue_date: Option<String>,
    total_bs_cents: Option<i64>,
    total_usd_cents: Option<i64>,
}

impl DocumentPrint {
    /// Parses a stored document for printing. With `copy`, the print carries the copy legend.
    pub fn from_document(document: &FiscalDocument, copy: bool) -> Result<Self, PrintError> {
        let kind = match document.kind.as_str() {
            "invoice" => DocumentKind::Invoice,
            "credit_note" => DocumentKind::CreditNote,
            other => return Err(PrintError::UnknownKind(other.to_string())),
        };
        let content: Content = serde_path_to_error::deserialize(&document.content)
            .map_err(|error| PrintError::InvalidContent(error.to_string()))?;
        Ok(Self {
            kind,
            series: document.series.clone(),
            number: document.number,
            control_number: document.control_number.clone(),
            issued_at: document.issued_at,
            content,
            copy,
        })
    }

    /// Returns the title and number, as in `FACTURA Serie A N° 00000001`.
    pub fn heading(&self) -> String {
        format!("{} {}", self.kind.title(), self.series_and_number())
    }

    /// Returns the PDF file name, as in `factura-A-00000001.pdf`. It contains
    /// only ASCII letters, digits, hyphens and a dot, so it is safe in a header.
    pub fn file_name(&self) -> String {
        let series: String = self
            .series
            .chars()
            .filter(|character| character.is_ascii_alphanumeric() || *character == '-')
            .collect();
        let copy = if self.copy { "-copia" } else { "" };
        format!(
            "{}-{series}-{:08}{copy}.pdf",
            self.kind.file_stem(),
            self.number
        )
    }

    /// Returns the verification URL to encode in a QR code, if the content has one.
    pub fn verification_url(&self) -> Option<&str> {
        self.content.verification_url.as_deref()
    }

    fn series_and_number(&self) -> String {
        format!("Serie {} N° {:08}", self.series, self.number)
    }

    /// Lays the document out as blocks, in print order.
    pub fn blocks(&self) -> Vec<Block> {
        let mut blocks = Vec::new();
        self.push_header(&mut blocks);
        blocks.push(Block::Separator);
        self.push_buyer(&mut blocks);
        if let Some(reference) = &self.content.references {
            blocks.push(Block::Separator);
            push_reference(&mut blocks, reference, self.content.reason.as_deref());
        }
        blocks.push(Block::Separator);
        blocks.push(Block::Items(self.items()));
        blocks.push(Block::Separator);
        self.push_totals(&mut blocks);
        blocks.push(Block::Separator);
        self.push_rate_and_payments(&mut blocks);
        self.push_footer(&mut blocks);
        blocks
    }

    fn push_header(&self, blocks: &mut Vec<Block>) {
        let content = &self.content;
        blocks.push(Block::Title(self.kind.title().to_string()));
        if self.copy {
            blocks.push(styled("COPIA", TextStyle::CenteredBold));
        }
        blocks.push(styled(&content.issuer.name, TextStyle::CenteredBold));
        blocks.push(styled(
            format!("RIF {}", content.issuer.rif),
            TextStyle::Centered,
        ));
        blocks.push(styled(
            format!("Domicilio fiscal: {}", content.issuer.fiscal_address),
            TextStyle::Centered,
        ));
        blocks.push(Block::Separator);
        blocks.push(styled(self.series_and_number(), TextStyle::Bold));
        blocks.push(row("N° de control", &self.control_number));
        if let Some(range) = content.control_range.as_ref().and_then(control_range_text) {
            blocks.push(styled(range, TextStyle::Small));
        }
        blocks.push(row(
            "Fecha de emisión",
            format::ddmmaaaa(&format_issue_date(self.issued_at)),
        ));
        blocks.push(row("Hora de emisión", format_issue_time(self.issued_at)));
        if let Some(cashier) = content.cashier.as_ref().and_then(cashier_text) {
            blocks.push(row("Cajero", cashier));
        }
    }

    fn push_buyer(&self, blocks: &mut Vec<Block>) {
        let buyer = &self.content.buyer;
        blocks.push(row("Cliente", &buyer.name));
        let document = buyer
            .document
            .as_deref()
            .filter(|document| !document.trim().is_empty())
            .unwrap_or("no indicado");
        blocks.push(row("RIF / C.I.", document));
    }

    fn items(&self) -> Vec<Item> {
        self.content
            .lines
            .iter()
            .map(|line| {
                let mut notes = Vec::new();
                if let Some(discount) = line.price.as_ref().and_then(unit_discount_usd_cents) {
                    notes.push(format!("Descuento: {} c/u", format::usd(discount)));
                }
                Item {
                    quantity: line.quantity.to_string(),
                    description: line.description.clone(),
                    unit_price: format::usd(line.unit_price_usd_cents),
                    total_usd: format::usd(line.total_usd_cents),
                    total_bs: format::bs(line.total_bs_cents),
                    notes,
                }
            })
            .collect()
    }

    fn push_totals(&self, blocks: &mut Vec<Block>) {
        let content = &self.content;
        blocks.push(amounts(
            "Subtotal",
            content.subtotal_usd_cents,
            content.subtotal_bs_cents,
        ));
        for tax in &content.taxes {
            push_tax(blocks, tax);
        }
        blocks.push(amounts(
            "Total exento",
            content.exempt_usd_cents,
            content.exempt_bs_cents,
        ));
        blocks.push(total_amounts(
            "TOTAL",
            content.total_usd_cents,
            content.total_bs_cents,
        ));
        if let Some(igtf) = &content.igtf {
            let rates = match igtf.rate_basis_points {
                Some(rate) => format::percent(rate),
                None => igtf
                    .rates_basis_points
                    .iter()
                    .map(|rate| format::percent(*rate))
                    .collect::<Vec<_>>()
                    .join(", "),
            };
            blocks.push(amounts(
                format!("IGTF ({rates}) sobre {}", format::usd(igtf.base_usd_cents)),
                igtf.igtf_usd_cents,
                igtf.igtf_bs_cents,
            ));
            let total_usd = content
                .total_with_igtf_usd_cents
                .unwrap_or(content.total_usd_cents + igtf.igtf_usd_cents);
            let total_bs = content
                .total_with_igtf_bs_cents
                .unwrap_or(content.total_bs_cents + igtf.igtf_bs_cents);
            blocks.push(total_amounts("TOTAL CON IGTF", total_usd, total_bs));
        }
    }

    fn push_rate_and_payments(&self, blocks: &mut Vec<Block>) {
        let rate = &self.content.exchange_rate;
        let rate_text = if rate.rate_scaled > 0 {
            format::rate(rate.rate_scaled)
        } else {
            rate.rate.replace('.', ",")
        };
        blocks.push(row("Tasa BCV aplicada", format!("Bs. {rate_text} / US$")));
        blocks.push(row("Fecha valor", format::date(rate.effective_date)));
        if self.content.payments.is_empty() {
            return;
        }
        blocks.push(Block::Heading("Formas de pago".to_string()));
        for payment in &self.content.payments {
            blocks.push(row(
                payment_label(&payment.method, &payment.currency),
                format::money(&payment.currency, payment.amount_cents),
            ));
            if payment.igtf_cents > 0 {
                blocks.push(row(
                    "  IGTF cobrado",
                    format::money(&payment.currency, payment.igtf_cents),
                ));
            }
        }
    }

    fn push_footer(&self, blocks: &mut Vec<Block>) {
        let content = &self.content;
        if let Some(printer) = content.issuer_printer.as_ref() {
            let lines = issuer_printer_lines(printer);
            if !lines.is_empty() {
                blocks.push(Block::Separator);
                for line in lines {
                    blocks.push(styled(line, TextStyle::Small));
                }
            }
        }
        if let Some(url) = content
            .verification_url
            .as_deref()
            .filter(|url| !url.is_empty())
        {
            blocks.push(Block::Separator);
            blocks.push(Block::Qr {
                payload: url.to_string(),
                caption: Some(format!("Verifique este documento en {url}")),
            });
        }
        if self.copy {
            blocks.push(Block::Separator);
            let legend = content
                .copy_legend
                .as_deref()
                .unwrap_or(DEFAULT_COPY_LEGEND);
            blocks.push(styled(legend, TextStyle::CenteredBold));
        }
    }
}

fn push_tax(blocks: &mut Vec<Block>, tax: &TaxTotal) {
    let name = if tax.name.trim().is_empty() {
        "IVA"
    } else {
        tax.name.as_str()
    };
    match tax.kind.as_str() {
        "fixed_per_ticket" => blocks.push(amounts(
            format!("{name} ({} por entrada)", format::usd(tax.fixed_usd_cents)),
            tax.tax_usd_cents,
            tax.tax_bs_cents,
        )),
        "fixed_per_order" => blocks.push(amounts(
            format!("{name} ({} por orden)", format::usd(tax.fixed_usd_cents)),
            tax.tax_usd_cents,
            tax.tax_bs_cents,
        )),
        _ => {
            let rate = format::percent(tax.rate_basis_points);
            blocks.push(amounts(
                format!("Base imponible {name} {rate}"),
                tax.base_usd_cents,
                tax.base_bs_cents,
            ));
            blocks.push(amounts(
                format!("{name} {rate}"),
                tax.tax_usd_cents,
                tax.tax_bs_cents,
            ));
        }
    }
}

fn push_reference(blocks: &mut Vec<Block>, reference: &Reference, reason: Option<&str>) {
    let document = reference
        .document
        .as_deref()
        .filter(|document| !document.is_empty())
        .unwrap_or("FACTURA");
    blocks.push(Block::Heading(format!(
        "Afecta a la {document} Serie {} N° {:08}",
        reference.series, reference.number
    )));
    blocks.push(row("N° de control", &reference.control_number));
    if let Some(date) = &reference.issue_date {
        blocks.push(row("Fecha de emisión", format::ddmmaaaa(date)));
    }
    match (reference.total_usd_cents, reference.total_bs_cents) {
        (Some(usd), Some(bs)) => blocks.push(amounts("Monto", usd, bs)),
        (None, Some(bs)) => blocks.push(row("Monto", format::bs(bs))),
        (Some(usd), None) => blocks.push(row("Monto", format::usd(usd))),
        (None, None) => {}
    }
    if let Some(reason) = reason.filter(|reason| !reason.is_empty()) {
        blocks.push(row("Motivo", reason));
    }
}

/// Returns the discount taken off each unit, when the price breakdown shows one.
fn unit_discount_usd_cents(price: &Value) -> Option<i64> {
    let before = price.get("after_seat_usd_cents")?.as_i64()?;
    let after = price.get("unit_price_usd_cents")?.as_i64()?;
    (before > after).then_some(before - after)
}

fn payment_label(method: &str, currency: &str) -> String {
    let in_usd = currency == "USD";
    match method {
        "cash" if in_usd => "Efectivo US$".to_string(),
        "cash" => "Efectivo Bs.".to_string(),
        "card" => "Punto de venta".to_string(),
        "transfer" => "Transferencia".to_string(),
        "pago_movil" => "Pago Móvil".to_string(),
        "zelle" => "Zelle".to_string(),
        other => other.to_string(),
    }
}

/// Returns a string or number field of a JSON object as text.
fn field(value: &Value, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|key| match value.get(key)? {
        Value::String(text) if !text.trim().is_empty() => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    })
}

/// Formats a date given as DDMMAAAA or as an ISO 8601 date.
fn any_date(text: &str) -> String {
    match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        Ok(day) => format::date(day),
        Err(_) => format::ddmmaaaa(text),
    }
}

/// Formats the control-number range the printer assigned, as real invoice
/// footers do: «Desde N° de control 00-00000001 hasta N° 00-00002000».
fn control_range_text(range: &Value) -> Option<String> {
    if let Value::String(text) = range {
        return (!text.trim().is_empty()).then(|| format!("Números de control: {text}"));
    }
    let from = field(range, &["from", "desde"])?;
    let to = field(range, &["to", "hasta"])?;
    let mut text = format!("Desde N° de control {from} hasta N° {to}");
    if let Some(date) = field(range, &["date", "assigned_on", "fecha"]) {
        text.push_str(&format!(" de fecha {}", any_date(&date)));
    }
    Some(text)
}

fn cashier_text(cashier: &Value) -> Option<String> {
    match cashier {
        Value::String(name) if !name.trim().is_empty() => Some(name.clone()),
        Value::Object(_) => field(cashier, &["name", "display_name", "username"]),
        _ => None,
    }
}

/// Formats the data of the authorised printer (imprenta) that art. 13.15
/// and 13.16 require: its name, RIF, authorising providencia and print date.
fn issuer_printer_lines(printer: &Value) -> Vec<String> {
    if let Value::String(text) = printer {
        return if text.trim().is_empty() {
            Vec::new()
        } else {
            vec![format!("Imprenta: {text}")]
        };
    }
    let mut lines = Vec::new();
    let name = field(printer, &["name", "razon_social"]);
    let rif = field(printer, &["rif"]);
    match (name, rif) {
        (Some(name), Some(rif)) => lines.push(format!("Imprenta: {name}, RIF {rif}")),
        (Some(name), None) => lines.push(format!("Imprenta: {name}")),
        (None, Some(rif)) => lines.push(format!("Imprenta RIF {rif}")),
        (None, None) => {}
    }
    if let Some(providencia) = field(printer, &["providencia", "authorization"]) {
        let mut line = format!("Providencia N° {providencia}");
        if let Some(date) = field(printer, &["providencia_date", "authorization_date"]) {
            line.push_str(&format!(" de fecha {}", any_date(&date)));
        }
        lines.push(line);
    }
    if let Some(date) = field(printer, &["printed_on", "print_date", "printed_at"]) {
        lines.push(format!("Fecha de elaboración: {}", any_date(&date)));
    }
    lines
}

#[cfg(test)]
pub(crate) mod fixtures {
    //! Fixed documents for the snapshot and PDF tests.

    use chrono::TimeZone;
    use serde_json::json;
    use uuid::Uuid;

    use super::*;

    /// Returns an invoice with a taxed line, an exempt line, a discount, IGTF
    /// on a dollar payment and markup characters in the buyer's name.
    pub(crate) fn invoice() -> FiscalDocument {
        // 14:05:09 UTC is 10:05:09 a. m. in Caracas.
        let issued_at = Utc.with_ymd_and_hms(2026, 12, 4, 14, 5, 9).unwrap();
        FiscalDocument {
            id: Uuid::from_u128(1),
            kind: "invoice".to_string(),
            series: "A".to_string(),
            number: 42,
            control_number: "00-00000042".to_string(),
            order_id: Uuid::from_u128(2),
            references_document_id: None,
            issued_at,
            total_usd_cents: 10_800,
            total_bs_cents: 390_133,
            content: invoice_content(),
        }
    }

    pub(crate) fn invoice_content() -> Value {
        json!({
            "title": "FACTURA",
            "series": "A",
            "number": 42,
            "control_number": "00-00000042",
            "issue_date": "04122026",
            "issue_time": "10:05:09 a. m.",
            "issuer": {
                "name": "Producciones Ávila, C.A.",
                "rif": "J-12345678-9",
                "fiscal_address": "Av. Urdaneta, Edif. Central, piso 3, Caracas 1010",
            },
            "buyer": { "name": "María Pérez & <Hijos>", "document": "V12345678" },
            "lines": [
                {
                    "description": "Platea — fila B, asiento 7",
                    "quantity": 1,
                    "unit_price_usd_cents": 5_000,
                    "total_usd_cents": 5_000,
                    "total_bs_cents": 180_617,
                    "exempt": false,
                    "courtesy": false,
                    "price": {
                        "base_usd_cents": 5_500,
                        "stage_modifier": null,
                        "after_stage_usd_cents": 5_500,
                        "row_markup_basis_points": 0,
                        "after_row_usd_cents": 5_500,
                        "seat_modifier_usd_cents": 0,
                        "after_seat_usd_cents": 5_500,
                        "discount": { "fixed": { "usd_cents": -500 } },
                        "unit_price_usd_cents": 5_000,
                    },
                },
                {
                    "description": "Pista — entrada general (E)",
                    "quantity": 2,
                    "unit_price_usd_cents": 2_500,
                    "total_usd_cents": 5_000,
                    "total_bs_cents": 180_617,
                    "exempt": true,
                    "courtesy": false,
                    "price": null,
                },
            ],
            "taxes": [{
                "key": "iva",
                "name": "IVA",
                "category": "iva",
                "kind": "percentage",
                "compound": false,
                "rate_basis_points": 1_600,
                "fixed_usd_cents": 0,
                "base_usd_cents": 5_000,
                "tax_usd_cents": 800,
                "base_bs_cents": 180_617,
                "tax_bs_cents": 28_899,
            }],
            "subtotal_usd_cents": 10_000,
            "tax_usd_cents": 800,
            "total_usd_cents": 10_800,
            "subtotal_bs_cents": 361_234,
            "tax_bs_cents": 28_899,
            "total_bs_cents": 390_133,
            "exempt_usd_cents": 5_000,
            "exempt_bs_cents": 180_617,
            "igtf": {
                "rate_basis_points": 300,
                "rates_basis_points": [300],
                "base_usd_cents": 5_000,
                "igtf_usd_cents": 150,
                "igtf_bs_cents": 5_419,
            },
            "total_with_igtf_usd_cents": 10_950,
            "total_with_igtf_bs_cents": 395_552,
            "exchange_rate": {
                "id": "00000000-0000-0000-0000-000000000003",
                "rate": "36.12345678",
                "rate_scaled": 3_612_345_678_i64,
                "effective_date": "2026-12-04",
                "source": "bcv",
            },
            "payments": [
                { "method": "cash", "currency": "USD", "amount_cents": 5_000, "igtf_cents": 150 },
                { "method": "pago_movil", "currency": "VES", "amount_cents": 209_516, "igtf_cents": 0 },
            ],
            "copy_legend": "Copia: sin derecho a crédito fiscal",
        })
    }

    /// Returns the credit note that voids [`invoice`], with every optional
    /// field the printer reads (control range, imprenta, cashier, verification URL).
    pub(crate) fn credit_note() -> FiscalDocument {
        let issued_at = Utc.with_ymd_and_hms(2026, 12, 5, 3, 30, 0).unwrap();
        let mut content = invoice_content();
        content["title"] = json!("NOTA DE CRÉDITO");
        content["series"] = json!("NC");
        content["number"] = json!(3);
        content["control_number"] = json!("00-00000043");
        content["reason"] = json!("Evento reprogramado");

        content["references"] = json!({
            "document": "FACTURA",
            "series": "A",
            "number": 42,
            "control_number": "00-00000042",
            "issue_date": "04122026",
            "total_bs_cents": 390_133,
        });

        content["control_range"] = json!({ "from": "00-00000001", "to": "00-00002000" });
        content["issuer_printer"] = json!({
            "name": "Imprenta Digital Ejemplo, C.A.",
            "rif": "J-98765432-1",
            "providencia": "SENIAT/INTI/2025/000123",
            "providencia_date": "2025-03-10",
        });
        content["cashier"] = json!({ "name": "Ana Rodríguez" });
        content["verification_url"] = json!("https://verificacion.example.test/d/ABC123?x=1&y=2");
        FiscalDocument {
            id: Uuid::from_u128(4),
            kind: "credit_note".to_string(),
            series: "NC".to_string(),
            number: 3,
            control_number: "00-00000043".to_string(),
            order_id: Uuid::from_u128(2),
            references_document_id: Some(Uuid::from_u128(1)),
            issued_at,
            total_usd_cents: 10_800,
            total_bs_cents: 390_133,
            content,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_name_has_kind_series_and_number() {
        let invoice = DocumentPrint::from_document(&fixtures::invoice(), false).unwrap();
        assert_eq!(invoice.file_name(), "factura-A-00000042.pdf");
        assert_eq!(invoice.heading(), "FACTURA Serie A N° 00000042");
        let copy = DocumentPrint::from_document(&fixtures::credit_note(), true).unwrap();
        assert_eq!(copy.file_name(), "nota-de-credito-NC-00000003-copia.pdf");
    }

    #[test]
    fn missing_required_field_is_reported_with_its_path() {
        let mut document = fixtures::invoice();
        document.content["issuer"]
            .as_object_mut()
            .unwrap()
            .remove("rif");
        let error = DocumentPrint::from_document(&document, false).unwrap_err();
        assert!(
            error.to_string().contains("issuer"),
            "error without the field path: {error}"
        );
    }

    #[test]
    fn unknown_kind_is_rejected() {
        let mut document = fixtures::invoice();
        document.kind = "debit_note".to_string();
        assert!(matches!(
            DocumentPrint::from_document(&document, false),
            Err(PrintError::UnknownKind(_))
        ));
    }

    #[test]
    fn copy_legend_only_on_copies() {
        let legend = "Copia: sin derecho a crédito fiscal";
        let has_legend = |blocks: &[Block]| {
            blocks
                .iter()
                .any(|block| matches!(block, Block::Text { text, .. } if text == legend))
        };
        let original = DocumentPrint::from_document(&fixtures::invoice(), false).unwrap();
        assert!(!has_legend(&original.blocks()));
        let copy = DocumentPrint::from_document(&fixtures::invoice(), true).unwrap();
        assert!(has_legend(&copy.blocks()));
    }

    #[test]
    fn optional_fields_are_omitted_when_absent() {
        let invoice = DocumentPrint::from_document(&fixtures::invoice(), false).unwrap();
        let blocks = invoice.blocks();
        assert!(!blocks.iter().any(|block| matches!(block, Block::Qr { .. })));
        assert!(invoice.verification_url().is_none());

        let note = DocumentPrint::from_document(&fixtures::credit_note(), false).unwrap();
        let qr = note.blocks().into_iter().find_map(|block| match block {
            Block::Qr { payload, .. } => Some(payload),
            _ => None,
        });
        assert_eq!(
            qr.as_deref(),
            Some("https://verificacion.example.test/d/ABC123?x=1&y=2")
        );
    }
}
