//! Adapter for fiscal machines (*máquinas fiscales*), a driver interface for them, and a
//! simulated machine.
//!
//! A fiscal machine numbers each document type on its own counter (facturas, notas de
//! crédito, …) and prints no control number. Its registration number (serial) identifies it
//! on every document, and its fiscal memory stores the documents of each daily closing
//! (Reporte Z). The adapter maps that onto [`Issued`] as follows:
//!
//! - `number` is the machine's counter for the document type, so one fiscal-printer series
//!   contains invoice 1 and credit note 1 side by side.
//! - `control_number` is [`fiscal_memory_reference`], for example `SIM0000001-FAC-00000001`:
//!   serial, type and number. That triple is what finds the document in the machine's
//!   fiscal memory, it is unique per document like a control number, and its form cannot be
//!   mistaken for an imprenta's `00-00000001`. It is not printed on the document.
//! - `machine_serial` contains the serial alone.
//!
//! A real machine cannot recognise a repeated idempotency key, so [`FiscalPrinterAdapter`]
//! remembers the keys it printed; its documentation describes what that memory covers.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::{DocumentKind, IssueError, IssueRequest, Issued, IssuingAdapter};

/// Name the adapter reports and logs.
pub const ADAPTER_NAME: &str = "fiscal_printer";

/// Rejection code for document data the machine refuses.
pub const INVALID_DOCUMENT: &str = "invalid_document";

/// Rejection code for a driver response that contradicts the request.
pub const INVALID_PRINTER_RESPONSE: &str = "invalid_printer_response";

/// Idempotency keys the adapter remembers; the oldest is forgotten first. The queue records
/// the numbers within seconds of printing, so this covers far more than the retry window.
const REMEMBERED_DOCUMENTS: usize = 10_000;

/// A document the machine printed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PrintedDocument {
    pub kind: DocumentKind,
    /// The machine's counter for `kind` after printing.
    pub number: i64,
    /// Registration number of the machine.
    pub machine_serial: String,
    /// The machine's clock when it printed.
    pub printed_at: DateTime<Utc>,
    /// Number of the Reporte Z that will include the document: the Z counter plus one.
    pub z_number: i64,
}

/// Counters and state of a machine, as a status frame reports them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PrinterStatus {
    pub machine_serial: String,
    pub last_invoice_number: i64,
    pub last_credit_note_number: i64,
    /// Daily closings (Reporte Z) printed so far.
    pub z_counter: i64,
    /// Invoices printed since the last Reporte Z.
    pub invoices_today: i64,
    /// Credit notes printed since the last Reporte Z.
    pub credit_notes_today: i64,
    pub paper_out: bool,
}

/// Reason a machine did not print.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrinterError {
    /// Transient: printing resumes once someone loads paper.
    #[error("the fiscal printer is out of paper")]
    PaperOut,
    /// Transient: the machine does not respond or reported a device fault.
    #[error("the fiscal printer is offline: {0}")]
    Offline(String),
    /// The machine refused the document data, for example a negative amount.
    #[error("the fiscal printer rejected the document data: {0}")]
    InvalidData(String),
}

/// Talks to one fiscal machine.
#[async_trait::async_trait]
pub trait FiscalPrinterDriver: Send + Sync {
    /// Prints one document and returns the numbers the machine assigned.
    async fn print(&self, request: &IssueRequest) -> Result<PrintedDocument, PrinterError>;

    /// Reads the machine's counters.
    async fn status(&self) -> Result<PrinterStatus, PrinterError>;
}

/// Builds the fiscal memory reference stored as `Issued::control_number`, for example
/// `SIM0000001-FAC-00000001` for an invoice or `SIM0000001-NC-00000001` for a credit note.
pub fn fiscal_memory_reference(machine_serial: &str, kind: DocumentKind, number: i64) -> String {
    let type_code = match kind {
        DocumentKind::Invoice => "FAC",
        DocumentKind::CreditNote => "NC",
    };
    format!("{machine_serial}-{type_code}-{number:08}")
}

/// Issues documents on one fiscal machine.
///
/// The adapter remembers, in memory, the documents it printed per idempotency key, and a
/// repeated key returns the stored numbers without printing. This memory sits here and not
/// in the driver because no real machine can do it, and not only in the store because the
/// store receives the numbers only after `issue` returns. The lock is held for the whole print,
/// so a concurrent call with the same key waits and then finds the document, and the machine
/// prints one document at a time.
///
/// NOTE: the memory dies with the process. A crash after printing and before the queue
/// stores the numbers, or a driver error after the machine printed, leads to a second print
/// on retry. Closing that gap needs a durable "printing" mark on the queue item and a
/// comparison of [`FiscalPrinterDriver::status`] counters before retrying; neither exists yet.
pub struct FiscalPrinterAdapter<D: FiscalPrinterDriver> {
    driver: D,
    memory: tokio::sync::Mutex<PrintedMemory>,
}

