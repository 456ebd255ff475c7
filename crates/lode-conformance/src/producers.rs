//! The producer matrix: plans other engines wrote for the same queries, run on Lode and
//! checked against the answer DuckDB gives to the SQL.
//!
//! A producer directory (`conformance/producers/<producer>/`, or what
//! `tools/producers/*.py` writes) holds, per query `q`:
//! - `q.json` or `q.pb`: the plan the producer wrote, or `q.error`: why it wrote none (the
//!   producer's gap, listed, not Lode's);
//! - `q.expected.csv`: DuckDB's answer to the query's SQL, with a header, or none of its own
//!   when `answers/q.csv` beside the producer directories holds it (every producer's plans for
//!   one query set share DuckDB's answers);
//! - optionally `q.note`: a known producer bug that makes its plan ask for another answer
//!   than the SQL (the note says which, and the plan is then expected to differ, or to fail
//!   or be refused for what it asks).
//!
//! Every plan runs through [`Engine::execute`] (validation, dialect hooks, Lode's consumer)
//! over the tables of one data directory, after [`Engine::validate`]: a plan the validator
//! calls valid and the run rejects is a verdict of its own, since "valid" must mean "runs". Results are compared cell by cell: numbers to a
//! relative 1e-9 (producers type `avg` as a float or a decimal), everything else as text;
//! rows in order, or as a multiset when the result's order is not the query's (a tie
//! within the query's `ORDER BY` may come in either order).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use lode_exec::{Engine, ResultFormat};
use serde::Serialize;

use crate::error::{ConformanceError, Result};

/// The directory beside the producers' that holds DuckDB's answers, `q.csv` per query.
const ANSWERS: &str = "answers";

/// What happened to one producer's plan for one query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Lode's answer is DuckDB's.
    Correct,
    /// Lode's answer differs, as the producer's known bug (`q.note`) says it must.
    ProducerBug,
    /// The producer could not write the plan (its gap).
    NotWritten,
    /// The plan could not be decoded, validated, converted or bound, and `lode validate`
    /// says so.
    Rejected,
    /// `lode validate` calls the plan valid, but the run cannot convert or bind it.
    ValidatorDisagrees,
    /// The plan was accepted, but running it failed.
    Failed,
    /// Lode's answer differs from DuckDB's.
    Wrong,
}

impl Verdict {
    /// True when the verdict is not Lode's fault.
    pub fn is_pass(self) -> bool {
        matches!(
            self,
            Verdict::Correct | Verdict::ProducerBug | Verdict::NotWritten
        )
    }
}

