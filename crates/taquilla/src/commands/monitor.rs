//! `taquilla monitor`: watches a running server from the terminal. Every
//! interval it reads the server's `/metrics` and `/health/` and prints one
//! line of rates and latencies computed from the difference with the
//! previous reading, flagged against the operators' thresholds.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use prometheus_parse::{Scrape, Value};
use serde::Serialize;

#[derive(Debug, Args)]
pub struct MonitorArgs {
    /// Base URL of the server to watch.
    #[arg(long, default_value = "http://127.0.0.1:8000")]
    url: String,

    /// Seconds between two readings.
    #[arg(long, default_value_t = 5)]
    interval: u64,

    /// Lines to print before exiting; unset, it runs until Ctrl-C or --duration.
    #[arg(long)]
    count: Option<u64>,

    /// Seconds to run before exiting; unset, it runs until Ctrl-C or --count.
    #[arg(long)]
    duration: Option<u64>,

    /// Print each line as a JSON object instead of a table row.
    #[arg(long)]
    json: bool,
}

/// p95 request latency above which a line is flagged, in milliseconds.
const LATENCY_WARNING_MS: f64 = 500.0;
const LATENCY_CRITICAL_MS: f64 = 1_000.0;
/// Share of 5xx responses above which a line is flagged.
const ERRORS_WARNING: f64 = 0.05;
const ERRORS_CRITICAL: f64 = 0.10;
/// Cache hit rate below which a line is flagged.
const CACHE_HIT_WARNING: f64 = 0.80;
/// Rows between two table headers.
const HEADER_EVERY: u64 = 20;

/// Routes that scrapers and probes call, left out of the request figures as
/// the alert rules leave them out.
fn is_probe_route(route: &str) -> bool {
    route == "/metrics" || route.starts_with("/health")
}

/// The cumulative values of one reading that the rates come from.
#[derive(Debug, Default, Clone)]
struct Reading {
    at: Option<Instant>,
    requests: f64,
    server_errors: f64,
    /// Request duration buckets summed over routes: upper bound → count.
    latency: BTreeMap<OrderedBound, f64>,
    database: BTreeMap<OrderedBound, f64>,
    in_flight: f64,
    tickets: f64,
    revenue_usd: f64,
    payments: f64,
    failed_payments: f64,
    cache_hits: f64,
    cache_reads: f64,
    pool_open: f64,
    pool_idle: f64,
    pool_max: f64,
    holds_due: f64,
    fiscal_waiting: f64,
    cpu_seconds: f64,
    resident_bytes: f64,
}

/// A histogram bound that can key a map (`+Inf` included).
#[derive(Debug, Clone, Copy, PartialEq)]
struct OrderedBound(f64);

impl Eq for OrderedBound {}