impl<D: FiscalPrinterDriver> FiscalPrinterAdapter<D> {
    pub fn new(driver: D) -> Self {
        Self {
            driver,
            memory: tokio::sync::Mutex::new(PrintedMemory::default()),
        }
    }

    pub fn driver(&self) -> &D {
        &self.driver
    }

    /// Seeds the memory with a document printed earlier, for example from the store after a
    /// restart, so a retry of that key does not print again.
    pub async fn remember(&self, idempotency_key: Uuid, issued: Issued) {
        self.memory.lock().await.insert(idempotency_key, issued);
    }

    /// Reads the machine's counters, for a health check or a reconciliation.
    pub async fn status(&self) -> Result<PrinterStatus, PrinterError> {
        self.driver.status().await
    }

    async fn print_once(&self, request: &IssueRequest) -> Result<(Issued, bool), IssueError> {
        let mut memory = self.memory.lock().await;
        if let Some(issued) = memory.get(&request.idempotency_key) {
            return Ok((issued.clone(), true));
        }

        let printed = self.driver.print(request).await.map_err(issue_error)?;
        if printed.kind != request.kind || printed.number <= 0 {
            return Err(IssueError::Rejected {
                code: INVALID_PRINTER_RESPONSE.to_string(),
                message: format!(
                    "the fiscal printer {} returned {} number {} for a {} request; \
                     check the machine's fiscal memory before retrying",
                    printed.machine_serial,
                    printed.kind.as_str(),
                    printed.number,
                    request.kind.as_str()
                ),
            });
        }
        let issued = Issued {
            number: printed.number,
            control_number: fiscal_memory_reference(
                &printed.machine_serial,
                printed.kind,
                printed.number,
            ),
            verification_url: None,
            issued_at: Some(printed.printed_at),
            machine_serial: Some(printed.machine_serial),
        };
        memory.insert(request.idempotency_key, issued.clone());
        Ok((issued, false))
    }
}

#[async_trait::async_trait]
impl<D: FiscalPrinterDriver> IssuingAdapter for FiscalPrinterAdapter<D> {
    fn name(&self) -> &'static str {
        ADAPTER_NAME
    }

    async fn issue(&self, request: &IssueRequest) -> Result<Issued, IssueError> {
        let started = Instant::now();
        let result = self.print_once(request).await;
        let duration_ms = started.elapsed().as_millis() as u64;

        match &result {
            Ok((issued, replayed)) => tracing::info!(
                event = "fiscal_document_issue_attempt",
                adapter = ADAPTER_NAME,
                tenant.id = %request.tenant_id,
                series = %request.series,
                kind = request.kind.as_str(),
                idempotency_key = %request.idempotency_key,
                outcome = "issued",
                replayed,
                duration_ms,
                document.number = issued.number,
                document.control_number = %issued.control_number,
                "the fiscal printer issued the document"
            ),
            Err(IssueError::Transient(message)) => tracing::warn!(
                event = "fiscal_document_issue_attempt",
                adapter = ADAPTER_NAME,
                tenant.id = %request.tenant_id,
                series = %request.series,
                kind = request.kind.as_str(),
                idempotency_key = %request.idempotency_key,
                outcome = "transient",
                duration_ms,
                error = %message,
                "printing on the fiscal printer failed; the document will be retried"
            ),
            Err(IssueError::Rejected { code, message }) => tracing::error!(
                event = "fiscal_document_issue_attempt",
                adapter = ADAPTER_NAME,
                tenant.id = %request.tenant_id,
                series = %request.series,
                kind = request.kind.as_str(),
                idempotency_key = %request.idempotency_key,
                outcome = "rejected",
                duration_ms,
                error.code = %code,
                error = %message,
                "the fiscal printer rejected the document; an operator must act"
            ),
        }
        result.map(|(issued, _)| issued)
    }
}

fn issue_error(error: PrinterError) -> IssueError {
    match error {
        PrinterError::PaperOut | PrinterError::Offline(_) => {
            IssueError::Transient(error.to_string())
        }
        PrinterError::InvalidData(message) => IssueError::Rejected {
            code: INVALID_DOCUMENT.to_string(),
            message,
        },
    }
}