/// One query of one producer.
#[derive(Debug, Clone, Serialize)]
pub struct ProducerCase {
    pub producer: String,
    pub query: String,
    pub verdict: Verdict,
    /// Why, for anything but a correct answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// Runs every producer directory under `root` (or `root` itself when it holds plans) on
/// `engine`.
pub async fn run_producers(root: &Path, engine: &Engine) -> Result<Vec<ProducerCase>> {
    let mut results = Vec::new();
    for dir in producer_dirs(root)? {
        let producer = dir
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let answers = dir.parent().map(|p| p.join(ANSWERS));
        for (query, files) in queries(&dir, answers.as_deref())? {
            let (verdict, detail) = run_query(engine, &files).await;
            results.push(ProducerCase {
                producer: producer.clone(),
                query,
                verdict,
                detail,
            });
        }
    }
    Ok(results)
}

/// The matrix as text: one row per producer, counts per verdict, then every case that is not
/// correct.
pub fn matrix_text(cases: &[ProducerCase]) -> String {
    let mut by_producer: BTreeMap<&str, BTreeMap<Verdict, usize>> = BTreeMap::new();
    for case in cases {
        *by_producer
            .entry(&case.producer)
            .or_default()
            .entry(case.verdict)
            .or_default() += 1;
    }
    let columns = [
        (Verdict::Correct, "correct"),
        (Verdict::ProducerBug, "producer bug"),
        (Verdict::NotWritten, "not written"),
        (Verdict::Rejected, "rejected"),
        (Verdict::ValidatorDisagrees, "validate ok?"),
        (Verdict::Failed, "failed"),
        (Verdict::Wrong, "wrong"),
    ];
    let mut out = format!("{:<24}", "producer");
    for (_, title) in columns {
        out.push_str(&format!(" {title:>12}"));
    }
    out.push('\n');
    for (producer, counts) in &by_producer {
        out.push_str(&format!("{producer:<24}"));
        for (verdict, _) in columns {
            out.push_str(&format!(" {:>12}", counts.get(&verdict).unwrap_or(&0)));
        }
        out.push('\n');
    }
    for case in cases.iter().filter(|c| c.verdict != Verdict::Correct) {
        let detail = case.detail.as_deref().unwrap_or("");
        let first = detail.lines().next().unwrap_or("");
        out.push_str(&format!(
            "{:?} {}/{}: {first}\n",
            case.verdict, case.producer, case.query
        ));
    }
    out
}

/// The files of one query.
#[derive(Debug, Default)]
struct QueryFiles {
    plan: Option<PathBuf>,
    not_written: Option<PathBuf>,
    expected: Option<PathBuf>,
    note: Option<PathBuf>,
}

/// `root`'s sub-directories holding plans, or `root` alone when it holds them itself.
fn producer_dirs(root: &Path) -> Result<Vec<PathBuf>> {
    let mut dirs = Vec::new();
    let mut holds_plans = false;
    for entry in std::fs::read_dir(root).map_err(ConformanceError::io(root))? {
        let path = entry.map_err(ConformanceError::io(root))?.path();
        if path.is_dir() {
            if !path.ends_with(ANSWERS) {
                dirs.push(path);
            }
        } else if path
            .extension()
            .is_some_and(|e| e == "json" || e == "pb" || e == "error")
        {
            holds_plans = true;
        }
    }
    if holds_plans {
        return Ok(vec![root.to_path_buf()]);
    }
    dirs.sort();
    if dirs.is_empty() {
        return Err(ConformanceError::Corpus {
            path: root.to_path_buf(),
            message: "no producer directories here (each holds q.json|q.pb|q.error per query, and q.expected.csv or answers/q.csv beside it; tools/producers/produce.py writes them)".into(),
        });
    }
    Ok(dirs)
}

/// The queries of a producer directory, by name, sorted; a query without its own
/// `q.expected.csv` takes `answers/q.csv` beside the directory.
fn queries(dir: &Path, answers: Option<&Path>) -> Result<BTreeMap<String, QueryFiles>> {
    let mut queries: BTreeMap<String, QueryFiles> = BTreeMap::new();
    for entry in std::fs::read_dir(dir).map_err(ConformanceError::io(dir))? {
        let path = entry.map_err(ConformanceError::io(dir))?.path();
        let Some(name) = path.file_name().map(|n| n.to_string_lossy().into_owned()) else {
            continue;
        };
        let (query, slot): (&str, fn(&mut QueryFiles) -> &mut Option<PathBuf>) =
            if let Some(q) = name.strip_suffix(".expected.csv") {
                (q, |f| &mut f.expected)
            } else if let Some(q) = name.strip_suffix(".json").or(name.strip_suffix(".pb")) {
                (q, |f| &mut f.plan)
            } else if let Some(q) = name.strip_suffix(".error") {
                (q, |f| &mut f.not_written)
            } else if let Some(q) = name.strip_suffix(".note") {
                (q, |f| &mut f.note)
            } else {
                continue;
            };
        *slot(queries.entry(query.to_string()).or_default()) = Some(path);
    }
    if let Some(answers) = answers {
        for (query, files) in &mut queries {
            let shared = answers.join(format!("{query}.csv"));
            if files.expected.is_none() && shared.is_file() {
                files.expected = Some(shared);
            }
        }
    }
    Ok(queries)
}

async fn run_query(engine: &Engine, files: &QueryFiles) -> (Verdict, Option<String>) {
    let read = |p: &Path| std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()));
    let Some(plan_path) = &files.plan else {
        let why = match &files.not_written {
            Some(p) => read(p).unwrap_or_else(|e| e),
            None => "neither a plan nor a .error file".into(),
        };
        return (Verdict::NotWritten, Some(why.trim().to_string()));
    };
    let outcome = answer(engine, plan_path, files.expected.as_deref()).await;
    let note = files.note.as_deref().map(|p| read(p).unwrap_or_else(|e| e));
    match (outcome, note) {
        (Ok(()), None) => (Verdict::Correct, None),
        (Err((verdict, why)), None) => (verdict, Some(why)),
        // A plan that asks for another answer may also fail or be refused for it.
        (Err(_), Some(note)) => (Verdict::ProducerBug, Some(note.trim().to_string())),
        (Ok(()), Some(_)) => (
            Verdict::Wrong,
            Some("the .note says the plan is wrong as written, but Lode's answer is DuckDB's: remove the note".into()),
        ),
    }
}

