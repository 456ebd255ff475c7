//! `lode conformance functions`: the spec's function test corpus, each case a plan run through
//! Lode; `lode conformance plans`: Lode's own plan-level cases, in process or on a cluster
//! (`--target`, over the tables `lode conformance tables` writes). `functions` exits 0 when the run completes (and holds the baseline, if given), 1 when fewer cases
//! pass than the baseline records, 2 when the corpus or baseline cannot be read.

use std::path::Path;
use std::process::ExitCode;

use lode_conformance::cases::Target;
use lode_conformance::{Baseline, ConformanceError, Report};

use crate::cli::{
    CaseTablesArgs, ConformanceArgs, ConformanceCommand, FunctionsArgs, PlansArgs, ProducersArgs,
    ReportFormat,
};
use crate::failure::Failure;

pub async fn run(args: ConformanceArgs) -> Result<ExitCode, Failure> {
    match args.command {
        ConformanceCommand::Functions(args) => functions(args).await,
        ConformanceCommand::Plans(args) => plans(args).await,
        ConformanceCommand::Tables(args) => tables(&args),
        ConformanceCommand::Producers(args) => producers(args).await,
    }
}

/// `lode conformance producers`: exit 0 when every plan a producer wrote gives DuckDB's answer
/// (or differs as a recorded producer bug), 1 when any is rejected, fails or is wrong, 2 when
/// the directory or tables cannot be read.
async fn producers(args: ProducersArgs) -> Result<ExitCode, Failure> {
    let tables = super::bind_tables(&args.tables).await?;
    let engine = lode_exec::Engine::new(&tables, lode_exec::EngineConfig::default()).await?;
    let cases = lode_conformance::producers::run_producers(&args.dir, &engine)
        .await
        .map_err(|e| Failure::io(e.to_string()))?;
    match args.format {
        ReportFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&cases)
                .map_err(|e| Failure::io(format!("cannot render the report: {e}")))?
        ),
        ReportFormat::Text => print!("{}", lode_conformance::producers::matrix_text(&cases)),
    }
    Ok(if cases.iter().all(|c| c.verdict.is_pass()) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `lode conformance tables`: the cases' tables, for a cluster's executors.
fn tables(args: &CaseTablesArgs) -> Result<ExitCode, Failure> {
    let written = lode_conformance::cases::write_tables(&args.dir, &args.out)
        .map_err(|e| Failure::io(e.to_string()))?;
    eprintln!(
        "{written} tables written to {}; start executors with --data {}, then run \
         `lode conformance plans {} --target URL`",
        args.out.display(),
        args.out.display(),
        args.dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Exit 0 when every case passes, 1 when any fails, 2 when a case file cannot be read.
async fn plans(args: PlansArgs) -> Result<ExitCode, Failure> {
    let target = match &args.target {
        None => Target::Embedded,
        Some(coordinator) => Target::Cluster(Box::new(lode_dist::ClusterTarget::new(
            super::serve::connections(&args.cluster)?,
            coordinator.clone(),
        ))),
    };
    let results = lode_conformance::cases::run_cases(&args.dir, &target)
        .await
        .map_err(|e| Failure::io(e.to_string()))?;
    let failed = results.iter().filter(|r| r.failure.is_some()).count();
    match args.format {
        ReportFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&results)
                .map_err(|e| Failure::io(format!("cannot render the report: {e}")))?
        ),
        ReportFormat::Text => {
            for result in &results {
                match &result.failure {
                    None => println!("PASS {} - {}", result.case, result.about),
                    Some(why) => {
                        println!("FAIL {} - {}", result.case, result.about);
                        for line in why.lines() {
                            println!("    {line}");
                        }
                    }
                }
            }
            println!("{} passed, {} failed", results.len() - failed, failed);
        }
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

async fn functions(args: FunctionsArgs) -> Result<ExitCode, Failure> {
    let report = lode_conformance::run_function_corpus(&args.corpus)
        .await
        .map_err(|e| match e {
            ConformanceError::Exec(e) => Failure::from(e),
            other => Failure::io(other.to_string()),
        })?;
    match args.format {
        ReportFormat::Text => print!("{}", report.to_text(!args.summary)),
        ReportFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&report)
                .map_err(|e| Failure::io(format!("cannot render the report: {e}")))?
        ),
    }
    let Some(path) = args.baseline else {
        return Ok(ExitCode::SUCCESS);
    };
    if args.update_baseline {
        write_baseline(&path, &report)?;
        eprintln!(
            "baseline: {} wrote {}/{} passing",
            path.display(),
            report.totals.passed,
            report.totals.cases
        );
        return Ok(ExitCode::SUCCESS);
    }
    let baseline = read_baseline(&path)?;
    if report.totals.passed < baseline.passed {
        return Err(Failure::invalid(format!(
            "{} of {} cases pass, fewer than the {} recorded in {}: a change broke function semantics \
             (without --summary the report lists the cases that fail)",
            report.totals.passed,
            report.totals.cases,
            baseline.passed,
            path.display()
        )));
    }
    eprintln!(
        "baseline: {}/{} pass ({:.1}%), at or above the {} recorded in {}{}",
        report.totals.passed,
        report.totals.cases,
        report.pass_rate,
        baseline.passed,
        path.display(),
        if report.totals.passed > baseline.passed {
            "; raise it with --update-baseline"
        } else {
            ""
        }
    );
    Ok(ExitCode::SUCCESS)
}

fn read_baseline(path: &Path) -> Result<Baseline, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::io(format!("cannot read the baseline {}: {e}", path.display())))?;
    serde_json::from_str(&text).map_err(|e| {
        Failure::io(format!(
            "{}: not a baseline (expected {{\"passed\": N, \"cases\": M}}): {e}",
            path.display()
        ))
    })
}

fn write_baseline(path: &Path, report: &Report) -> Result<(), Failure> {
    let baseline = Baseline {
        passed: report.totals.passed,
        cases: report.totals.cases,
    };
    let text = serde_json::to_string_pretty(&baseline)
        .map_err(|e| Failure::io(format!("cannot render the baseline: {e}")))?;
    std::fs::write(path, text + "\n")
        .map_err(|e| Failure::io(format!("cannot write {}: {e}", path.display())))
}
