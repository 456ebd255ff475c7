//! `lode validate`: exit 0 when every plan is valid, 1 when any has an error, 2 when any
//! could not be read.

use std::process::ExitCode;

use lode_plan::{Code, Diagnostic, OutputColumn, PlanPath, Severity, SeverityOverrides};
use serde::Serialize;

use crate::cli::{ReportFormat, ValidateArgs};
use crate::failure::Failure;

#[derive(Serialize)]
struct PlanReport {
    plan: String,
    /// `valid`, `invalid` or `unreadable`.
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    diagnostics: Vec<Diagnostic>,
    /// The plan's output columns with the types validation derived for them.
    #[serde(skip_serializing_if = "Option::is_none")]
    output: Option<Vec<OutputColumn>>,
}

pub async fn run(args: ValidateArgs) -> Result<ExitCode, Failure> {
    let overrides = SeverityOverrides {
        allow: parse_codes(&args.allow, "--allow")?,
        deny: parse_codes(&args.deny, "--deny")?,
    };
    // Without tables, validation checks the plan and the executor's functions, not the data.
    let bind = !args.tables.data.is_empty() || !args.tables.tables.is_empty();
    let engine = super::engine(&args.tables, &args.wasm, |_| {}).await?;
    let mut reports = Vec::new();
    for source in &args.plans {
        let decoded = super::plan_bytes(source).map(|bytes| lode_plan::decode_plan(&bytes));
        let report = match decoded {
            Ok(Ok(decoded)) => {
                let analysis = engine.analyze(&decoded);
                let mut diagnostics = analysis.diagnostics;
                let valid = !diagnostics.iter().any(|d| d.severity == Severity::Error);
                if bind
                    && valid
                    && let Err(e) = engine.logical_plan(&decoded).await
                {
                    diagnostics.push(
                        Diagnostic::new(Code::NotBound, PlanPath::root(), e.to_string()).with_hint(
                            "`lode run` with these tables would reject the plan before running it",
                        ),
                    );
                }
                diagnostics.iter_mut().for_each(|d| overrides.apply(d));
                let invalid = diagnostics.iter().any(|d| d.severity == Severity::Error);
                PlanReport {
                    plan: source.clone(),
                    status: if invalid { "invalid" } else { "valid" },
                    error: None,
                    diagnostics,
                    output: analysis.output,
                }
            }
            // Bytes that do not decode: D001, with where decoding stopped.
            Ok(Err(error)) => PlanReport {
                plan: source.clone(),
                status: "unreadable",
                error: Some(format!("{}: {error}", super::plan_label(source))),
                diagnostics: error.diagnostic().into_iter().collect(),
                output: None,
            },
            Err(failure) => PlanReport {
                plan: source.clone(),
                status: "unreadable",
                error: Some(failure.to_string()),
                diagnostics: Vec::new(),
                output: None,
            },
        };
        reports.push(report);
    }
    match args.format {
        ReportFormat::Json => {
            let text = serde_json::to_string_pretty(&reports)
                .map_err(|e| Failure::io(format!("cannot render the report: {e}")))?;
            println!("{text}");
        }
        ReportFormat::Text => {
            for report in &reports {
                print_text(report);
            }
        }
    }
    let code = if reports.iter().any(|r| r.status == "unreadable") {
        2
    } else if reports.iter().any(|r| r.status == "invalid") {
        1
    } else {
        0
    };
    Ok(ExitCode::from(code))
}

fn print_text(report: &PlanReport) {
    match &report.error {
        Some(error) => println!("{}: unreadable: {error}", report.plan),
        None => {
            let errors = report
                .diagnostics
                .iter()
                .filter(|d| d.severity == Severity::Error)
                .count();
            let warnings = report
                .diagnostics
                .iter()
                .filter(|d| d.severity == Severity::Warning)
                .count();
            println!(
                "{}: {} ({errors} errors, {warnings} warnings)",
                report.plan, report.status
            );
            if let Some(output) = &report.output {
                println!("  output: {}", render_output(output));
            }
            for d in &report.diagnostics {
                println!("  {d}");
            }
        }
    }
}

/// `n_name string, revenue decimal?<38, 4>`; `?` where a type could not be derived.
fn render_output(columns: &[OutputColumn]) -> String {
    columns
        .iter()
        .map(|c| match &c.data_type {
            Some(t) => format!("{} {t}", c.name),
            None => format!("{} ?", c.name),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn parse_codes(codes: &[String], flag: &str) -> Result<Vec<Code>, Failure> {
    codes
        .iter()
        .map(|c| {
            Code::parse(c).ok_or_else(|| {
                Failure::io(format!(
                    "{flag} {c}: unknown diagnostic code; known codes: {}",
                    known_codes()
                ))
            })
        })
        .collect()
}

fn known_codes() -> String {
    Code::ALL
        .iter()
        .map(|c| c.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
