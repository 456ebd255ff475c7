//! # lode-conformance
//!
//! Measures how well a Substrait consumer (Lode first) implements the spec.
//!
//! [`run_function_corpus`] reads the spec's function test corpus (`.test` files, see
//! `function-tests/FORMAT.md` in the corpus), turns every case into a real Substrait plan
//! ([`plan::build`]), runs it through Lode's normal path ([`lode_exec::Engine::execute`]:
//! validation, Lode's consumer, DataFusion) and reports pass / fail / unsupported per file and
//! group ([`Report`]).
//!
//! [`cases::run_cases`] runs Lode's own plan-level cases (`conformance/cases/`): a plan, its
//! tables and modules, and the expected rows or diagnostic code.

pub mod cases;
pub mod error;
pub mod extensions;
pub mod literal;
pub mod plan;
pub mod producers;
pub mod report;
pub mod run;
pub mod syntax;
pub mod testfile;
pub mod types;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use lode_exec::{Engine, EngineConfig, TableBindings};
use tracing::info;

pub use error::{ConformanceError, Result};
pub use extensions::ExtensionIndex;
pub use report::{Baseline, Counts, Report};
pub use run::Outcome;

use report::{CaseReport, FileReport};
use testfile::TestFile;

/// Every `.test` file under `corpus`, sorted (so reports compare run to run).
pub fn corpus_files(corpus: &Path) -> Result<Vec<PathBuf>> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
        let entries = std::fs::read_dir(dir).map_err(ConformanceError::io(dir))?;
        for entry in entries {
            let path = entry.map_err(ConformanceError::io(dir))?.path();
            if path.is_dir() {
                walk(&path, out)?;
            } else if path.extension().is_some_and(|e| e == "test") {
                out.push(path);
            }
        }
        Ok(())
    }
    let mut files = Vec::new();
    walk(corpus, &mut files)?;
    files.sort();
    if files.is_empty() {
        return Err(ConformanceError::Corpus {
            path: corpus.to_path_buf(),
            message: "no .test files here; point --corpus at the function-tests directory".into(),
        });
    }
    Ok(files)
}

/// The extension index for a corpus: the bundled standard extensions, overlaid with the YAML
/// files in the corpus's sibling `extensions/` directory when there is one.
pub fn extension_index(corpus: &Path) -> Result<ExtensionIndex> {
    let mut index = ExtensionIndex::standard();
    if let Some(dir) = corpus.parent().map(|p| p.join("extensions"))
        && dir.is_dir()
    {
        let added = index.add_directory(&dir)?;
        info!(dir = %dir.display(), files = added, "read the corpus's extension files");
    }
    Ok(index)
}

/// Runs every case of the corpus on a fresh in-process engine.
pub async fn run_function_corpus(corpus: &Path) -> Result<Report> {
    let files = corpus_files(corpus)?;
    let index = extension_index(corpus)?;
    let config = EngineConfig {
        // Single-row plans: more partitions only add scheduling.
        target_partitions: 1,
        ..EngineConfig::default()
    };
    let engine = Arc::new(Engine::new(&TableBindings::new(), config).await?);
    let mut reports = Vec::with_capacity(files.len());
    for path in &files {
        let file = TestFile::read(path)?;
        let report = run_file(&engine, &file, corpus, &index).await;
        info!(
            file = %report.path,
            passed = report.counts.passed,
            cases = report.counts.cases,
            "ran"
        );
        reports.push(report);
    }
    Ok(Report::new(corpus.display().to_string(), reports))
}

async fn run_file(
    engine: &Arc<Engine>,
    file: &TestFile,
    corpus: &Path,
    index: &ExtensionIndex,
) -> FileReport {
    let mut counts = Counts::default();
    let mut cases = Vec::with_capacity(file.cases.len());
    for case in &file.cases {
        let outcome = match &case.syntax {
            Err(e) => Outcome::Unsupported(format!("the harness cannot read this line: {e}")),
            Ok(syntax) => match plan::build(file, syntax, &case.tables, index) {
                Err(error::LiteralError::Unsupported(reason)) => Outcome::Unsupported(reason),
                Err(error::LiteralError::Invalid(reason)) => {
                    Outcome::Unsupported(format!("the harness cannot build a plan: {reason}"))
                }
                Ok(plan) => run::run_case(Arc::clone(engine), plan, syntax.expected.clone()).await,
            },
        };
        counts.add(&outcome);
        cases.push(CaseReport {
            line: case.line,
            text: case.text.clone(),
            group: case.group.clone(),
            outcome,
        });
    }
    let path = file
        .path
        .strip_prefix(corpus)
        .unwrap_or(&file.path)
        .display()
        .to_string();
    FileReport {
        path,
        counts,
        cases,
    }
}
