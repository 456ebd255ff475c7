//! What a corpus run found: pass / fail / unsupported per file and per group (the corpus's
//! sub-directories), the line and reason of every case that did not pass; as text or JSON.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::run::Outcome;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub cases: usize,
    pub passed: usize,
    pub failed: usize,
    pub unsupported: usize,
}

impl Counts {
    pub fn add(&mut self, outcome: &Outcome) {
        self.cases += 1;
        match outcome {
            Outcome::Pass => self.passed += 1,
            Outcome::Fail(_) => self.failed += 1,
            Outcome::Unsupported(_) => self.unsupported += 1,
        }
    }

    fn merge(&mut self, other: Counts) {
        self.cases += other.cases;
        self.passed += other.passed;
        self.failed += other.failed;
        self.unsupported += other.unsupported;
    }

    /// Passed cases as a percentage of all cases (unsupported ones count as not passed).
    pub fn pass_rate(&self) -> f64 {
        if self.cases == 0 {
            0.0
        } else {
            100.0 * self.passed as f64 / self.cases as f64
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct CaseReport {
    pub line: usize,
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(flatten)]
    pub outcome: Outcome,
}

#[derive(Debug, Clone, Serialize)]
pub struct FileReport {
    /// Relative to the corpus directory.
    pub path: String,
    pub counts: Counts,
    pub cases: Vec<CaseReport>,
}

#[derive(Debug, Clone, Serialize)]
pub struct GroupReport {
    pub name: String,
    pub counts: Counts,
    pub files: Vec<FileReport>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub corpus: String,
    pub totals: Counts,
    pub pass_rate: f64,
    pub groups: Vec<GroupReport>,
}

impl Report {
    pub fn new(corpus: String, files: Vec<FileReport>) -> Report {
        let mut groups: Vec<GroupReport> = Vec::new();
        for file in files {
            let name = file
                .path
                .split_once('/')
                .map_or(".", |(group, _)| group)
                .to_string();
            let group = match groups.iter_mut().position(|g| g.name == name) {
                Some(i) => &mut groups[i],
                None => {
                    groups.push(GroupReport {
                        name,
                        counts: Counts::default(),
                        files: Vec::new(),
                    });
                    groups.last_mut().expect("just pushed")
                }
            };
            group.counts.merge(file.counts);
            group.files.push(file);
        }
        let mut totals = Counts::default();
        for group in &groups {
            totals.merge(group.counts);
        }
        Report {
            corpus,
            pass_rate: totals.pass_rate(),
            totals,
            groups,
        }
    }

    /// Groups and files with their counts, then (with `cases`) every case that did not pass as
    /// `path:line: STATUS: case` and its reason.
    pub fn to_text(&self, cases: bool) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "Substrait function corpus: {}", self.corpus);
        let _ = writeln!(
            out,
            "{:<44} {:>6} {:>6} {:>6} {:>6} {:>7}",
            "group / file", "cases", "pass", "fail", "unsup", "pass %"
        );
        for group in &self.groups {
            write_counts(&mut out, &group.name, &group.counts);
            for file in &group.files {
                write_counts(&mut out, &format!("  {}", file.path), &file.counts);
            }
        }
        write_counts(&mut out, "total", &self.totals);
        let failures: Vec<_> = self
            .groups
            .iter()
            .flat_map(|g| &g.files)
            .flat_map(|f| f.cases.iter().map(move |c| (f, c)))
            .filter(|(_, c)| c.outcome != Outcome::Pass)
            .collect();
        if cases && !failures.is_empty() {
            let _ = writeln!(out, "\nCases that did not pass:");
            for (file, case) in failures {
                let (status, reason) = match &case.outcome {
                    Outcome::Fail(r) => ("FAIL", r.as_str()),
                    Outcome::Unsupported(r) => ("UNSUPPORTED", r.as_str()),
                    Outcome::Pass => continue,
                };
                let _ = writeln!(
                    out,
                    "{}:{}: {status}: {}\n    {reason}",
                    file.path, case.line, case.text
                );
            }
        }
        out
    }
}

fn write_counts(out: &mut String, name: &str, c: &Counts) {
    let _ = writeln!(
        out,
        "{name:<44} {:>6} {:>6} {:>6} {:>6} {:>6.1}%",
        c.cases,
        c.passed,
        c.failed,
        c.unsupported,
        c.pass_rate()
    );
}

/// The figure `make test` holds the corpus to: it fails when fewer cases pass than recorded.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Baseline {
    pub passed: usize,
    pub cases: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, outcomes: &[Outcome]) -> FileReport {
        let mut counts = Counts::default();
        let cases = outcomes
            .iter()
            .enumerate()
            .map(|(i, o)| {
                counts.add(o);
                CaseReport {
                    line: i + 1,
                    text: format!("case {i}"),
                    group: None,
                    outcome: o.clone(),
                }
            })
            .collect();
        FileReport {
            path: path.into(),
            counts,
            cases,
        }
    }

    #[test]
    fn groups_by_directory_and_totals() {
        let report = Report::new(
            "corpus".into(),
            vec![
                file(
                    "arithmetic/add.test",
                    &[Outcome::Pass, Outcome::Fail("x".into())],
                ),
                file("arithmetic/sub.test", &[Outcome::Pass]),
                file("string/concat.test", &[Outcome::Unsupported("y".into())]),
            ],
        );
        assert_eq!(report.groups.len(), 2);
        assert_eq!(report.groups[0].counts.cases, 3);
        assert_eq!(report.totals.passed, 2);
        assert_eq!(report.totals.unsupported, 1);
        assert!((report.pass_rate - 50.0).abs() < 1e-9);
        let text = report.to_text(true);
        assert!(!report.to_text(false).contains("FAIL"));
        assert!(
            text.contains("arithmetic/add.test:2: FAIL: case 1\n    x"),
            "{text}"
        );
        assert!(text.contains("string/concat.test:1: UNSUPPORTED"), "{text}");
    }
}