/// Issued documents by idempotency key, bounded to [`REMEMBERED_DOCUMENTS`].
#[derive(Default)]
struct PrintedMemory {
    by_key: HashMap<Uuid, Issued>,
    order: VecDeque<Uuid>,
}

impl PrintedMemory {
    fn get(&self, key: &Uuid) -> Option<&Issued> {
        self.by_key.get(key)
    }

    fn insert(&mut self, key: Uuid, issued: Issued) {
        if self.by_key.insert(key, issued).is_none() {
            self.order.push_back(key);
        }
        while self.order.len() > REMEMBERED_DOCUMENTS {
            if let Some(oldest) = self.order.pop_front() {
                self.by_key.remove(&oldest);
            }
        }
    }
}

/// Totals of one daily closing of the simulated machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ZReport {
    pub z_number: i64,
    pub closed_at: DateTime<Utc>,
    pub last_invoice_number: i64,
    pub last_credit_note_number: i64,
    pub invoices: i64,
    pub credit_notes: i64,
}

/// An in-memory fiscal machine for tests and demos.
///
/// Unlike a real machine, it returns the stored document for a repeated idempotency key.
/// [`SimulatedFiscalPrinter::print_count`] counts the physical prints so tests can check
/// that the adapter did not ask twice.
pub struct SimulatedFiscalPrinter {
    serial: String,
    state: Mutex<SimulatedState>,
}

#[derive(Default)]
struct SimulatedState {
    last_invoice_number: i64,
    last_credit_note_number: i64,
    z_counter: i64,
    invoices_today: i64,
    credit_notes_today: i64,
    paper_out: bool,
    failures: u32,
    print_count: u64,
    printed: HashMap<Uuid, PrintedDocument>,
}

impl Default for SimulatedFiscalPrinter {
    fn default() -> Self {
        Self::new()
    }
}

impl SimulatedFiscalPrinter {
    /// Creates a machine with serial `SIM0000001` and all counters at zero.
    pub fn new() -> Self {
        Self::with_serial("SIM0000001")
    }

    pub fn with_serial(serial: &str) -> Self {
        Self {
            serial: serial.to_string(),
            state: Mutex::new(SimulatedState::default()),
        }
    }

    pub fn serial(&self) -> &str {
        &self.serial
    }

    /// Makes every print and closing fail with [`PrinterError::PaperOut`] until reset.
    pub fn set_paper_out(&self, paper_out: bool) {
        self.lock().paper_out = paper_out;
    }

    /// Makes the next `count` prints fail with [`PrinterError::Offline`].
    pub fn fail_next(&self, count: u32) {
        self.lock().failures = count;
    }

    /// Number of documents physically printed; a repeated key does not count.
    pub fn print_count(&self) -> u64 {
        self.lock().print_count
    }

    /// Prints the Reporte Z: increments the Z counter and resets the daily counts. The
    /// document counters keep running.
    pub fn close_day(&self) -> Result<ZReport, PrinterError> {
        let mut state = self.lock();
        if state.paper_out {
            return Err(PrinterError::PaperOut);
        }

        state.z_counter += 1;
        let report = ZReport {
            z_number: state.z_counter,
            closed_at: Utc::now(),
            last_invoice_number: state.last_invoice_number,
            last_credit_note_number: state.last_credit_note_number,
            invoices: state.invoices_today,
            credit_notes: state.credit_notes_today,
        };
        state.invoices_today = 0;
        state.credit_notes_today = 0;
        Ok(report)
    }

    fn lock(&self) -> MutexGuard<'_, SimulatedState> {
        // The state is plain counters; a panic elsewhere leaves it usable.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait::async_trait]
impl FiscalPrinterDriver for SimulatedFiscalPrinter {
    async fn print(&self, request: &IssueRequest) -> Result<PrintedDocument, PrinterError> {
        let mut state = self.lock();
        if state.paper_out {
            return Err(PrinterError::PaperOut);
        }
        if state.failures > 0 {
            state.failures -= 1;
            return Err(PrinterError::Offline(
                "simulated communication failure".to_string(),
            ));
        }
        if let Some(printed) = state.printed.get(&request.idempotency_key) {
            return Ok(printed.clone());
        }
        validate_content(&request.content).map_err(PrinterError::InvalidData)?;

        let number = match request.kind {
            DocumentKind::Invoice => {
                state.last_invoice_number += 1;
                state.invoices_today += 1;
                state.last_invoice_number
            }
            DocumentKind::CreditNote => {
                state.last_credit_note_number += 1;
                state.credit_notes_today += 1;
                state.last_credit_note_number
            }
        };
        let printed = PrintedDocument {
            kind: request.kind,
            number,
            machine_serial: self.serial.clone(),
            printed_at: Utc::now(),
            z_number: state.z_counter + 1,
        };
        state.print_count += 1;
        state
            .printed
            .insert(request.idempotency_key, printed.clone());
        Ok(printed)
    }

