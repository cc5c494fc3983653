//! `taquilla check-regression`: compares a benchmark run with a baseline and
//! fails when an operation got slower than allowed.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Args;
use serde::Serialize;

use super::benchmark::{BenchmarkArgs, BenchmarkReport, Component, Measurement, benchmark};

#[derive(Debug, Args)]
pub struct CheckRegressionArgs {
    /// Baseline written by `taquilla benchmark --save-baseline`.
    #[arg(long, value_name = "FILE")]
    baseline: PathBuf,

    /// Results to check, written by `taquilla benchmark --save-baseline`. Without
    /// it a benchmark runs now with --iterations and --component.
    #[arg(long, value_name = "FILE")]
    current: Option<PathBuf>,

    /// Measured runs of each operation when the benchmark runs now.
    #[arg(long, default_value_t = 50)]
    iterations: usize,

    /// Component to measure when the benchmark runs now.
    #[arg(long, value_enum, default_value = "all")]
    component: Component,

    /// Database for a benchmark run now (see `taquilla benchmark --database-url`).
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,

    /// Fail when an operation's p95 is above this many milliseconds.
    #[arg(long, default_value_t = 500.0)]
    max_p95_ms: f64,

    /// Fail when an operation's p95 is worse than the baseline's by more than
    /// this ratio: 0.5 allows 50 % slower.
    #[arg(long, default_value_t = 0.5)]
    tolerance: f64,

    /// Ignore p95 increases smaller than this many milliseconds, which timer
    /// noise alone can cause on sub-millisecond operations.
    #[arg(long, default_value_t = 1.0)]
    min_increase_ms: f64,

    /// Print the comparison as JSON.
    #[arg(long)]
    json: bool,
}

/// One operation of the comparison.
#[derive(Debug, Serialize)]
pub struct Comparison {
    pub component: String,
    pub name: String,
    pub baseline_p95_ms: Option<f64>,
    pub current_p95_ms: f64,
    /// Current p95 over baseline p95.
    pub ratio: Option<f64>,
    /// `ok`, `regressed` (slower than the tolerance allows), `over_limit`
    /// (above --max-p95-ms) or `new` (not in the baseline).
    pub verdict: String,
}

/// Compares every operation of `current` with the same operation of `baseline`.
pub fn compare(
    baseline: &BenchmarkReport,
    current: &BenchmarkReport,
    max_p95_ms: f64,
    tolerance: f64,
    min_increase_ms: f64,
) -> Vec<Comparison> {
    let find = |operation: &Measurement| {
        baseline.operations.iter().find(|candidate| {
            candidate.component == operation.component && candidate.name == operation.name
        })
    };
    current
        .operations
        .iter()
        .map(|operation| {
            let base = find(operation).map(|base| base.p95_ms);
            let verdict = if operation.p95_ms > max_p95_ms {
                "over_limit"
            } else {
                match base {
                    None => "new",
                    Some(base)
                        if operation.p95_ms > base * (1.0 + tolerance)
                            && operation.p95_ms - base > min_increase_ms =>
                    {
                        "regressed"
                    }
                    Some(_) => "ok",
                }
            };
            Comparison {
                component: operation.component.clone(),
                name: operation.name.clone(),
                baseline_p95_ms: base,
                current_p95_ms: operation.p95_ms,
                ratio: base
                    .filter(|base| *base > 0.0)
                    .map(|base| operation.p95_ms / base),
                verdict: verdict.to_string(),
            }
        })
        .collect()
}

fn read_report(path: &PathBuf) -> anyhow::Result<BenchmarkReport> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the benchmark results {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not a report of `taquilla benchmark --save-baseline`",
            path.display()
        )
    })
}

