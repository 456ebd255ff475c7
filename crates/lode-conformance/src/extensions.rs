//! Which extension defines a function: a case names `add`, its plan must declare the URN of the
//! file that defines it (the file under test first, then its dependencies, as FORMAT.md says).

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde::Deserialize;

use crate::error::{ConformanceError, Result};
use crate::testfile::TestFile;

/// Function and type names by extension URN.
#[derive(Debug, Default, Clone)]
pub struct ExtensionIndex {
    functions: HashMap<String, HashSet<String>>,
    types: HashMap<String, HashSet<String>>,
}

/// The parts of a simple-extension YAML file the index reads.
#[derive(Deserialize)]
struct ExtensionFile {
    urn: Option<String>,
    #[serde(default)]
    scalar_functions: Vec<Named>,
    #[serde(default)]
    aggregate_functions: Vec<Named>,
    #[serde(default)]
    window_functions: Vec<Named>,
    #[serde(default)]
    types: Vec<Named>,
}

#[derive(Deserialize)]
struct Named {
    name: String,
}

impl ExtensionIndex {
    /// The standard extensions bundled with the `substrait` crate.
    pub fn standard() -> Self {
        ExtensionIndex {
            functions: lode_plan::standard::standard_functions()
                .map(|(urn, names)| (urn, names.into_iter().collect()))
                .collect(),
            types: HashMap::new(),
        }
    }

    /// Adds every `*.yaml` extension file in `dir` (a corpus may test a newer spec than the
    /// bundled one); a file's functions replace the bundled file's of the same URN.
    pub fn add_directory(&mut self, dir: &Path) -> Result<usize> {
        let io = ConformanceError::io(dir);
        let mut added = 0;
        let mut paths: Vec<_> = std::fs::read_dir(dir)
            .map_err(io)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
            .collect();
        paths.sort();
        for path in paths {
            let text = std::fs::read_to_string(&path).map_err(ConformanceError::io(&path))?;
            let file: ExtensionFile =
                serde_yaml::from_str(&text).map_err(|e| ConformanceError::Corpus {
                    path: path.clone(),
                    message: format!("not a simple-extension file: {e}"),
                })?;
            let Some(urn) = file.urn else {
                continue;
            };
            let names = file
                .scalar_functions
                .iter()
                .chain(&file.aggregate_functions)
                .chain(&file.window_functions)
                .map(|f| f.name.to_lowercase())
                .collect();
            self.types.insert(
                urn.clone(),
                file.types.iter().map(|t| t.name.clone()).collect(),
            );
            self.functions.insert(urn, names);
            added += 1;
        }
        Ok(added)
    }

    /// The URN a call to `name` in `file` means: the first of the file's includes, then its
    /// dependencies, that defines the name; the first include when none does (the consumer
    /// will then say the function is unknown).
    pub fn resolve<'f>(&self, name: &str, file: &'f TestFile) -> &'f str {
        let lower = name.to_lowercase();
        file.includes
            .iter()
            .chain(&file.dependencies)
            .find(|urn| self.functions.get(*urn).is_some_and(|f| f.contains(&lower)))
            .unwrap_or(&file.includes[0])
    }

    /// The URN of the extension (the file's includes, then its dependencies) that defines the
    /// user-defined type `name` (`u8` of `u!u8`), if any does.
    pub fn resolve_type<'f>(&self, name: &str, file: &'f TestFile) -> Option<&'f str> {
        file.includes
            .iter()
            .chain(&file.dependencies)
            .find(|urn| self.types.get(*urn).is_some_and(|t| t.contains(name)))
            .map(String::as_str)
    }
}