impl PartialOrd for OrderedBound {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for OrderedBound {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

fn scalar(value: &Value) -> f64 {
    match value {
        Value::Counter(value) | Value::Gauge(value) | Value::Untyped(value) => *value,
        Value::Histogram(_) | Value::Summary(_) => 0.0,
    }
}

fn add_buckets(into: &mut BTreeMap<OrderedBound, f64>, value: &Value) {
    if let Value::Histogram(buckets) = value {
        for bucket in buckets {
            *into.entry(OrderedBound(bucket.less_than)).or_default() += bucket.count;
        }
    }
}

/// Sums what the monitor shows out of one exposition.
fn read(scrape: &Scrape, at: Instant) -> Reading {
    let mut reading = Reading {
        at: Some(at),
        ..Reading::default()
    };
    for sample in &scrape.samples {
        let label = |name: &str| sample.labels.get(name).unwrap_or_default();
        let value = scalar(&sample.value);
        match sample.metric.as_str() {
            "venezuelan_pos_http_requests_total" if !is_probe_route(label("route")) => {
                reading.requests += value;
                if label("status").starts_with('5') {
                    reading.server_errors += value;
                }
            }
            "venezuelan_pos_http_request_duration_seconds" if !is_probe_route(label("route")) => {
                add_buckets(&mut reading.latency, &sample.value)
            }
            "venezuelan_pos_database_query_duration_seconds" => {
                add_buckets(&mut reading.database, &sample.value)
            }
            "venezuelan_pos_http_requests_in_flight" => reading.in_flight += value,
            "venezuelan_pos_ticket_sales_total" => reading.tickets += value,
            "venezuelan_pos_revenue_total" => reading.revenue_usd += value,
            "venezuelan_pos_payment_processing_duration_seconds_count" => {
                reading.payments += value;
                if label("success") == "false" {
                    reading.failed_payments += value;
                }
            }
            "venezuelan_pos_cache_operations_total" if label("operation") == "get" => {
                reading.cache_reads += value;
                if label("result") == "hit" {
                    reading.cache_hits += value;
                }
            }
            "venezuelan_pos_database_pool_connections" => match label("state") {
                "open" => reading.pool_open += value,
                "idle" => reading.pool_idle += value,
                "max" => reading.pool_max += value,
                _ => {}
            },
            "venezuelan_pos_holds_due" => reading.holds_due += value,
            "venezuelan_pos_fiscal_documents_waiting" => reading.fiscal_waiting += value,
            "venezuelan_pos_process_cpu_seconds_total" => reading.cpu_seconds += value,
            "venezuelan_pos_process_resident_memory_bytes" => reading.resident_bytes += value,
            _ => {}
        }
    }
    reading
}

/// Estimates a quantile from the growth of cumulative buckets between two
/// readings, interpolating inside the bucket as Prometheus's
/// `histogram_quantile` does. None when nothing was observed.
fn quantile(
    before: &BTreeMap<OrderedBound, f64>,
    after: &BTreeMap<OrderedBound, f64>,
    fraction: f64,
) -> Option<f64> {
    let grown: Vec<(f64, f64)> = after
        .iter()
        .map(|(bound, count)| {
            let earlier = before.get(bound).copied().unwrap_or(0.0);
            (bound.0, (count - earlier).max(0.0))
        })
        .collect();
    let total = grown.last()?.1;
    if total <= 0.0 {
        return None;
    }
    let rank = fraction * total;
    let mut lower_bound = 0.0;
    let mut lower_count = 0.0;
    for (bound, count) in grown {
        if count >= rank {
            if bound.is_infinite() {
                // Above the largest finite bucket: report that bucket's bound.
                return Some(lower_bound);
            }
            let in_bucket = count - lower_count;
            let position = if in_bucket > 0.0 {
                (rank - lower_count) / in_bucket
            } else {
                1.0
            };
            return Some(lower_bound + (bound - lower_bound) * position);
        }
        lower_bound = bound;
        lower_count = count;
    }
    None
}

/// One printed line.
#[derive(Debug, Serialize)]
struct Line {
    time: String,
    health: String,
    /// Components not healthy, with their status.
    components: Vec<String>,
    requests_per_second: f64,
    server_error_share: f64,
    p50_ms: Option<f64>,
    p95_ms: Option<f64>,
    p99_ms: Option<f64>,
    in_flight: f64,
    tickets_per_minute: f64,
    revenue_usd_per_minute: f64,
    failed_payment_share: Option<f64>,
    cache_hit_rate: Option<f64>,
    database_p95_ms: Option<f64>,
    pool_in_use: f64,
    pool_max: f64,
    holds_due: f64,
    fiscal_documents_waiting: f64,
    cpu_percent: f64,
    memory_mib: f64,
    /// `WARNING …` or `CRITICAL …` for each threshold passed.
    flags: Vec<String>,
}

fn share(part: f64, whole: f64) -> Option<f64> {
    (whole > 0.0).then(|| part / whole)
}

fn line(before: &Reading, after: &Reading, health: (String, Vec<String>)) -> Line {
    let seconds = match (before.at, after.at) {
        (Some(before), Some(after)) => after.duration_since(before).as_secs_f64().max(0.001),
        _ => 1.0,
    };
    let requests = (after.requests - before.requests).max(0.0);
    let server_errors = (after.server_errors - before.server_errors).max(0.0);
    let to_ms = |seconds: Option<f64>| seconds.map(|value| value * 1000.0);
    let p95_ms = to_ms(quantile(&before.latency, &after.latency, 0.95));
    let cache_reads = after.cache_reads - before.cache_reads;
    let cache_hit_rate = share(after.cache_hits - before.cache_hits, cache_reads);
    let server_error_share = share(server_errors, requests).unwrap_or(0.0);

    let mut flags = Vec::new();
    if let Some(p95) = p95_ms {
        if p95 > LATENCY_CRITICAL_MS {
            flags.push(format!(
                "CRITICAL p95 {p95:.0} ms > {LATENCY_CRITICAL_MS} ms"
            ));
        } else if p95 > LATENCY_WARNING_MS {
            flags.push(format!("WARNING p95 {p95:.0} ms > {LATENCY_WARNING_MS} ms"));
        }
    }
    if server_error_share > ERRORS_CRITICAL {
        flags.push(format!(
            "CRITICAL 5xx {:.1} % > {:.0} %",
            server_error_share * 100.0,
            ERRORS_CRITICAL * 100.0
        ));
    } else if server_error_share > ERRORS_WARNING {
        flags.push(format!(
            "WARNING 5xx {:.1} % > {:.0} %",
            server_error_share * 100.0,
            ERRORS_WARNING * 100.0
        ));
    }
    if let Some(rate) = cache_hit_rate
        && rate < CACHE_HIT_WARNING
    {
        flags.push(format!(
            "WARNING cache hits {:.0} % < {:.0} %",
            rate * 100.0,
            CACHE_HIT_WARNING * 100.0
        ));
    }
    if health.0 != "healthy" {
        flags.push(format!("health {}", health.0));
    }

    Line {
        time: chrono::Utc::now().format("%H:%M:%S").to_string(),
        health: health.0,
        components: health.1,
        requests_per_second: requests / seconds,
        server_error_share,
        p50_ms: to_ms(quantile(&before.latency, &after.latency, 0.50)),
        p95_ms,
        p99_ms: to_ms(quantile(&before.latency, &after.latency, 0.99)),
        in_flight: after.in_flight,
        tickets_per_minute: (after.tickets - before.tickets).max(0.0) * 60.0 / seconds,
        revenue_usd_per_minute: (after.revenue_usd - before.revenue_usd).max(0.0) * 60.0 / seconds,
        failed_payment_share: share(
            after.failed_payments - before.failed_payments,
            after.payments - before.payments,
        ),
        cache_hit_rate,
        database_p95_ms: to_ms(quantile(&before.database, &after.database, 0.95)),
        pool_in_use: (after.pool_open - after.pool_idle).max(0.0),
        pool_max: after.pool_max,
        holds_due: after.holds_due,
        fiscal_documents_waiting: after.fiscal_waiting,
        cpu_percent: (after.cpu_seconds - before.cpu_seconds).max(0.0) * 100.0 / seconds,
        memory_mib: after.resident_bytes / (1024.0 * 1024.0),
        flags,
    }
}

fn optional(value: Option<f64>, decimals: usize) -> String {
    value.map_or_else(|| "-".to_string(), |value| format!("{value:.decimals$}"))
}

fn print_header() {
    println!(
        "{:<8} {:<9} {:>8} {:>6} {:>8} {:>8} {:>8} {:>8} {:>8} {:>9} {:>6} {:>7} {:>7} {:>7} {:>6} {:>7}  flags",
        "time",
        "health",
        "req/s",
        "5xx%",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "inflight",
        "tix/min",
        "US$/min",
        "cache%",
        "db p95",
        "pool",
        "due",
        "cpu%",
        "MiB"
    );
}

fn print_row(line: &Line) {
    println!(
        "{:<8} {:<9} {:>8.1} {:>6.1} {:>8} {:>8} {:>8} {:>8.0} {:>8.1} {:>9.2} {:>6} {:>7} {:>7} {:>7.0} {:>6.1} {:>7.0}  {}",
        line.time,
        line.health,
        line.requests_per_second,
        line.server_error_share * 100.0,
        optional(line.p50_ms, 1),
        optional(line.p95_ms, 1),
        optional(line.p99_ms, 1),
        line.in_flight,
        line.tickets_per_minute,
        line.revenue_usd_per_minute,
        optional(line.cache_hit_rate.map(|rate| rate * 100.0), 0),
        optional(line.database_p95_ms, 1),
        format!("{:.0}/{:.0}", line.pool_in_use, line.pool_max),
        line.holds_due,
        line.cpu_percent,
        line.memory_mib,
        line.flags.join("; ")
    );
}

/// Reads `/health/`: the overall status and the components that are not healthy.
async fn health(client: &reqwest::Client, base: &str) -> (String, Vec<String>) {
    let answer = client.get(format!("{base}/health/")).send().await;
    let Ok(response) = answer else {
        return ("unreachable".to_string(), Vec::new());
    };
    let Ok(body) = response.json::<serde_json::Value>().await else {
        return ("invalid".to_string(), Vec::new());
    };
    let status = body["status"].as_str().unwrap_or("unknown").to_string();
    let components = body["components"]
        .as_object()
        .map(|components| {
            components
                .iter()
                .filter(|(_, component)| component["status"] != "healthy")
                .map(|(name, component)| {
                    format!("{name}={}", component["status"].as_str().unwrap_or("?"))
                })
                .collect()
        })
        .unwrap_or_default();
    (status, components)
}

async fn scrape(client: &reqwest::Client, base: &str) -> anyhow::Result<Reading> {
    let response = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .with_context(|| format!("reading {base}/metrics"))?;
    if !response.status().is_success() {
        bail!("{base}/metrics returned {}", response.status());
    }
    let text = response.text().await?;
    let at = Instant::now();
    let parsed = Scrape::parse(text.lines().map(|line| Ok(line.to_string())))
        .context("parsing the Prometheus exposition")?;
    Ok(read(&parsed, at))
}

pub async fn run(args: MonitorArgs) -> anyhow::Result<ExitCode> {
    if args.interval == 0 {
        bail!("--interval must be at least 1 second");
    }
    if args.count == Some(0) {
        bail!("--count must be at least 1");
    }
    if args.duration == Some(0) {
        bail!("--duration must be at least 1 second");
    }
    let deadline = args
        .duration
        .map(|seconds| tokio::time::Instant::now() + Duration::from_secs(seconds));
    let base = args.url.trim_end_matches('/').to_string();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(args.interval.clamp(2, 10)))
        .no_proxy()
        .build()?;
    eprintln!(
        "watching {base} every {} s (thresholds: p95 {LATENCY_WARNING_MS}/{LATENCY_CRITICAL_MS} ms, 5xx {:.0}/{:.0} %, cache hits {:.0} %); Ctrl-C stops",
        args.interval,
        ERRORS_WARNING * 100.0,
        ERRORS_CRITICAL * 100.0,
        CACHE_HIT_WARNING * 100.0
    );

