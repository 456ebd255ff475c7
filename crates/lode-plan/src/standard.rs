//! The standard Substrait function extensions bundled with the `substrait` crate: which
//! functions each defines. [`crate::link`] declares them in plans that name functions bare.

use std::collections::HashMap;
use std::sync::LazyLock;

/// The URN under which Lode declares functions that no standard extension defines: DataFusion's
/// built-in function of that name (e.g. `date_part`), which is what Lode executes.
pub const DATAFUSION_FUNCTIONS_URN: &str = "extension:org.apache.datafusion:functions";

/// The standard extensions bundled with the `substrait` crate: each URN with the (lower-case)
/// names of the scalar, aggregate and window functions it defines.
pub fn standard_functions() -> impl Iterator<Item = (String, Vec<String>)> {
    substrait::extensions::EXTENSIONS.iter().map(|(urn, ext)| {
        let names = ext
            .scalar_functions
            .iter()
            .map(|f| &f.name)
            .chain(ext.aggregate_functions.iter().map(|f| &f.name))
            .chain(ext.window_functions.iter().map(|f| &f.name))
            .map(|n| n.to_lowercase())
            .collect();
        (urn.to_string(), names)
    })
}

/// Function name -> the standard URNs defining it (sorted, so choices are deterministic).
static STANDARD: LazyLock<HashMap<String, Vec<String>>> = LazyLock::new(|| {
    let mut by_name: HashMap<String, Vec<String>> = HashMap::new();
    for (urn, names) in standard_functions() {
        for name in names {
            by_name.entry(name).or_default().push(urn.clone());
        }
    }
    for urns in by_name.values_mut() {
        urns.sort();
        urns.dedup();
    }
    by_name
});

/// The standard URNs that define a function of this name (no signature suffix).
pub fn standard_urns(name: &str) -> &'static [String] {
    STANDARD
        .get(&name.to_lowercase())
        .map_or(&[], Vec::as_slice)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_the_standard_files() {
        assert!(
            standard_urns("add")
                .contains(&"extension:io.substrait:functions_arithmetic".to_string())
        );
        assert!(
            standard_urns("count")
                .iter()
                .any(|u| u.ends_with("functions_aggregate_generic"))
        );
        assert!(standard_urns("no_such_function").is_empty());
    }
}
