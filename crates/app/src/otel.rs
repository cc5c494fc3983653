//! OpenTelemetry traces over OTLP/HTTP (protobuf), on only when
//! OTEL_EXPORTER_OTLP_ENDPOINT is set. Each HTTP request's span (with its
//! request id, tenant and user) and the spans inside it are exported in
//! batches by the SDK's own thread.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{SdkTracerProvider, Tracer};
use tracing::Subscriber;
use tracing_opentelemetry::OpenTelemetryLayer;
use tracing_subscriber::registry::LookupSpan;

/// Keeps the tracer provider alive; dropping it flushes the spans not sent yet.
pub struct TracesGuard {
    provider: SdkTracerProvider,
}

impl Drop for TracesGuard {
    fn drop(&mut self) {
        if let Err(error) = self.provider.force_flush() {
            eprintln!("flushing OpenTelemetry spans failed: {error}");
        }
        if let Err(error) = self.provider.shutdown() {
            // The subscriber may already be gone at this point, so stderr it is.
            eprintln!("stopping the OpenTelemetry exporter failed: {error}");
        }
    }
}

/// Returns the URL spans are posted to: the endpoint with `/v1/traces`, as the
/// OTLP specification derives it from OTEL_EXPORTER_OTLP_ENDPOINT.
pub fn traces_url(endpoint: &str) -> String {
    let base = endpoint.trim().trim_end_matches('/');
    if base.ends_with("/v1/traces") {
        base.to_string()
    } else {
        format!("{base}/v1/traces")
    }
}

/// Builds the tracing layer that exports spans to `endpoint`, named `service_name`.
pub fn layer<S>(
    endpoint: &str,
    service_name: &str,
) -> anyhow::Result<(OpenTelemetryLayer<S, Tracer>, TracesGuard)>
where
    S: Subscriber + for<'span> LookupSpan<'span>,
{
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(traces_url(endpoint))
        .build()?;
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(
            Resource::builder()
                .with_service_name(service_name.to_string())
                .build(),
        )
        .build();
    let tracer = provider.tracer("taquilla");
    Ok((
        tracing_opentelemetry::layer().with_tracer(tracer),
        TracesGuard { provider },
    ))
}

#[cfg(test)]
mod tests {
    use super::traces_url;

    #[test]
    fn traces_path_is_added_once() {
        assert_eq!(
            traces_url("http://127.0.0.1:4318"),
            "http://127.0.0.1:4318/v1/traces"
        );
        assert_eq!(
            traces_url("http://127.0.0.1:4318/"),
            "http://127.0.0.1:4318/v1/traces"
        );
        assert_eq!(
            traces_url("http://127.0.0.1:4318/v1/traces"),
            "http://127.0.0.1:4318/v1/traces"
        );
    }
}