    async fn status(&self) -> Result<PrinterStatus, PrinterError> {
        let state = self.lock();
        Ok(PrinterStatus {
            machine_serial: self.serial.clone(),
            last_invoice_number: state.last_invoice_number,
            last_credit_note_number: state.last_credit_note_number,
            z_counter: state.z_counter,
            invoices_today: state.invoices_today,
            credit_notes_today: state.credit_notes_today,
            paper_out: state.paper_out,
        })
    }
}

/// Checks what a machine would refuse: no lines, a line without description or with a
/// quantity below 1, or a negative amount in any field whose name ends in `_cents`.
fn validate_content(content: &serde_json::Value) -> Result<(), String> {
    let lines = content
        .get("lines")
        .and_then(|lines| lines.as_array())
        .filter(|lines| !lines.is_empty())
        .ok_or_else(|| "the document has no lines".to_string())?;

    for (index, line) in lines.iter().enumerate() {
        let description = line.get("description").and_then(|value| value.as_str());
        if description.is_none_or(|text| text.trim().is_empty()) {
            return Err(format!("line {} has no description", index + 1));
        }
        let quantity = line.get("quantity").and_then(|value| value.as_i64());
        if quantity.is_none_or(|quantity| quantity < 1) {
            return Err(format!("line {} has no quantity of at least 1", index + 1));
        }
    }
    find_negative_amount(content, "document")
}

fn find_negative_amount(value: &serde_json::Value, path: &str) -> Result<(), String> {
    match value {
        serde_json::Value::Object(fields) => {
            for (name, field) in fields {
                let field_path = format!("{path}.{name}");
                let negative = field.as_f64().is_some_and(|amount| amount < 0.0);
                if name.ends_with("_cents") && negative {
                    return Err(format!("{field_path} is negative: {field}"));
                }
                find_negative_amount(field, &field_path)?;
            }
            Ok(())
        }
        serde_json::Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                find_negative_amount(item, &format!("{path}[{index}]"))?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::issuing::test_support::request;

    fn adapter() -> FiscalPrinterAdapter<SimulatedFiscalPrinter> {
        FiscalPrinterAdapter::new(SimulatedFiscalPrinter::new())
    }

    #[tokio::test]
    async fn fiscal_printer_numbers_per_kind() {
        let adapter = adapter();

        let invoice_1 = adapter
            .issue(&request("F1", DocumentKind::Invoice))
            .await
            .expect("first invoice");
        let invoice_2 = adapter
            .issue(&request("F1", DocumentKind::Invoice))
            .await
            .expect("second invoice");
        let credit_note_1 = adapter
            .issue(&request("F1", DocumentKind::CreditNote))
            .await
            .expect("first credit note");

        assert_eq!(invoice_1.number, 1);
        assert_eq!(invoice_2.number, 2);
        assert_eq!(credit_note_1.number, 1);
        assert_eq!(invoice_1.control_number, "SIM0000001-FAC-00000001");
        assert_eq!(invoice_2.control_number, "SIM0000001-FAC-00000002");
        assert_eq!(credit_note_1.control_number, "SIM0000001-NC-00000001");
        assert_eq!(invoice_1.machine_serial.as_deref(), Some("SIM0000001"));
        assert!(invoice_1.issued_at.is_some());
        assert_eq!(invoice_1.verification_url, None);
        assert_eq!(adapter.name(), "fiscal_printer");
    }

    #[tokio::test]
    async fn fiscal_printer_repeated_key_prints_once() {
        let adapter = adapter();
        let request = request("F1", DocumentKind::Invoice);

        let first = adapter.issue(&request).await.expect("first");
        let repeated = adapter.issue(&request).await.expect("repeated");

        assert_eq!(repeated, first);
        assert_eq!(adapter.driver().print_count(), 1);
    }

    #[tokio::test]
    async fn simulated_printer_repeated_key_same_document() {
        let printer = SimulatedFiscalPrinter::new();
        let request = request("F1", DocumentKind::Invoice);

        let first = printer.print(&request).await.expect("first");
        let repeated = printer.print(&request).await.expect("repeated");

        assert_eq!(repeated, first);
        assert_eq!(printer.print_count(), 1);
        assert_eq!(
            printer.status().await.expect("status").last_invoice_number,
            1
        );
    }

    #[tokio::test]
    async fn fiscal_printer_paper_out_then_success() {
        let adapter = adapter();
        let request = request("F1", DocumentKind::Invoice);
        adapter.driver().set_paper_out(true);

        let first = adapter.issue(&request).await;
        adapter.driver().set_paper_out(false);
        let retry = adapter.issue(&request).await.expect("retry");

        assert_eq!(
            first,
            Err(IssueError::Transient(
                "the fiscal printer is out of paper".to_string()
            ))
        );
        assert_eq!(retry.number, 1);
        assert_eq!(adapter.driver().print_count(), 1);
    }

    #[tokio::test]
    async fn fiscal_printer_offline_then_success() {
        let adapter = adapter();
        let request = request("F1", DocumentKind::Invoice);
        adapter.driver().fail_next(2);

        let first = adapter.issue(&request).await;
        let second = adapter.issue(&request).await;
        let third = adapter.issue(&request).await.expect("third attempt");

        assert!(matches!(first, Err(IssueError::Transient(_))), "{first:?}");
        assert!(
            matches!(second, Err(IssueError::Transient(_))),
            "{second:?}"
        );
        assert_eq!(third.number, 1);
    }

    #[tokio::test]
    async fn fiscal_printer_rejects_invalid_data() {
        let adapter = adapter();
        let mut negative = request("F1", DocumentKind::Invoice);
        negative.content["lines"][0]["total_bs_cents"] = json!(-100);
        let mut no_lines = request("F1", DocumentKind::Invoice);
        no_lines.content["lines"] = json!([]);
        let mut zero_quantity = request("F1", DocumentKind::Invoice);
        zero_quantity.content["lines"][0]["quantity"] = json!(0);

        for (request, fragment) in [
            (negative, "document.lines[0].total_bs_cents is negative"),
            (no_lines, "no lines"),
            (zero_quantity, "line 1 has no quantity"),
        ] {
            match adapter.issue(&request).await {
                Err(IssueError::Rejected { code, message }) => {
                    assert_eq!(code, INVALID_DOCUMENT);
                    assert!(message.contains(fragment), "{message}");
                }
                other => panic!("expected Rejected for {fragment}, got {other:?}"),
            }
        }
        assert_eq!(adapter.driver().print_count(), 0);
    }

    #[tokio::test]
    async fn simulated_printer_daily_closing() {
        let adapter = adapter();
        adapter
            .issue(&request("F1", DocumentKind::Invoice))
            .await
            .expect("invoice");
        adapter
            .issue(&request("F1", DocumentKind::CreditNote))
            .await
            .expect("credit note");

        let report = adapter.driver().close_day().expect("first closing");
        let next_day = adapter
            .issue(&request("F1", DocumentKind::Invoice))
            .await
            .expect("next day invoice");
        let status = adapter.status().await.expect("status");

        assert_eq!(report.z_number, 1);
        assert_eq!(report.invoices, 1);
        assert_eq!(report.credit_notes, 1);
        assert_eq!(report.last_invoice_number, 1);
        assert_eq!(next_day.number, 2);
        assert_eq!(status.z_counter, 1);
        assert_eq!(status.invoices_today, 1);
        assert_eq!(status.credit_notes_today, 0);
        assert_eq!(status.last_credit_note_number, 1);
    }

    #[tokio::test]
    async fn fiscal_printer_remembered_document_not_printed() {
        let adapter = adapter();
        let request = request("F1", DocumentKind::Invoice);
        let stored = Issued {
            number: 41,
            control_number: fiscal_memory_reference("SIM0000001", DocumentKind::Invoice, 41),
            verification_url: None,
            issued_at: None,
            machine_serial: Some("SIM0000001".to_string()),
        };
        adapter
            .remember(request.idempotency_key, stored.clone())
            .await;

        let issued = adapter.issue(&request).await.expect("issued");

        assert_eq!(issued, stored);
        assert_eq!(adapter.driver().print_count(), 0);
    }

    #[test]
    fn printed_memory_forgets_oldest() {
        let mut memory = PrintedMemory::default();
        let issued = Issued {
            number: 1,
            control_number: "SIM0000001-FAC-00000001".to_string(),
            verification_url: None,
            issued_at: None,
            machine_serial: None,
        };
        let first_key = Uuid::new_v4();

        memory.insert(first_key, issued.clone());
        for _ in 0..REMEMBERED_DOCUMENTS {
            memory.insert(Uuid::new_v4(), issued.clone());
        }

        assert!(memory.get(&first_key).is_none());
        assert_eq!(memory.by_key.len(), REMEMBERED_DOCUMENTS);
        assert_eq!(memory.order.len(), REMEMBERED_DOCUMENTS);
    }
}
