//! Lode's own plan-level conformance cases (`conformance/cases/*.json`): a plan, its input
//! tables and Wasm modules, and the expected output or the expected diagnostic code.
//!
//! ```json
//! {
//!   "about": "FilterRel keeps the rows whose condition is true",
//!   "covers": ["relation:filter"],
//!   "plan": "plans/filter.json",
//!   "tables": { "t": { "csv": "a,b\n1,x\n2,y\n" } },
//!   "expect": { "csv": "a,b\n2,y\n" }
//! }
//! ```
//!
//! `plan` is a path (relative to the case file; `@CASE_DIR@` in it stands for the case file's
//! directory) or the plan's JSON inline. A table is a path or
//! inline CSV. `expect` is `{"csv": ..., "unordered": true?}` (the result written as CSV, with
//! its header), `{"error": "L003"}` (validation must report that code) or
//! `{"error_contains": "..."}` (the run must fail with a message containing the text).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use std::sync::Arc;

use lode_exec::{
    Embedded, Engine, EngineConfig, ExecError, PlanTarget, ResultFormat, TableBindings,
};
use lode_plan::DecodedPlan;
use serde::{Deserialize, Serialize};

use crate::error::{ConformanceError, Result};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanCase {
    pub about: String,
    /// What the case exercises (`relation:filter`, `wasm:operator`, `diagnostic:L`, `quirk:…`).
    #[serde(default)]
    pub covers: Vec<String>,
    pub plan: PlanSource,
    #[serde(default)]
    pub tables: BTreeMap<String, TableSource>,
    /// Wasm module files the plan may name (paths relative to the case file).
    #[serde(default)]
    pub modules: Vec<String>,
    pub expect: Expect,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum PlanSource {
    File(String),
    Inline(serde_json::Value),
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum TableSource {
    File(String),
    Inline { csv: String },
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    pub csv: Option<String>,
    /// Compare rows as a multiset (the plan has no `SortRel`).
    #[serde(default)]
    pub unordered: bool,
    pub error: Option<String>,
    pub error_contains: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CaseResult {
    pub case: String,
    pub about: String,
    pub covers: Vec<String>,
    /// `None` when the case passed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
}

/// Every `*.json` case in `dir`, sorted.
pub fn case_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let io = ConformanceError::io(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(ConformanceError::Corpus {
            path: dir.to_path_buf(),
            message: "no *.json cases here".into(),
        });
    }
    Ok(files)
}

/// Where the cases run.
pub enum Target {
    /// A fresh in-process engine per case, holding only the case's own tables and modules.
    Embedded,
    /// A cluster whose executors hold every case's tables as [`write_tables`] names them;
    /// each case's plan is submitted with its tables renamed so and its modules embedded.
    Cluster(Box<lode_dist::ClusterTarget>),
}

/// Runs every case in `dir` on `target`.
pub async fn run_cases(dir: &Path, target: &Target) -> Result<Vec<CaseResult>> {
    let mut results = Vec::new();
    for path in case_files(dir)? {
        let name = case_name(&path);
        let case = read_case(&path)?;
        let failure = run_case(&path, &case, target).await.err();
        results.push(CaseResult {
            case: name,
            about: case.about,
            covers: case.covers,
            failure,
        });
    }
    Ok(results)
}

fn read_case(path: &Path) -> Result<PlanCase> {
    let text = std::fs::read_to_string(path).map_err(ConformanceError::io(path))?;
    let case: PlanCase = serde_json::from_str(&text).map_err(|e| ConformanceError::Corpus {
        path: path.to_path_buf(),
        message: format!("not a plan case: {e}"),
    })?;
    let e = &case.expect;
    let set = [
        e.csv.is_some(),
        e.error.is_some(),
        e.error_contains.is_some(),
    ]
    .iter()
    .filter(|s| **s)
    .count();
    if set != 1 {
        return Err(ConformanceError::Corpus {
            path: path.to_path_buf(),
            message: "`expect` needs exactly one of `csv`, `error`, `error_contains`".into(),
        });
    }
    Ok(case)
}

fn case_name(path: &Path) -> String {
    path.file_stem()
        .map_or_else(String::new, |s| s.to_string_lossy().into_owned())
}

/// The name table `table` of case `case` has on a cluster: `<case>__<table>`, lower case,
/// letters, digits and `_` only.
pub fn cluster_table_name(case: &str, table: &str) -> String {
    format!("{case}__{table}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// Writes every case's tables in `dir` into `out` under their cluster names
/// ([`cluster_table_name`]), for executors started with `--data out`; returns how many.
pub fn write_tables(dir: &Path, out: &Path) -> Result<usize> {
    let io = ConformanceError::io;
    std::fs::create_dir_all(out).map_err(io(out))?;
    let mut written = 0;
    for path in case_files(dir)? {
        let case = read_case(&path)?;
        let base = path.parent().unwrap_or(Path::new("."));
        for (table, source) in &case.tables {
            let name = cluster_table_name(&case_name(&path), table);
            match source {
                TableSource::Inline { csv } => {
                    let file = out.join(format!("{name}.csv"));
                    std::fs::write(&file, csv).map_err(io(&file))?;
                }
                TableSource::File(relative) => {
                    let from = base.join(relative);
                    let extension = from.extension().unwrap_or_default().to_string_lossy();
                    let file = out.join(format!("{name}.{extension}"));
                    std::fs::copy(&from, &file).map_err(io(&from))?;
                }
            }
            written += 1;
        }
    }
    Ok(written)
}

/// Runs a case on `target`; `Err` says why it failed.
async fn run_case(
    path: &Path,
    case: &PlanCase,
    target: &Target,
) -> std::result::Result<(), String> {
    let base = path.parent().unwrap_or(Path::new("."));
    let mut plan = match lode_plan::decode_plan(&plan_bytes(base, case)?) {
        Ok(plan) => plan,
        Err(e) => return judge(&case.expect, Err(ExecError::from(e).into())),
    };
    let run = match target {
        Target::Embedded => {
            let scratch =
                tempfile::tempdir().map_err(|e| format!("cannot make a scratch directory: {e}"))?;
            let engine = case_engine(base, case, scratch.path()).await?;
            register_modules(&engine, base, case)?;
            result_csv(&Embedded::new(Arc::new(engine)), &plan).await
        }
        Target::Cluster(cluster) => {
            rename_tables(&mut plan.plan, &case_name(path), case)?;
            // Modules are loaded (and checked) by an engine here, then travel in the plan.
            let engine = Engine::new(&TableBindings::new(), EngineConfig::default())
                .await
                .map_err(|e| e.to_string())?;
            let modules = register_modules(&engine, base, case)?;
            lode_exec::embed_supplied_modules(&mut plan.plan, &modules)
                .map_err(|e| e.to_string())?;
            result_csv(cluster.as_ref(), &plan).await
        }
    };
    judge(&case.expect, run)
}

/// An engine holding the case's tables (inline ones written to `scratch`).
async fn case_engine(
    base: &Path,
    case: &PlanCase,
    scratch: &Path,
) -> std::result::Result<Engine, String> {
    let mut tables = TableBindings::new();
    for (name, source) in &case.tables {
        let file = match source {
            TableSource::File(relative) => base.join(relative),
            TableSource::Inline { csv } => {
                let file = scratch.join(format!("{name}.csv"));
                std::fs::write(&file, csv)
                    .map_err(|e| format!("cannot write table {name}: {e}"))?;
                file
            }
        };
        tables
            .add(name, &file)
            .map_err(|e| format!("table {name}: {e}"))?;
    }
    let config = EngineConfig {
        target_partitions: 2,
        ..EngineConfig::default()
    };
    Engine::new(&tables, config)
        .await
        .map_err(|e| e.to_string())
}

/// The plan's result on `target`, as CSV.
async fn result_csv(
    target: &dyn PlanTarget,
    plan: &DecodedPlan,
) -> std::result::Result<String, Failed> {
    let stream = target.execute(plan).await?;
    let mut out = Vec::new();
    lode_exec::write_results(stream, ResultFormat::Csv, &mut out).await?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// Renames the plan's reads of the case's tables to their cluster names.
fn rename_tables(
    plan: &mut substrait::proto::Plan,
    case: &str,
    spec: &PlanCase,
) -> std::result::Result<(), String> {
    let mut json = serde_json::to_value(&*plan).map_err(|e| e.to_string())?;
    rename_named_tables(&mut json, &|table| {
        spec.tables
            .keys()
            .find(|t| t.eq_ignore_ascii_case(table))
            .map(|t| cluster_table_name(case, t))
    });
    *plan = serde_json::from_value(json).map_err(|e| e.to_string())?;
    Ok(())
}

/// Every `namedTable` in the plan's JSON, wherever it is (subqueries included).
fn rename_named_tables(value: &mut serde_json::Value, rename: &dyn Fn(&str) -> Option<String>) {
    match value {
        serde_json::Value::Object(object) => {
            if let Some(names) = object
                .get_mut("namedTable")
                .and_then(|t| t.get_mut("names"))
                .and_then(|n| n.as_array_mut())
                && let Some(last) = names.last_mut()
                && let Some(renamed) = last.as_str().and_then(rename)
            {
                *last = serde_json::Value::String(renamed);
            }
            object
                .values_mut()
                .for_each(|v| rename_named_tables(v, rename));
        }
        serde_json::Value::Array(items) => {
            items
                .iter_mut()
                .for_each(|v| rename_named_tables(v, rename));
        }
        _ => {}
    }
}

/// The case's plan bytes.
fn plan_bytes(base: &Path, case: &PlanCase) -> std::result::Result<Vec<u8>, String> {
    match &case.plan {
        PlanSource::File(relative) => {
            let file = base.join(relative);
            let bytes = std::fs::read(&file)
                .map_err(|e| format!("cannot read plan {}: {e}", file.display()))?;
            with_case_dir(bytes, base)
        }
        PlanSource::Inline(json) => serde_json::to_vec(json).map_err(|e| e.to_string()),
    }
}

/// Loads the case's Wasm modules into `engine`.
fn register_modules(
    engine: &Engine,
    base: &Path,
    case: &PlanCase,
) -> std::result::Result<Vec<lode_exec::LoadedModule>, String> {
    case.modules
        .iter()
        .map(|module| {
            let file = base.join(module);
            let bytes = std::fs::read(&file).map_err(|e| {
                format!(
                    "cannot read module {} ({e}); `make guests` builds the example guests",
                    file.display()
                )
            })?;
            engine
                .register_module(bytes)
                .map_err(|e| format!("module {}: {e}", file.display()))
        })
        .collect()
}

/// Why a case's plan did not give rows.
enum Failed {
    /// Diagnostics, by code, with the whole message (a plan that does not decode is D001).
    Diagnostics(Vec<String>, String),
    /// Anything else.
    Error(String),
}

impl From<ExecError> for Failed {
    fn from(e: ExecError) -> Self {
        match &e {
            // What `lode validate` reports as D001.
            ExecError::Plan(_) => Failed::Diagnostics(
                vec![lode_plan::Code::DecodeFailed.to_string()],
                e.to_string(),
            ),
            ExecError::Invalid(diagnostics) => Failed::Diagnostics(
                diagnostics
                    .iter()
                    .map(|d| d.code.as_str().to_string())
                    .collect(),
                e.to_string(),
            ),
            // A cluster's rejection names its diagnostics' codes in its message.
            ExecError::Remote { message, .. } => Failed::from_message(message.clone()),
            _ => Failed::Error(e.to_string()),
        }
    }
}

impl Failed {
    /// A failure known by its message only (from a coordinator): its diagnostics are the
    /// codes it names as `[X000]`.
    fn from_message(message: String) -> Self {
        let codes: Vec<String> = message
            .split('[')
            .skip(1)
            .filter_map(|rest| rest.split_once(']').map(|(code, _)| code))
            .filter(|code| {
                let mut chars = code.chars();
                code.len() == 4
                    && chars.next().is_some_and(|c| c.is_ascii_uppercase())
                    && chars.all(|c| c.is_ascii_digit())
            })
            .map(str::to_string)
            .collect();
        if codes.is_empty() {
            Failed::Error(message)
        } else {
            Failed::Diagnostics(codes, message)
        }
    }

    fn message(&self) -> &str {
        match self {
            Failed::Diagnostics(_, message) | Failed::Error(message) => message,
        }
    }
}

/// A JSON plan may write `@CASE_DIR@` for the case file's directory (`local_files` URIs must
/// be absolute).
fn with_case_dir(bytes: Vec<u8>, base: &Path) -> std::result::Result<Vec<u8>, String> {
    const MARK: &str = "@CASE_DIR@";
    match std::str::from_utf8(&bytes) {
        Ok(text) if text.contains(MARK) => {
            let dir = std::path::absolute(base)
                .map_err(|e| format!("cannot resolve {}: {e}", base.display()))?;
            Ok(text.replace(MARK, &dir.display().to_string()).into_bytes())
        }
        _ => Ok(bytes),
    }
}

fn judge(
    expect: &Expect,
    run: std::result::Result<String, Failed>,
) -> std::result::Result<(), String> {
    match (run, expect) {
        (
            Ok(csv),
            Expect {
                csv: Some(want),
                unordered,
                ..
            },
        ) => {
            let (got, want) = (normalise(&csv, *unordered), normalise(want, *unordered));
            if got == want {
                Ok(())
            } else {
                Err(format!(
                    "result differs\n--- expected\n{want}\n--- got\n{got}"
                ))
            }
        }
        (Ok(csv), _) => Err(format!(
            "expected an error, but the plan ran and returned:\n{csv}"
        )),
        (
            Err(Failed::Diagnostics(codes, _)),
            Expect {
                error: Some(code), ..
            },
        ) => {
            if codes.iter().any(|c| c == code) {
                Ok(())
            } else {
                Err(format!(
                    "expected diagnostic {code}, got {}",
                    codes.join(", ")
                ))
            }
        }
        (
            Err(failed),
            Expect {
                error_contains: Some(text),
                ..
            },
        ) => {
            if failed.message().contains(text.as_str()) {
                Ok(())
            } else {
                Err(format!(
                    "expected an error containing `{text}`, got: {}",
                    failed.message()
                ))
            }
        }
        (Err(failed), _) => Err(format!("failed: {}", failed.message())),
    }
}

/// Trims line ends and blank lines; for unordered results sorts the rows (not the header).
fn normalise(csv: &str, unordered: bool) -> String {
    let mut lines: Vec<&str> = csv
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.is_empty())
        .collect();
    if unordered && lines.len() > 1 {
        lines[1..].sort_unstable();
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unordered_results_sort_rows_but_not_the_header() {
        assert_eq!(normalise("b,a\n2,x\n1,y\n", true), "b,a\n1,y\n2,x");
        assert_eq!(normalise("b,a\r\n2,x\n\n1,y", false), "b,a\n2,x\n1,y");
    }

    #[test]
    fn a_case_needs_exactly_one_expectation() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.json");
        std::fs::write(&path, r#"{"about": "x", "plan": "p.json", "expect": {}}"#).unwrap();
        let e = read_case(&path).unwrap_err();
        assert!(e.to_string().contains("exactly one of"), "{e}");
        std::fs::write(
            &path,
            r#"{"about": "x", "plan": "p.json", "expect": {"csv": ""}, "oops": 1}"#,
        )
        .unwrap();
        assert!(read_case(&path).unwrap_err().to_string().contains("oops"));
    }
}