    let mut previous = match scrape(&client, &base).await {
        Ok(reading) => Some(reading),
        Err(error) => {
            eprintln!("{error:#}");
            None
        }
    };
    let mut printed = 0u64;
    let mut failures = 0u64;
    let mut ticker = tokio::time::interval(Duration::from_secs(args.interval));
    ticker.tick().await;
    loop {
        let until_deadline = async {
            match deadline {
                Some(deadline) => tokio::time::sleep_until(deadline).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = ticker.tick() => {}
            _ = until_deadline => break,
            _ = tokio::signal::ctrl_c() => break,
        }
        let current = match scrape(&client, &base).await {
            Ok(reading) => reading,
            Err(error) => {
                failures += 1;
                eprintln!(
                    "{} unreachable: {error:#}",
                    chrono::Utc::now().format("%H:%M:%S")
                );
                previous = None;
                printed += 1;
                if args.count.is_some_and(|count| printed >= count) {
                    break;
                }
                continue;
            }
        };
        let Some(before) = previous.replace(current.clone()) else {
            // The first reading after a failure only sets the starting point.
            continue;
        };
        let row = line(&before, &current, health(&client, &base).await);
        if args.json {
            println!("{}", serde_json::to_string(&row)?);
        } else {
            if printed.is_multiple_of(HEADER_EVERY) {
                print_header();
            }
            print_row(&row);
        }
        printed += 1;
        if args.count.is_some_and(|count| printed >= count) {
            break;
        }
    }
    Ok(if failures > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buckets(pairs: &[(f64, f64)]) -> BTreeMap<OrderedBound, f64> {
        pairs
            .iter()
            .map(|(bound, count)| (OrderedBound(*bound), *count))
            .collect()
    }

    #[test]
    fn quantile_interpolates_inside_bucket() {
        let before = buckets(&[(0.1, 0.0), (0.5, 0.0), (f64::INFINITY, 0.0)]);
        // 100 new observations: 50 up to 0.1 s, 50 between 0.1 and 0.5 s.
        let after = buckets(&[(0.1, 50.0), (0.5, 100.0), (f64::INFINITY, 100.0)]);
        let p50 = quantile(&before, &after, 0.50).unwrap();
        assert!((p50 - 0.1).abs() < 1e-9, "{p50}");
        let p95 = quantile(&before, &after, 0.95).unwrap();
        assert!((p95 - 0.46).abs() < 1e-9, "{p95}");
    }

    #[test]
    fn quantile_uses_growth_not_totals() {
        let before = buckets(&[(0.1, 1_000.0), (1.0, 1_000.0), (f64::INFINITY, 1_000.0)]);
        let after = buckets(&[(0.1, 1_000.0), (1.0, 1_010.0), (f64::INFINITY, 1_010.0)]);
        let p50 = quantile(&before, &after, 0.50).unwrap();
        assert!(p50 > 0.1, "{p50}");
        assert!(p50 <= 1.0, "{p50}");
    }

    #[test]
    fn quantile_without_observations_is_none() {
        let same = buckets(&[(0.1, 5.0), (f64::INFINITY, 5.0)]);
        assert_eq!(quantile(&same, &same, 0.95), None);
    }

    #[test]
    fn quantile_above_last_bucket_is_its_bound() {
        let before = buckets(&[(0.5, 0.0), (f64::INFINITY, 0.0)]);
        let after = buckets(&[(0.5, 0.0), (f64::INFINITY, 10.0)]);
        assert_eq!(quantile(&before, &after, 0.95), Some(0.5));
    }

    #[test]
    fn reading_skips_probe_routes_and_counts_errors() {
        let text = "\
# TYPE venezuelan_pos_http_requests_total counter
venezuelan_pos_http_requests_total{route=\"/api/v1/sales\",method=\"POST\",status=\"201\"} 8
venezuelan_pos_http_requests_total{route=\"/api/v1/sales\",method=\"POST\",status=\"503\"} 2
venezuelan_pos_http_requests_total{route=\"/metrics\",method=\"GET\",status=\"200\"} 100
# TYPE venezuelan_pos_cache_operations_total counter
venezuelan_pos_cache_operations_total{operation=\"get\",result=\"hit\"} 9
venezuelan_pos_cache_operations_total{operation=\"get\",result=\"miss\"} 1
venezuelan_pos_cache_operations_total{operation=\"set\",result=\"ok\"} 1
";
        let scrape = Scrape::parse(text.lines().map(|line| Ok(line.to_string()))).unwrap();
        let reading = read(&scrape, Instant::now());
        assert_eq!(reading.requests, 10.0);
        assert_eq!(reading.server_errors, 2.0);
        assert_eq!(reading.cache_reads, 10.0);
        assert_eq!(reading.cache_hits, 9.0);
    }
}
