//! Fuzzes the IMAP command parser on the stable toolchain and prints figures.
//!
//! ```text
//! cargo run --release -p sealpost-imap-proto --example fuzz -- --seconds 300 --seed 7
//! cargo run --release -p sealpost-imap-proto --example fuzz -- --iterations 100000
//! ```
//!
//! Exits with status 1 and prints the offending inputs (escaped) when an input panics or
//! breaks an invariant; `engine.rs` says what is checked.

mod engine;

use std::process::ExitCode;
use std::time::Duration;

fn usage() -> ExitCode {
    eprintln!("usage: fuzz [--seconds N] [--iterations N] [--seed N] | --replay FILE");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let mut seconds = None;
    let mut iterations = None;
    let mut seed = 1u64;
    let mut args = std::env::args().skip(1);
    let first: Vec<String> = std::env::args().skip(1).take(2).collect();
    if first.first().map(String::as_str) == Some("--replay") {
        return match first.get(1).map(std::fs::read) {
            Some(Ok(input)) => replay(&input),
            _ => usage(),
        };
    }
    while let Some(arg) = args.next() {
        let Some(value) = args.next().and_then(|v| v.parse::<u64>().ok()) else {
            return usage();
        };
        match arg.as_str() {
            "--seconds" => seconds = Some(Duration::from_secs(value)),
            "--iterations" => iterations = Some(value),
            "--seed" => seed = value,
            _ => return usage(),
        }
    }
    if seconds.is_none() && iterations.is_none() {
        seconds = Some(Duration::from_secs(60));
    }
    // Panics are caught and reported per input; the default hook would print each one.
    std::panic::set_hook(Box::new(|_| {}));
    let report = engine::run(seed, iterations, seconds);
    let secs = report.elapsed.as_secs_f64().max(1e-9);
    println!(
        "seed {seed}: {} inputs ({} parses under {} limit sets) in {:.1} s: {:.0} inputs/s",
        report.iterations,
        report.parses,
        engine::limit_sets().len(),
        secs,
        report.iterations as f64 / secs
    );
    println!(
        "slowest input: {:.2} ms ({} bytes, all checks and limit set)",
        report.slowest.0.as_secs_f64() * 1000.0,
        report.slowest.1.len()
    );
    if let Ok(path) = std::env::var("FUZZ_SLOWEST") {
        let _ = std::fs::write(path, &report.slowest.1);
    }
    println!("{} distinct outcomes:", report.outcomes.len());
    for (name, count) in &report.outcomes {
        println!("  {count:>10}  {name}");
    }
    if report.failures.is_empty() {
        println!("no panic, no broken invariant");
        return ExitCode::SUCCESS;
    }
    println!("{} failing inputs (first 20):", report.failures.len());
    for (input, reason) in &report.failures {
        let reason: String = reason.chars().take(600).collect();
        let shown: String = input
            .iter()
            .take(400)
            .flat_map(|&b| std::ascii::escape_default(b))
            .map(char::from)
            .collect();
        println!(
            "  {reason}\n    input ({} bytes): b\"{shown}\"",
            input.len()
        );
    }
    ExitCode::FAILURE
}

/// Checks one saved input (e.g. the slowest one, written where `FUZZ_SLOWEST` says) under
/// every limit set and prints the time of each check.
fn replay(input: &[u8]) -> ExitCode {
    let mut failed = false;
    for limits in engine::limit_sets() {
        let began = std::time::Instant::now();
        let outcome = engine::check(input, &limits);
        println!(
            "{:>8.3} ms  {outcome:?}",
            began.elapsed().as_secs_f64() * 1000.0
        );
        failed |= outcome.is_err();
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
