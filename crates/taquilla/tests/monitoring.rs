//! Checks the monitoring kit in `monitoring/` against the real `taquilla`
//! process: every metric and label that the alert rules, their unit tests and
//! the Grafana dashboard refer to is in the `/metrics` output after a sale that
//! ends a price stage, and the rules pass `promtool`.

use std::collections::{BTreeMap, BTreeSet};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use uuid::Uuid;

/// Series that Prometheus itself writes for every scrape target, so taquilla
/// cannot export them.
const PROMETHEUS_SERIES: &[&str] = &["up"];

/// Labels that Prometheus adds to every scraped series.
const TARGET_LABELS: &[&str] = &["job", "instance"];

fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repository root")
}

fn read_monitoring_file(relative: &str) -> String {
    let path = repository_root().join("monitoring").join(relative);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("failed to read {}: {error}", path.display()))
}

// ---------------------------------------------------------------------------
// Starting taquilla and selling, as in tests/process.rs.

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind a free port")
        .local_addr()
        .expect("address")
        .port()
}

/// Starts `taquilla serve --demo` on `database_url` and waits until it responds.
async fn start_server(database_url: &str, port: u16) -> Child {
    let mut child = Command::new(env!("CARGO_BIN_EXE_taquilla"))
        .args(["serve", "--demo", "--bind", &format!("127.0.0.1:{port}")])
        .env("DATABASE_URL", database_url)
        .env("TAQUILLA_ARGON2_MEMORY_KIB", "64")
        .env("TAQUILLA_ARGON2_ITERATIONS", "1")
        .env("TAQUILLA_LOG_FORMAT", "text")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start taquilla");
    let client = reqwest::Client::new();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(60) {
        if let Ok(response) = client
            .get(format!("http://127.0.0.1:{port}/health/live"))
            .send()
            .await
            && response.status().is_success()
        {
            return child;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("taquilla did not respond on port {port} within 60 s");
}

/// A demo user logged in to the API.
struct ApiUser {
    client: reqwest::Client,
    base: String,
    token: String,
}

impl ApiUser {
    async fn login(base: &str, username: &str, password: &str) -> Self {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        let login: Value = client
            .post(format!("{base}/api/v1/auth/login"))
            .json(&json!({ "username": username, "password": password }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        Self {
            client,
            base: base.to_string(),
            token: login["access_token"].as_str().unwrap().to_string(),
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self
            .client
            .request(method, format!("{}/api/v1{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        if path.ends_with("/payments") {
            request = request.header("idempotency-key", Uuid::new_v4().to_string());
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn demo_event_id(&self) -> String {
        let (status, events) = self.call(reqwest::Method::GET, "/events", None).await;
        assert_eq!(status, 200, "list events: {events}");
        events["items"][0]["id"].as_str().unwrap().to_string()
    }

    /// Adds an event-wide "Preventa" price stage that ends after 2 tickets,
    /// followed by a "General" stage.
    async fn add_presale_stage(&self, event_id: &str) {
        let path = format!("/events/{event_id}/stages");
        let presale = json!({
            "name": "Preventa",
            "modifier": { "kind": "percent", "basis_points": -2000 },
            "quantity_limit": 2,
        });
        let (status, stage) = self.call(reqwest::Method::POST, &path, Some(presale)).await;
        assert_eq!(status, 201, "create Preventa stage: {stage}");
        let general =
            json!({ "name": "General", "modifier": { "kind": "percent", "basis_points": 0 } });
        let (status, stage) = self.call(reqwest::Method::POST, &path, Some(general)).await;
        assert_eq!(status, 201, "create General stage: {stage}");
    }

    /// Sells two seats of the event's Platea zone in cash and returns the paid order.
    async fn sell_two_seats(&self, event_id: &str) -> Value {
        let (_, zones) = self
            .call(
                reqwest::Method::GET,
                &format!("/events/{event_id}/zones"),
                None,
            )
            .await;
        let platea = zones["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|zone| zone["name"] == "Platea")
            .expect("the demo event has a Platea zone")["id"]
            .as_str()
            .unwrap()
            .to_string();
        let (_, availability) = self
            .call(
                reqwest::Method::GET,
                &format!("/zones/{platea}/availability"),
                None,
            )
            .await;
        let seats: Vec<&str> = availability["seats"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|seat| seat["status"] == "available")
            .take(2)
            .map(|seat| seat["id"].as_str().unwrap())
            .collect();
        let (status, customer) = self
            .call(
                reqwest::Method::POST,
                "/customers",
                Some(json!({ "first_name": "Luis", "last_name": "Díaz", "document": "V-12345678", "phone": "0412-1234567" })),
            )
            .await;
        assert_eq!(status, 201, "create customer: {customer}");

        let (status, hold) = self
            .call(
                reqwest::Method::POST,
                "/holds",
                Some(json!({ "zone_id": platea, "seat_ids": seats })),
            )
            .await;
        assert_eq!(status, 201, "create hold: {hold}");
        let (status, order) = self
            .call(
                reqwest::Method::POST,
                "/orders",
                Some(json!({ "hold_id": hold["id"], "customer_id": customer["id"] })),
            )
            .await;
        assert_eq!(status, 201, "create order: {order}");
        let order_id = order["id"].as_str().unwrap();
        let (status, paid) = self
            .call(
                reqwest::Method::POST,
                &format!("/orders/{order_id}/payments"),
                Some(json!({ "method": "cash", "currency": "USD", "amount_cents": order["total_usd_cents"] })),
            )
            .await;
        assert_eq!(status, 201, "pay order: {paid}");
        assert_eq!(paid["order"]["status"], "paid");
        paid["order"].clone()
    }
}

// ---------------------------------------------------------------------------
// Reading the `/metrics` text exposition.

/// Returns each series name in a Prometheus text exposition with the label
/// names seen on it.
fn exported_series(exposition: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut series: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in exposition.lines() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let name_end = line.find(['{', ' ']).unwrap_or(line.len());
        let labels = series.entry(line[..name_end].to_string()).or_default();
        if line[name_end..].starts_with('{') {
            let chars: Vec<char> = line[name_end..].chars().collect();
            let (names, _) = matcher_labels(&chars, 0);
            labels.extend(names);
        }
    }
    series
}

// ---------------------------------------------------------------------------
// Finding metric selectors in PromQL.

/// One metric selector in a PromQL expression: the metric name and the label
/// names of its matchers.
#[derive(Debug, PartialEq)]
struct Selector {
    metric: String,
    labels: Vec<String>,
}

/// PromQL keywords followed by a parenthesised list of label names.
const GROUPING_KEYWORDS: &[&str] = &[
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
];

/// PromQL keywords and constants, which are not metric names.
const KEYWORDS: &[&str] = &["and", "or", "unless", "bool", "offset", "inf", "nan"];

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == ':'
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == ':'
}

/// Returns the index after the string literal that starts at `start`.
fn skip_string(chars: &[char], start: usize) -> usize {
    let quote = chars[start];
    let mut i = start + 1;
    while i < chars.len() && chars[i] != quote {
        // Backquoted PromQL strings are raw, so only the other two kinds have escapes.
        if chars[i] == '\\' && quote != '`' {
            i += 1;
        }
        i += 1;
    }
    i + 1
}

/// Returns the index after the first `close` at or after `start`.
fn skip_past(chars: &[char], start: usize, close: char) -> usize {
    chars[start..]
        .iter()
        .position(|&c| c == close)
        .map_or(chars.len(), |offset| start + offset + 1)
}

fn next_non_space(chars: &[char], start: usize) -> Option<usize> {
    (start..chars.len()).find(|&i| !chars[i].is_whitespace())
}

/// Returns the word that follows `start` after optional whitespace, if any.
fn next_word(chars: &[char], start: usize) -> Option<String> {
    let first = next_non_space(chars, start)?;
    let word: String = chars[first..]
        .iter()
        .take_while(|&&c| is_name_char(c))
        .collect();
    (!word.is_empty()).then_some(word)
}

/// Reads the label matchers of the `{…}` block that opens at `open` and
/// returns their label names and the index after the closing brace.
fn matcher_labels(chars: &[char], open: usize) -> (Vec<String>, usize) {
    let mut labels = Vec::new();
    let mut i = open + 1;
    while i < chars.len() {
        let c = chars[i];
        if c == '}' {
            return (labels, i + 1);
        }
        if c == '"' || c == '\'' || c == '`' {
            i = skip_string(chars, i);
        } else if is_name_start(c) {
            let start = i;
            while i < chars.len() && is_name_char(chars[i]) {
                i += 1;
            }
            labels.push(chars[start..i].iter().collect());
        } else {
            // Whitespace, commas and the operators =, !=, =~ and !~.
            i += 1;
        }
    }
    panic!(
        "unclosed label matchers in {:?}",
        chars.iter().collect::<String>()
    );
}

/// Finds the metric selectors of a PromQL expression. Label names in matchers
/// and grouping clauses, function names, keywords, numbers, durations and
/// Grafana variables such as `$__rate_interval` are skipped.
fn selectors(expression: &str) -> Vec<Selector> {
    let chars: Vec<char> = expression.chars().collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '"' || c == '\'' || c == '`' {
            i = skip_string(&chars, i);
        } else if c == '[' {
            // A range or subquery duration.
            i = skip_past(&chars, i, ']');
        } else if c == '$' {
            i += 1;
            while i < chars.len() && is_name_char(chars[i]) {
                i += 1;
            }
        } else if c.is_ascii_digit() {
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                i += 1;
            }
        } else if c == '{' {
            panic!("a selector without a metric name is not supported by this check: {expression}");
        } else if is_name_start(c) {
            let start = i;
            while i < chars.len() && is_name_char(chars[i]) {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let lowercase = word.to_ascii_lowercase();
            let next = next_non_space(&chars, i);
            let next_char = next.map(|j| chars[j]);
            if GROUPING_KEYWORDS.contains(&lowercase.as_str()) {
                if let Some(j) = next
                    && next_char == Some('(')
                {
                    i = skip_past(&chars, j, ')');
                }
            } else if KEYWORDS.contains(&lowercase.as_str())
                || next_char == Some('(')
                || next_word(&chars, i).is_some_and(|following| {
                    matches!(following.to_ascii_lowercase().as_str(), "by" | "without")
                })
            {
                // A keyword, a function name, or an aggregation such as
                // `sum by (job) (…)` whose grouping comes before its argument.
            } else {
                let mut labels = Vec::new();
                if let Some(j) = next
                    && next_char == Some('{')
                {
                    let (names, end) = matcher_labels(&chars, j);
                    labels = names;
                    i = end;
                }
                found.push(Selector {
                    metric: word,
                    labels,
                });
            }
        } else {
            i += 1;
        }
    }
    found
}

// ---------------------------------------------------------------------------
// Collecting the expressions of the monitoring files.

fn indentation(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// Returns a YAML flow scalar without its quotes, comment and escapes.
fn yaml_scalar(raw: &str) -> String {
    let raw = raw.trim();
    if let Some(inner) = raw
        .strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
    {
        inner.replace("\\\"", "\"").replace("\\\\", "\\")
    } else if let Some(inner) = raw
        .strip_prefix('\'')
        .and_then(|rest| rest.strip_suffix('\''))
    {
        inner.replace("''", "'")
    } else {
        raw.split(" #")
            .next()
            .unwrap_or_default()
            .trim()
            .to_string()
    }
}

/// Returns the values of the `key:` entries of a YAML file, written inline or
/// as `|` and `>` block scalars.
fn yaml_values(yaml: &str, key: &str) -> Vec<String> {
    let prefix = format!("{key}:");
    let lines: Vec<&str> = yaml.lines().collect();
    let mut values = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let entry = line.trim_start().trim_start_matches("- ");
        i += 1;
        let Some(rest) = entry.strip_prefix(&prefix) else {
            continue;
        };
        let rest = rest.trim();
        if rest.starts_with('|') || rest.starts_with('>') {
            let mut block = String::new();
            while i < lines.len()
                && (lines[i].trim().is_empty() || indentation(lines[i]) > indentation(line))
            {
                block.push_str(lines[i].trim());
                block.push('\n');
                i += 1;
            }
            values.push(block);
        } else {
            values.push(yaml_scalar(rest));
        }
    }
    values
}

/// Returns the PromQL inside a Grafana Prometheus variable query, or None when
/// it names no metric (`label_names()`, `label_values(label)`).
fn variable_expression(query: &str) -> Option<String> {
    let query = query.trim();
    if let Some(arguments) = query
        .strip_prefix("label_values(")
        .and_then(|rest| rest.strip_suffix(')'))
    {
        // label_values(selector, label) or label_values(label). The selector
        // may contain commas inside its braces, so split at the last comma.
        return arguments
            .rsplit_once(',')
            .map(|(selector, _label)| selector.to_string());
    }
    if let Some(inner) = query
        .strip_prefix("query_result(")
        .and_then(|rest| rest.strip_suffix(')'))
    {
        return Some(inner.to_string());
    }
    if query == "label_names()" {
        return None;
    }
    panic!(
        "Grafana variable query '{query}' is not supported by this check. Extend variable_expression()."
    );
}

/// Collects the strings of every `expr` key in a JSON tree.
fn collect_expr_strings(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                if key == "expr"
                    && let Some(expression) = child.as_str()
                {
                    found.push(expression.to_string());
                } else {
                    collect_expr_strings(child, found);
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                collect_expr_strings(item, found);
            }
        }
        _ => {}
    }
}

/// Returns the PromQL of the dashboard's panel targets and query variables.
fn dashboard_expressions(dashboard: &Value) -> Vec<String> {
    let mut expressions = Vec::new();
    collect_expr_strings(&dashboard["panels"], &mut expressions);
    let variables = dashboard["templating"]["list"]
        .as_array()
        .expect("dashboard templating.list");
    for variable in variables
        .iter()
        .filter(|variable| variable["type"] == "query")
    {
        let query = variable["query"]
            .as_str()
            .or_else(|| variable["query"]["query"].as_str())
            .unwrap_or_else(|| panic!("query variable without a query: {variable}"));
        expressions.extend(variable_expression(query));
    }
    expressions
}

/// A metric selector and the monitoring file it appears in.
struct MetricUse {
    source: String,
    selector: Selector,
}

fn uses_in(source: &str, expressions: &[String]) -> Vec<MetricUse> {
    expressions
        .iter()
        .flat_map(|expression| selectors(expression))
        .map(|selector| MetricUse {
            source: source.to_string(),
            selector,
        })
        .collect()
}

/// Returns the metric selectors used by the alert rules, their unit tests' input
/// series and the dashboard.
fn monitoring_uses() -> Vec<MetricUse> {
    let rules = read_monitoring_file("alert_rules.yml");
    let rule_expressions = yaml_values(&rules, "expr");
    let alerts = yaml_values(&rules, "alert");
    assert!(!alerts.is_empty(), "alert_rules.yml defines no alert");
    assert_eq!(
        rule_expressions.len(),
        alerts.len(),
        "every alert in alert_rules.yml has one `expr:` that this check reads"
    );

    let rule_tests = read_monitoring_file("tests/alert_rules_test.yml");
    let input_series = yaml_values(&rule_tests, "series");
    assert!(
        !input_series.is_empty(),
        "alert_rules_test.yml has no input series"
    );

    let dashboard: Value =
        serde_json::from_str(&read_monitoring_file("grafana/dashboards/taquilla.json"))
            .expect("taquilla.json is valid JSON");
    let dashboard_expressions = dashboard_expressions(&dashboard);
    assert!(
        !dashboard_expressions.is_empty(),
        "taquilla.json has no PromQL expression"
    );

    let mut uses = uses_in("alert_rules.yml", &rule_expressions);
    uses.extend(uses_in("tests/alert_rules_test.yml", &input_series));
    uses.extend(uses_in(
        "grafana/dashboards/taquilla.json",
        &dashboard_expressions,
    ));
    for expression in rule_expressions.iter().chain(&dashboard_expressions) {
        assert!(
            !selectors(expression).is_empty(),
            "no metric found in the expression {expression:?}; the selector scan missed it"
        );
    }
    uses
}

// ---------------------------------------------------------------------------
// Tests.

#[test]
fn selectors_skip_labels_functions_and_durations() {
    let found = selectors(
        r#"histogram_quantile(0.95, sum by (job, le) (rate(a_bucket{route!~"/metrics|/health/.*", status=~"5.."}[$__rate_interval])))
           > 1 and on(instance) b{state="idle"} == 0 or max without (state) (c) offset 5m
           unless time() - d > Inf"#,
    );

    let names: Vec<&str> = found
        .iter()
        .map(|selector| selector.metric.as_str())
        .collect();
    assert_eq!(names, ["a_bucket", "b", "c", "d"]);
    assert_eq!(found[0].labels, ["route", "status"]);
    assert_eq!(found[1].labels, ["state"]);
    assert!(found[2].labels.is_empty());
}

#[test]
fn yaml_values_read_inline_and_block_scalars() {
    let yaml = "groups:\n  - rules:\n      - alert: A\n        expr: up == 0 # comment\n      - alert: B\n        expr: |\n          sum(x)\n            > 1\n        for: 5m\n      - alert: C\n        expr: 'y{a=\"b\"} > 0'\n";

    let values = yaml_values(yaml, "expr");

    assert_eq!(values, ["up == 0", "sum(x)\n> 1\n", "y{a=\"b\"} > 0"]);
}

#[test]
fn variable_expression_takes_label_values_selector() {
    assert_eq!(
        variable_expression(r#"label_values(m{job=~"$job", a="x,y"}, instance)"#).as_deref(),
        Some(r#"m{job=~"$job", a="x,y"}"#)
    );
    assert_eq!(variable_expression("label_values(job)"), None);
}

/// Every metric and label that `monitoring/` refers to is exported by taquilla.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monitoring_files_use_exported_metrics() {
    // Arrange: a server on SQLite with one paid sale of two tickets, which ends
    // a two-ticket price stage, so the business metrics have series.
    let uses = monitoring_uses();
    let directory = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}",
        directory.path().join("taquilla.db").display()
    );
    let port = free_port();
    let mut server = start_server(&url, port).await;
    let base = format!("http://127.0.0.1:{port}");
    let admin = ApiUser::login(&base, "demo-admin", "demo-admin-2026").await;
    let cashier = ApiUser::login(&base, "demo-cajero", "demo-cajero-2026").await;
    let event_id = cashier.demo_event_id().await;
    admin.add_presale_stage(&event_id).await;
    cashier.sell_two_seats(&event_id).await;

    // Act
    let response = reqwest::get(format!("{base}/metrics")).await.unwrap();
    let status = response.status().as_u16();
    let exposition = response.text().await.unwrap();
    server.kill().expect("stop taquilla");
    server.wait().expect("reap taquilla");

    // Assert
    assert_eq!(status, 200, "GET /metrics");
    let exported = exported_series(&exposition);
    assert!(
        exported.contains_key("venezuelan_pos_ticket_sales_total"),
        "the sale did not reach the sales counter, so the check would prove nothing"
    );
    assert!(
        exported.contains_key("venezuelan_pos_stage_transitions_total"),
        "the sale did not end the Preventa stage, so stage transitions have no series"
    );
    let mut missing_metrics = BTreeSet::new();
    let mut missing_labels = BTreeSet::new();
    for MetricUse { source, selector } in &uses {
        if PROMETHEUS_SERIES.contains(&selector.metric.as_str()) {
            continue;
        }
        let Some(labels) = exported.get(&selector.metric) else {
            missing_metrics.insert(format!("{source}: {}", selector.metric));
            continue;
        };
        for label in &selector.labels {
            if !labels.contains(label) && !TARGET_LABELS.contains(&label.as_str()) {
                missing_labels.insert(format!("{source}: {}{{{label}}}", selector.metric));
            }
        }
    }
    assert!(
        missing_metrics.is_empty(),
        "monitoring/ uses metrics that taquilla does not export:\n  {}",
        missing_metrics.into_iter().collect::<Vec<_>>().join("\n  ")
    );
    assert!(
        missing_labels.is_empty(),
        "monitoring/ matches labels that taquilla's metrics do not have:\n  {}",
        missing_labels.into_iter().collect::<Vec<_>>().join("\n  ")
    );
}

/// Finds `promtool`. CI sets TAQUILLA_REQUIRE_PROMTOOL=1, so its absence fails there.
fn promtool() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|directory| directory.join("promtool"))
            .find(|candidate| candidate.is_file())
    });
    if found.is_none() && std::env::var_os("TAQUILLA_REQUIRE_PROMTOOL").is_some() {
        panic!("promtool is required (Debian package `prometheus`) but is not on PATH");
    }
    found
}

#[test]
fn monitoring_files_pass_promtool() {
    let Some(promtool) = promtool() else {
        eprintln!(
            "promtool not found: skipping the rule checks (install the `prometheus` package)"
        );
        return;
    };
    for arguments in [
        ["check", "config", "monitoring/prometheus.yml"],
        ["check", "rules", "monitoring/alert_rules.yml"],
        ["test", "rules", "monitoring/tests/alert_rules_test.yml"],
    ] {
        let output = Command::new(&promtool)
            .args(arguments)
            .current_dir(repository_root())
            .output()
            .expect("run promtool");
        assert!(
            output.status.success(),
            "promtool {} failed:\n{}{}",
            arguments.join(" "),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}