/// Runs one plan and compares its result with the expected CSV; `Err` says how it went wrong.
async fn answer(
    engine: &Engine,
    plan_path: &Path,
    expected_path: Option<&Path>,
) -> std::result::Result<(), (Verdict, String)> {
    let failed = |why: String| (Verdict::Failed, why);
    let expected_path = expected_path.ok_or_else(|| {
        failed(format!(
            "{}: no .expected.csv beside it",
            plan_path.display()
        ))
    })?;
    let expected = std::fs::read_to_string(expected_path)
        .map_err(|e| failed(format!("{}: {e}", expected_path.display())))?;
    let plan =
        lode_plan::read_plan_file(plan_path).map_err(|e| (Verdict::Rejected, e.to_string()))?;
    // What `lode validate` says must be what a run finds: a plan it calls valid converts.
    let valid = engine
        .validate(&plan)
        .iter()
        .all(|d| d.severity != lode_plan::Severity::Error);
    let stream = engine.execute(&plan).await.map_err(|e| match e {
        e if e.is_rejection() && valid => (
            Verdict::ValidatorDisagrees,
            format!("lode validate calls it valid, but the run rejects it: {e}"),
        ),
        e if e.is_rejection() => (Verdict::Rejected, e.to_string()),
        e => failed(e.to_string()),
    })?;
    let mut out = Vec::new();
    lode_exec::write_results(stream, ResultFormat::Csv, &mut out)
        .await
        .map_err(|e| failed(e.to_string()))?;
    let got = String::from_utf8_lossy(&out);
    let difference = match (parse_csv(&got), parse_csv(&expected)) {
        (Ok(got), Ok(want)) => differ(&got, &want),
        (Err(e), _) => Some(format!("Lode's CSV does not parse: {e}")),
        (_, Err(e)) => Some(format!("{}: {e}", expected_path.display())),
    };
    match difference {
        None => Ok(()),
        Some(why) => Err((Verdict::Wrong, why)),
    }
}

/// Rows of a CSV text with a header (the header is dropped). In a one-column CSV an empty
/// line is a row whose value is empty or null (DuckDB writes a null so), not nothing.
fn parse_csv(text: &str) -> std::result::Result<Vec<Vec<String>>, csv::Error> {
    let one_column = text
        .lines()
        .next()
        .is_some_and(|header| !header.contains(','));
    let text = if one_column {
        std::borrow::Cow::Owned(
            text.lines()
                .map(|line| if line.is_empty() { "\"\"" } else { line })
                .collect::<Vec<_>>()
                .join("\n"),
        )
    } else {
        std::borrow::Cow::Borrowed(text)
    };
    csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(text.as_bytes())
        .records()
        .map(|r| r.map(|r| r.iter().map(str::to_string).collect()))
        .collect()
}

