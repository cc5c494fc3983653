//! The fiscal issuing port and its external adapters.
//!
//! A series numbered by taquilla itself (`internal`) is numbered inside the payment
//! transaction in the store and never comes here. For the other two media the payment
//! commits with the order paid but not invoiced, a queue item is created, and a job calls
//! an [`IssuingAdapter`] and records the numbers it returns:
//!
//! - [`digital_printer`]: an authorised *imprenta digital* over HTTP, which returns the
//!   document number and the control number.
//! - [`fiscal_printer`]: a fiscal machine behind a [`fiscal_printer::FiscalPrinterDriver`].
//!   Only a simulated machine exists so far.
//!
//! [`fake`] is a loopback imprenta digital for tests and demos. A new adapter gets its own
//! file here and implements [`IssuingAdapter`].

pub mod digital_printer;
pub mod fake;
pub mod fiscal_printer;
pub mod job;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Type of fiscal document. A fiscal machine keeps one counter per type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    /// *Factura*.
    Invoice,
    /// *Nota de crédito*, the only legal way to correct or cancel an issued invoice.
    CreditNote,
}

impl DocumentKind {
    /// Returns the serialized name: `invoice` or `credit_note`.
    pub fn as_str(self) -> &'static str {
        match self {
            DocumentKind::Invoice => "invoice",
            DocumentKind::CreditNote => "credit_note",
        }
    }
}

/// The request an adapter needs to issue one document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IssueRequest {
    /// Stable per document: the same key on every retry, so a provider never issues twice.
    pub idempotency_key: Uuid,
    pub tenant_id: Uuid,
    /// Series code, for example `W1`.
    pub series: String,
    pub kind: DocumentKind,
    /// The printable document content: issuer, buyer, lines, taxes and totals, in the shape
    /// the store builds for internal invoices.
    pub content: serde_json::Value,
}

/// Numbers an adapter obtained for one document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Issued {
    /// Document number. A fiscal machine numbers each document type on its own counter,
    /// so invoice 1 and credit note 1 can both exist in one fiscal-printer series.
    pub number: i64,
    /// The imprenta digital's control number, `00-00000001`. A fiscal machine has no control
    /// number, so the fiscal-printer adapter stores a fiscal memory reference here instead,
    /// for example `SIM0000001-FAC-00000001`, built by [`fiscal_printer::fiscal_memory_reference`].
    pub control_number: String,
    /// The provider's verification link or QR payload, if any.
    pub verification_url: Option<String>,
    /// Provider or machine timestamp, if any.
    pub issued_at: Option<DateTime<Utc>>,
    /// Registration number of the fiscal machine that printed the document; `None` for the
    /// imprenta digital.
    pub machine_serial: Option<String>,
}

/// Reason an adapter did not issue a document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IssueError {
    /// Timeout, connection error, 5xx, 429: retry later with the same idempotency key.
    #[error("issuing failed, retry later: {0}")]
    Transient(String),
    /// The provider refused the document (4xx with a reason): do not retry automatically.
    ///
    /// An operator decides what to do next. Unless `code` shows that the provider never
    /// received the document, any resubmission must reuse the same idempotency key, because
    /// the provider may already hold a number for it.
    #[error("issuing rejected ({code}): {message}")]
    Rejected { code: String, message: String },
}

/// One issuing medium, chosen per series.
#[async_trait::async_trait]
pub trait IssuingAdapter: Send + Sync {
    /// "digital_printer" or "fiscal_printer".
    fn name(&self) -> &'static str;

    /// Issues one document. Calling it again with the same idempotency key returns the same
    /// numbers instead of issuing a second document.
    async fn issue(&self, request: &IssueRequest) -> Result<Issued, IssueError>;
}

/// Test helpers shared by the adapter tests.
#[cfg(test)]
pub(crate) mod test_support {
    use serde_json::json;
    use uuid::Uuid;

    use super::{DocumentKind, IssueRequest};

    /// Builds a request with one taxable line, in the shape the store builds.
    pub fn request(series: &str, kind: DocumentKind) -> IssueRequest {
        IssueRequest {
            idempotency_key: Uuid::new_v4(),
            tenant_id: Uuid::new_v4(),
            series: series.to_string(),
            kind,
            content: json!({
                "issuer": { "name": "Producciones Ávila C.A.", "rif": "J-12345678-9" },
                "buyer": { "name": "Ana Pérez", "document": "V-12345678" },
                "lines": [{
                    "description": "Entrada general",
                    "quantity": 2,
                    "unit_price_usd_cents": 1_000,
                    "total_usd_cents": 2_000,
                    "total_bs_cents": 73_000,
                }],
                "total_usd_cents": 2_320,
                "total_bs_cents": 84_680,
            }),
        }
    }
}
