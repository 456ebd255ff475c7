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

use lode_exec::{Engine, EngineConfig, ExecError, ResultFormat, TableBindings};
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
    let io = |source| ConformanceError::Io {
        path: dir.to_path_buf(),
        source,
    };
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

/// Runs every case in `dir` on the in-process engine, each on a fresh engine with only its own
/// tables and modules.
pub async fn run_cases(dir: &Path) -> Result<Vec<CaseResult>> {
    let mut results = Vec::new();
    for path in case_files(dir)? {
        let name = path
            .file_stem()
            .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
        let case = read_case(&path)?;
        let failure = run_case(&path, &case).await.err();
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
    let text = std::fs::read_to_string(path).map_err(|source| ConformanceError::Io {
        path: path.to_path_buf(),
        source,
    })?;
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

/// `Err` says why the case failed.
async fn run_case(path: &Path, case: &PlanCase) -> std::result::Result<(), String> {
    let base = path.parent().unwrap_or(Path::new("."));
    let scratch =
        tempfile::tempdir().map_err(|e| format!("cannot make a scratch directory: {e}"))?;
    let mut tables = TableBindings::new();
    for (name, source) in &case.tables {
        let file = match source {
            TableSource::File(relative) => base.join(relative),
            TableSource::Inline { csv } => {
                let file = scratch.path().join(format!("{name}.csv"));
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
    let engine = Engine::new(&tables, config)
        .await
        .map_err(|e| e.to_string())?;
    for module in &case.modules {
        let file = base.join(module);
        let bytes = std::fs::read(&file).map_err(|e| {
            format!(
                "cannot read module {} ({e}); `make guests` builds the example guests",
                file.display()
            )
        })?;
        engine
            .register_module(bytes)
            .map_err(|e| format!("module {}: {e}", file.display()))?;
    }
    let bytes = match &case.plan {
        PlanSource::File(relative) => {
            let file = base.join(relative);
            let bytes = std::fs::read(&file)
                .map_err(|e| format!("cannot read plan {}: {e}", file.display()))?;
            with_case_dir(bytes, base)?
        }
        PlanSource::Inline(json) => serde_json::to_vec(json).map_err(|e| e.to_string())?,
    };
    let plan = lode_plan::decode_plan(&bytes);
    let run = async {
        let plan = plan.map_err(ExecError::from)?;
        let stream = engine.execute(&plan).await?;
        let mut out = Vec::new();
        lode_exec::write_results(stream, ResultFormat::Csv, &mut out).await?;
        Ok::<_, ExecError>(String::from_utf8_lossy(&out).into_owned())
    }
    .await;
    judge(&case.expect, run)
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
    run: std::result::Result<String, ExecError>,
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
        // What `lode validate` reports as D001.
        (
            Err(ExecError::Plan(_)),
            Expect {
                error: Some(code), ..
            },
        ) if code == "D001" => Ok(()),
        (
            Err(ExecError::Invalid(diagnostics)),
            Expect {
                error: Some(code), ..
            },
        ) => {
            if diagnostics.iter().any(|d| d.code.as_str() == code) {
                Ok(())
            } else {
                let codes: Vec<_> = diagnostics.iter().map(|d| d.code.as_str()).collect();
                Err(format!(
                    "expected diagnostic {code}, got {}",
                    codes.join(", ")
                ))
            }
        }
        (
            Err(e),
            Expect {
                error_contains: Some(text),
                ..
            },
        ) => {
            let message = e.to_string();
            if message.contains(text.as_str()) {
                Ok(())
            } else {
                Err(format!(
                    "expected an error containing `{text}`, got: {message}"
                ))
            }
        }
        (Err(e), _) => Err(format!("failed: {e}")),
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