/// Why `got` is not `want`, or `None` when they agree (in order, or else as multisets).
fn differ(got: &[Vec<String>], want: &[Vec<String>]) -> Option<String> {
    if got.len() != want.len() {
        return Some(format!(
            "{} rows, DuckDB's answer has {}",
            got.len(),
            want.len()
        ));
    }
    // Equal in order: nothing to say; otherwise they may still agree as multisets.
    let row = got.iter().zip(want).position(|(g, w)| !rows_equal(g, w))?;
    let key = |r: &Vec<String>| r.iter().map(|c| canonical(c)).collect::<Vec<_>>();
    let mut got_sorted: Vec<_> = got.iter().map(key).collect();
    let mut want_sorted: Vec<_> = want.iter().map(key).collect();
    got_sorted.sort();
    want_sorted.sort();
    if got_sorted
        .iter()
        .zip(&want_sorted)
        .all(|(g, w)| rows_equal(g, w))
    {
        return None;
    }
    Some(format!(
        "row {}: got [{}], DuckDB's answer [{}]",
        row + 1,
        got[row].join(", "),
        want[row].join(", ")
    ))
}

fn rows_equal(got: &[String], want: &[String]) -> bool {
    got.len() == want.len() && got.iter().zip(want).all(|(g, w)| cells_equal(g, w))
}

/// Equal as text, or as numbers: to a relative 1e-9, or, where both are written with
/// fractional digits, to the last digit of the shorter (a decimal result carries the digits
/// of its type, `avg` of `decimal<15,2>` six in DataFusion, where DuckDB answers a double).
fn cells_equal(got: &str, want: &str) -> bool {
    if got == want {
        return true;
    }
    let (Ok(g), Ok(w)) = (got.trim().parse::<f64>(), want.trim().parse::<f64>()) else {
        return false;
    };
    let difference = (g - w).abs();
    if difference <= 1e-9 * g.abs().max(w.abs()).max(1.0) {
        return true;
    }
    let fractional_digits = |text: &str| text.trim().split_once('.').map_or(0, |(_, f)| f.len());
    match fractional_digits(got).min(fractional_digits(want)) {
        0 => false,
        digits => difference <= 10f64.powi(-(digits as i32)) * (1.0 + 1e-9),
    }
}

/// A cell as sorting sees it: numbers rounded so that values equal within the tolerance sort
/// alike.
fn canonical(cell: &str) -> String {
    match cell.trim().parse::<f64>() {
        Ok(v) => format!("{v:.6e}"),
        Err(_) => cell.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(text: &str) -> Vec<Vec<String>> {
        parse_csv(text).unwrap()
    }

    #[test]
    fn numbers_agree_across_float_and_decimal_typing() {
        let got = rows("a,b\nx,25.575154611454693\n");
        let want = rows("a,b\nx,25.57515461145469\n");
        assert_eq!(differ(&got, &want), None);
        let six_digits = rows("a,b\nx,25.575154\n");
        assert_eq!(differ(&six_digits, &want), None);
        let off = rows("a,b\nx,25.578\n");
        assert!(differ(&off, &want).is_some());
        let integer = rows("a,b\nx,25\n");
        assert!(differ(&integer, &rows("a,b\nx,25.4\n")).is_some());
    }

    #[test]
    fn rows_in_another_order_agree_as_a_multiset() {
        let got = rows("a\n2\n1\n");
        let want = rows("a\n1\n2\n");
        assert_eq!(differ(&got, &want), None);
        let missing = rows("a\n1\n1\n");
        assert!(differ(&missing, &want).unwrap().contains("row 2"));
    }

    #[test]
    fn an_empty_line_of_a_one_column_csv_is_a_row() {
        assert_eq!(rows("a\n\n"), vec![vec![String::new()]]);
        assert_eq!(differ(&rows("a\n\"\"\n"), &rows("a\n\n")), None);
    }

    #[test]
    fn quoted_commas_are_one_cell() {
        assert_eq!(
            rows("a,b\n\"x, y\",1\n"),
            vec![vec!["x, y".to_string(), "1".into()]]
        );
    }
}
