//! `lode-bench validator`: validation time per plan, Lode against the reference validator.
//!
//! Lode: decoding the plan's bytes and `Engine::validate` (what `lode validate` runs, the
//! executor checks included), in this process with a warm engine. The reference: PyPI
//! `substrait-validator`'s `check_plan` on the same plan as binary protobuf, timed inside its
//! own Python process by `tools/reference-validator.py` (interpreter start-up excluded). Both
//! report the median of the same number of runs after one warm-up.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use lode_exec::{Engine, EngineConfig, TableBindings};
use prost::Message;

use crate::{Result, geomean, median, provenance, update_report};

struct Row {
    plan: String,
    lode: f64,
    reference: Option<Reference>,
}

struct Reference {
    seconds: f64,
    verdict: i64,
    errors: u64,
}

pub fn run(plans: &Path, report: &Path, runs: usize, python: &str) -> Result<()> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(plans)
        .map_err(|e| format!("{}: {e}", plans.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(format!("{} holds no .json plans", plans.display()));
    }
    let binaries = tempfile::tempdir().map_err(|e| format!("a temporary directory: {e}"))?;
    let runtime = crate::tokio_runtime()?;
    let engine = runtime
        .block_on(Engine::new(&TableBindings::new(), EngineConfig::default()))
        .map_err(|e| e.to_string())?;
    let mut rows = Vec::new();
    let mut binary_paths = Vec::new();
    for file in &files {
        let json = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
        let decoded =
            lode_plan::decode_plan(&json).map_err(|e| format!("{}: {e}", file.display()))?;
        let binary = decoded.plan.encode_to_vec();
        let path = binaries
            .path()
            .join(file.file_name().unwrap_or_default())
            .with_extension("pb");
        std::fs::write(&path, &binary).map_err(|e| format!("{}: {e}", path.display()))?;
        binary_paths.push(path);
        let validate = || {
            let started = Instant::now();
            let decoded = lode_plan::decode_plan(&binary).map_err(|e| e.to_string())?;
            let diagnostics = engine.validate(&decoded);
            Ok::<_, String>((started.elapsed().as_secs_f64(), diagnostics.len()))
        };
        validate()?;
        let mut seconds = Vec::with_capacity(runs);
        for _ in 0..runs {
            seconds.push(validate()?.0);
        }
        rows.push(Row {
            plan: file
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default(),
            lode: median(seconds),
            reference: None,
        });
    }
    let versions = reference(python, runs, &binary_paths, &mut rows);
    let section = render(&rows, runs, versions.as_deref());
    update_report(report, "validator", &section)?;
    eprintln!("report written to {}", report.display());
    Ok(())
}

/// Runs the reference validator over `plans`, filling each row's figures; returns its
/// versions, or `None` (with the reason on stderr) when it cannot run here.
fn reference(python: &str, runs: usize, plans: &[PathBuf], rows: &mut [Row]) -> Option<String> {
    let output = Command::new(python)
        .arg("tools/reference-validator.py")
        .arg(runs.to_string())
        .args(plans)
        .output();
    let output = match output {
        Ok(output) if output.status.success() => output,
        Ok(output) => {
            eprintln!(
                "the reference validator did not run: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            );
            return None;
        }
        Err(e) => {
            eprintln!("the reference validator did not run: {python}: {e}");
            return None;
        }
    };
    let mut lines = output
        .stdout
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty());
    for row in rows.iter_mut() {
        let fields: serde_json::Value = serde_json::from_slice(lines.next()?).ok()?;
        row.reference = Some(Reference {
            seconds: fields["seconds"].as_f64()?,
            verdict: fields["verdict"].as_i64()?,
            errors: fields["errors"].as_u64()?,
        });
    }
    let versions: serde_json::Value = serde_json::from_slice(lines.next()?).ok()?;
    Some(format!(
        "substrait-validator {} (Substrait {})",
        versions["validator"].as_str()?,
        versions["substrait"].as_str()?
    ))
}

fn render(rows: &[Row], runs: usize, versions: Option<&str>) -> String {
    let mut out =
        String::from("## Validation: `lode validate` vs the reference validator, TPC-H plans\n\n");
    out.push_str(&provenance());
    out.push_str(&format!(
        "- Per plan, the median of {runs} validations after one warm-up. Lode: decoding the plan's bytes and `Engine::validate` (what `lode validate` runs, the executor checks included). Reference: {}, `check_plan` on the same plan as binary protobuf inside its own Python process (start-up excluded), unknown fields ignored: it knows an older Substrait schema and no extension URNs, so it reports errors Lode's plans do not have (shown).\n",
        versions.unwrap_or("PyPI `substrait-validator`, which could not run here (see the benchmark's output)")
    ));
    let ratios: Vec<f64> = rows
        .iter()
        .filter_map(|r| r.reference.as_ref().map(|x| x.seconds / r.lode))
        .collect();
    if !ratios.is_empty() {
        out.push_str(&format!(
            "- **Geometric mean of the speed-up: {:.1}x** (target ≥ 10x); Lode's median per plan {:.3} ms\n",
            geomean(&ratios),
            median(rows.iter().map(|r| r.lode).collect()) * 1e3
        ));
    }
    out.push_str("\n| plan | Lode ms | reference ms | speed-up | reference verdict (errors) |\n|---|---:|---:|---:|---|\n");
    for row in rows {
        match &row.reference {
            Some(r) => out.push_str(&format!(
                "| {} | {:.3} | {:.3} | {:.1}x | {} ({}) |\n",
                row.plan,
                row.lode * 1e3,
                r.seconds * 1e3,
                r.seconds / row.lode,
                match r.verdict {
                    1 => "valid",
                    -1 => "invalid",
                    _ => "undetermined",
                },
                r.errors
            )),
            None => out.push_str(&format!(
                "| {} | {:.3} | — | — | — |\n",
                row.plan,
                row.lode * 1e3
            )),
        }
    }
    out
}
