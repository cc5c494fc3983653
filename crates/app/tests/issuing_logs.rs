//! Log output of the digital printer adapter. It lives in its own test binary because it
//! installs a global subscriber: a thread-local one misses events whose call sites other
//! tests, running in parallel, reached first.

use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use taquilla_app::issuing::digital_printer::{DigitalPrinterAdapter, DigitalPrinterConfig};
use taquilla_app::issuing::fake::spawn_fake_provider;
use taquilla_app::issuing::{DocumentKind, IssueRequest, IssuingAdapter};
use uuid::Uuid;

/// Collects formatted log output in memory.
#[derive(Clone, Default)]
struct CapturedLogs(Arc<Mutex<Vec<u8>>>);

impl io::Write for CapturedLogs {
    fn write(&mut self, buffer: &[u8]) -> io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(buffer);
        Ok(buffer.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl CapturedLogs {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("log buffer")).into_owned()
    }
}

#[tokio::test]
async fn digital_printer_logs_attempts_without_token() {
    let logs = CapturedLogs::default();
    let writer = logs.clone();
    tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .init();
    let provider = spawn_fake_provider().await;
    let adapter = DigitalPrinterAdapter::new(DigitalPrinterConfig {
        base_url: provider.base_url(),
        api_token: provider.token(),
        timeout: Duration::from_millis(200),
    })
    .expect("valid configuration");
    let request = IssueRequest {
        idempotency_key: Uuid::new_v4(),
        tenant_id: Uuid::new_v4(),
        series: "W1".to_string(),
        kind: DocumentKind::Invoice,
        content: json!({ "lines": [{ "description": "Entrada general", "quantity": 1 }] }),
    };

    provider.fail_next(1);
    let _ = adapter.issue(&request).await;
    provider.delay_next(1, Duration::from_secs(1));
    let _ = adapter.issue(&request).await;
    provider.reject_next(1, "invalid_document", "missing buyer");
    let _ = adapter.issue(&request).await;
    adapter.issue(&request).await.expect("issued");

    let text = logs.text();
    let attempts = text.matches("fiscal_document_issue_attempt").count();
    assert_eq!(attempts, 4, "{text}");
    assert!(
        text.contains(&request.idempotency_key.to_string()),
        "{text}"
    );
    assert!(text.contains(r#""outcome":"issued""#), "{text}");
    assert!(text.contains(r#""outcome":"transient""#), "{text}");
    assert!(text.contains(r#""outcome":"rejected""#), "{text}");
    assert!(!text.contains(&provider.token()), "{text}");
}
