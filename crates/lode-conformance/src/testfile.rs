//! `.test` files of the spec's function test corpus: header, groups, table definitions and
//! cases (`function-tests/FORMAT.md` in the corpus).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::error::{ConformanceError, Result, SyntaxError};
use crate::syntax::{self, CaseSyntax, TableDefinition};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TestKind {
    Scalar,
    Aggregate,
}

#[derive(Debug, Clone)]
pub struct TestFile {
    pub path: PathBuf,
    pub kind: TestKind,
    /// The extension(s) under test (`### SUBSTRAIT_INCLUDE:`), searched first for functions.
    pub includes: Vec<String>,
    /// Helper extensions (`### SUBSTRAIT_DEPENDENCY:`), searched next, in order.
    pub dependencies: Vec<String>,
    pub cases: Vec<Case>,
}

#[derive(Debug, Clone)]
pub struct Case {
    /// 1-based line number in the file.
    pub line: usize,
    pub text: String,
    /// The `# group: description` heading the case is under.
    pub group: Option<String>,
    /// The parsed case, or why the line could not be read.
    pub syntax: std::result::Result<CaseSyntax, SyntaxError>,
    /// Tables defined with `DEFINE` above the case, by name.
    pub tables: HashMap<String, TableDefinition>,
}

impl TestFile {
    pub fn read(path: &Path) -> Result<TestFile> {
        let text = std::fs::read_to_string(path).map_err(ConformanceError::io(path))?;
        Self::parse(path, &text)
    }

    /// Parses a file's text. Only a missing or contradictory header fails the whole file; a case
    /// line that does not parse is kept, with its error, so the report counts it.
    pub fn parse(path: &Path, text: &str) -> Result<TestFile> {
        let corpus_error = |line: usize, message: String| ConformanceError::Corpus {
            path: path.to_path_buf(),
            message: format!("line {line}: {message}"),
        };
        let mut kind = None;
        let mut includes = Vec::new();
        let mut dependencies = Vec::new();
        let mut cases = Vec::new();
        let mut group = None;
        let mut tables: HashMap<String, TableDefinition> = HashMap::new();
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            let trimmed = raw.trim();
            if trimmed.is_empty() {
                continue;
            }
            if let Some(header) = trimmed.strip_prefix("###") {
                let (key, value) = header
                    .split_once(':')
                    .map(|(k, v)| (k.trim(), v.trim()))
                    .ok_or_else(|| corpus_error(line, format!("header `{trimmed}` has no `:`")))?;
                match key {
                    "SUBSTRAIT_SCALAR_TEST" => kind = Some(TestKind::Scalar),
                    "SUBSTRAIT_AGGREGATE_TEST" => kind = Some(TestKind::Aggregate),
                    "SUBSTRAIT_INCLUDE" => includes.extend(urns(value)),
                    "SUBSTRAIT_DEPENDENCY" => dependencies.extend(urns(value)),
                    other => {
                        return Err(corpus_error(line, format!("unknown header `{other}`")));
                    }
                }
                continue;
            }
            if let Some(heading) = trimmed.strip_prefix('#') {
                let heading = heading.trim();
                group = Some(
                    heading
                        .split_once(':')
                        .map_or(heading, |(name, _)| name.trim())
                        .to_string(),
                );
                continue;
            }
            let Some(kind) = kind else {
                return Err(corpus_error(
                    line,
                    "a case before the `### SUBSTRAIT_SCALAR_TEST` / `AGGREGATE_TEST` header"
                        .into(),
                ));
            };
            if trimmed.starts_with("DEFINE") {
                match syntax::parse_definition(trimmed) {
                    Ok(table) => {
                        tables.insert(table.name.clone(), table);
                    }
                    Err(error) => cases.push(Case {
                        line,
                        text: trimmed.to_string(),
                        group: group.clone(),
                        syntax: Err(error),
                        tables: tables.clone(),
                    }),
                }
                continue;
            }
            cases.push(Case {
                line,
                text: trimmed.to_string(),
                group: group.clone(),
                syntax: syntax::parse_case(trimmed, kind == TestKind::Aggregate),
                tables: tables.clone(),
            });
        }
        let kind = kind.ok_or_else(|| {
            corpus_error(
                1,
                "no `### SUBSTRAIT_SCALAR_TEST` / `### SUBSTRAIT_AGGREGATE_TEST` header".into(),
            )
        })?;
        if includes.is_empty() {
            return Err(corpus_error(1, "no `### SUBSTRAIT_INCLUDE:` header".into()));
        }
        Ok(TestFile {
            path: path.to_path_buf(),
            kind,
            includes,
            dependencies,
            cases,
        })
    }
}

fn urns(value: &str) -> impl Iterator<Item = String> + '_ {
    value
        .split(',')
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "\
### SUBSTRAIT_AGGREGATE_TEST: v1.0
### SUBSTRAIT_INCLUDE: extension:io.substrait:functions_arithmetic
### SUBSTRAIT_DEPENDENCY: extension:io.substrait:functions_comparison

# basic: Basic examples
sum((1, 2)::i8) = 3::i64
DEFINE t1(fp32, fp32) = ((20, -20), (-3, 3))
corr(t1.col0, t1.col1) = -1::fp64

# broken: a line the harness cannot read
sum((1, 2)::i8 = 3::i64
";

    #[test]
    fn reads_headers_groups_tables_and_cases() {
        let file = TestFile::parse(Path::new("x.test"), FILE).unwrap();
        assert_eq!(file.kind, TestKind::Aggregate);
        assert_eq!(
            file.includes,
            ["extension:io.substrait:functions_arithmetic"]
        );
        assert_eq!(
            file.dependencies,
            ["extension:io.substrait:functions_comparison"]
        );
        assert_eq!(file.cases.len(), 3);
        assert_eq!(file.cases[0].line, 6);
        assert_eq!(file.cases[0].group.as_deref(), Some("basic"));
        assert!(file.cases[1].tables.contains_key("t1"));
        assert_eq!(file.cases[2].group.as_deref(), Some("broken"));
        assert!(file.cases[2].syntax.is_err());
    }

    #[test]
    fn a_file_without_header_is_an_error_naming_the_line() {
        let e = TestFile::parse(Path::new("x.test"), "add(1::i8, 2::i8) = 3::i8\n").unwrap_err();
        assert!(e.to_string().contains("x.test: line 1"), "{e}");
    }
}