pub async fn run(args: CheckRegressionArgs) -> anyhow::Result<ExitCode> {
    // NaN compares false with everything, so it would let every run pass.
    if !args.tolerance.is_finite() || args.tolerance < 0.0 {
        bail!("--tolerance must be a number of at least 0");
    }
    if !args.max_p95_ms.is_finite() || args.max_p95_ms <= 0.0 {
        bail!("--max-p95-ms must be a number above 0");
    }
    if !args.min_increase_ms.is_finite() || args.min_increase_ms < 0.0 {
        bail!("--min-increase-ms must be a number of at least 0");
    }
    let baseline = read_report(&args.baseline)?;
    let current = match &args.current {
        Some(path) => read_report(path)?,
        None => {
            benchmark(&BenchmarkArgs {
                iterations: args.iterations,
                verbose: false,
                component: args.component,
                json: false,
                save_baseline: None,
                database_url: args.database_url.clone(),
                redis_url: None,
            })
            .await?
        }
    };
    if baseline.build != current.build || baseline.backend != current.backend {
        eprintln!(
            "warning: the baseline is a {} build on {}, this run a {} build on {}; the comparison may mislead",
            baseline.build, baseline.backend, current.build, current.backend
        );
    }
    let comparisons = compare(
        &baseline,
        &current,
        args.max_p95_ms,
        args.tolerance,
        args.min_increase_ms,
    );
    // A baseline that shares no operation with this run checks nothing.
    if comparisons
        .iter()
        .all(|comparison| comparison.baseline_p95_ms.is_none())
    {
        bail!(
            "the baseline {} has none of this run's operations; record a new one with `taquilla benchmark --save-baseline`",
            args.baseline.display()
        );
    }
    let failed: Vec<&Comparison> = comparisons
        .iter()
        .filter(|comparison| matches!(comparison.verdict.as_str(), "regressed" | "over_limit"))
        .collect();
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "max_p95_ms": args.max_p95_ms,
                "tolerance": args.tolerance,
                "min_increase_ms": args.min_increase_ms,
                "passed": failed.is_empty(),
                "operations": comparisons,
            }))?
        );
    } else {
        println!(
            "{:<10} {:<30} {:>12} {:>12} {:>7}  verdict",
            "component", "operation", "baseline p95", "current p95", "ratio"
        );
        for comparison in &comparisons {
            println!(
                "{:<10} {:<30} {:>12} {:>12.2} {:>7}  {}",
                comparison.component,
                comparison.name,
                comparison
                    .baseline_p95_ms
                    .map_or("-".to_string(), |base| format!("{base:.2}")),
                comparison.current_p95_ms,
                comparison
                    .ratio
                    .map_or("-".to_string(), |ratio| format!("{ratio:.2}")),
                comparison.verdict
            );
        }
        for comparison in &failed {
            match comparison.verdict.as_str() {
                "over_limit" => println!(
                    "REGRESSION: {} {} has a p95 of {:.2} ms, above the limit of {} ms",
                    comparison.component,
                    comparison.name,
                    comparison.current_p95_ms,
                    args.max_p95_ms
                ),
                _ => println!(
                    "REGRESSION: {} {} has a p95 of {:.2} ms against {:.2} ms in the baseline (allowed: {:.0} % slower)",
                    comparison.component,
                    comparison.name,
                    comparison.current_p95_ms,
                    comparison.baseline_p95_ms.unwrap_or_default(),
                    args.tolerance * 100.0
                ),
            }
        }
        if failed.is_empty() {
            println!("no regression");
        }
    }
    Ok(if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(p95s: &[(&str, f64)]) -> BenchmarkReport {
        BenchmarkReport {
            backend: "sqlite".to_string(),
            iterations: 10,
            build: "debug".to_string(),
            cpus: 2,
            operations: p95s
                .iter()
                .map(|(name, p95)| Measurement {
                    component: "api".to_string(),
                    name: name.to_string(),
                    iterations: 10,
                    mean_ms: *p95,
                    p50_ms: *p95,
                    p95_ms: *p95,
                    p99_ms: *p95,
                    max_ms: *p95,
                    ops_per_second: 1.0,
                    status: "ok".to_string(),
                    hit_rate: None,
                })
                .collect(),
        }
    }

    fn verdicts(comparisons: &[Comparison]) -> Vec<&str> {
        comparisons
            .iter()
            .map(|comparison| comparison.verdict.as_str())
            .collect()
    }

    #[test]
    fn slower_than_tolerance_regresses() {
        let baseline = report(&[("a", 10.0), ("b", 10.0)]);
        let current = report(&[("a", 14.0), ("b", 16.0)]);
        let comparisons = compare(&baseline, &current, 500.0, 0.5, 1.0);
        assert_eq!(verdicts(&comparisons), ["ok", "regressed"]);
        assert_eq!(comparisons[1].ratio, Some(1.6));
    }

    #[test]
    fn absolute_limit_fails_without_baseline_change() {
        let baseline = report(&[("a", 600.0)]);
        let current = report(&[("a", 600.0)]);
        let comparisons = compare(&baseline, &current, 500.0, 0.5, 1.0);
        assert_eq!(verdicts(&comparisons), ["over_limit"]);
    }

    #[test]
    fn small_absolute_increase_is_noise() {
        let baseline = report(&[("a", 0.1)]);
        let current = report(&[("a", 0.5)]);
        let comparisons = compare(&baseline, &current, 500.0, 0.5, 1.0);
        assert_eq!(verdicts(&comparisons), ["ok"]);
    }

    #[test]
    fn operation_missing_from_baseline_is_new() {
        let baseline = report(&[("a", 1.0)]);
        let current = report(&[("b", 1.0)]);
        let comparisons = compare(&baseline, &current, 500.0, 0.5, 1.0);
        assert_eq!(verdicts(&comparisons), ["new"]);
        assert_eq!(comparisons[0].baseline_p95_ms, None);
    }
}
