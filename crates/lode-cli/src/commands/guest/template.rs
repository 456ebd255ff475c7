//! The files of a new guest project, embedded in `lode` so that `lode guest new` works
//! anywhere: the project's own files (with `{{name}}`, `{{function}}`, `{{kind}}` and
//! `{{sdk}}` filled in) and, copied verbatim, the SDK and the WIT contract it builds against.

use crate::cli::{GuestKind, GuestLang};
use crate::failure::Failure;

/// A file of a project: its path in the project, and its text.
#[derive(Clone, Copy)]
pub struct File {
    pub path: &'static str,
    pub text: &'static str,
}

macro_rules! files {
    ($($path:literal => $source:literal),* $(,)?) => {
        &[$(File { path: $path, text: include_str!($source) }),*]
    };
}

/// The contract every guest builds against.
const WIT: &[File] = files!["wit/guest.wit" => "../../../../../guests/wit/guest.wit"];

/// The Rust SDK, `lode-guest`, as the project's path dependency. Its manifest has no
/// workspace settings, so it builds where it is copied (see `sdk_files_are_all_embedded`).
const RUST_SDK: &[File] = files![
    "lode-sdk/sdk-rust/Cargo.toml" => "../../../../../guests/sdk-rust/Cargo.toml",
    "lode-sdk/sdk-rust/src/column.rs" => "../../../../../guests/sdk-rust/src/column.rs",
    "lode-sdk/sdk-rust/src/driver.rs" => "../../../../../guests/sdk-rust/src/driver.rs",
    "lode-sdk/sdk-rust/src/lib.rs" => "../../../../../guests/sdk-rust/src/lib.rs",
    "lode-sdk/sdk-rust/src/module.rs" => "../../../../../guests/sdk-rust/src/module.rs",
    "lode-sdk/sdk-rust/src/runtime.rs" => "../../../../../guests/sdk-rust/src/runtime.rs",
    "lode-sdk/sdk-rust/src/types.rs" => "../../../../../guests/sdk-rust/src/types.rs",
    "lode-sdk/sdk-rust/src/values.rs" => "../../../../../guests/sdk-rust/src/values.rs",
    "lode-sdk/wit/guest.wit" => "../../../../../guests/wit/guest.wit",
];

/// The Python helpers: Arrow columns as the contract lays them out, and the interfaces a
/// module does not offer.
const PYTHON_SDK: &[File] = files![
    "lode_sdk/lode_arrow.py" => "../../../../../guests/python/common/lode_arrow.py",
    "lode_sdk/stubs.py" => "../../../../../guests/python/common/stubs.py",
    "lode_sdk/scalar.py" => "../../../../../guests/python/common/scalar.py",
    "lode_sdk/aggregate.py" => "../../../../../guests/python/common/aggregate.py",
    "lode_sdk/table.py" => "../../../../../guests/python/common/table.py",
    "lode_sdk/operators.py" => "../../../../../guests/python/common/operators.py",
];

/// The C helpers and the interfaces a module does not offer.
const C_SDK: &[File] = files![
    "lode_sdk/lode_guest.h" => "../../../../../guests/c/common/lode_guest.h",
    "lode_sdk/lode_guest.c" => "../../../../../guests/c/common/lode_guest.c",
];

const RUST_MANIFEST: &str = include_str!("../../../templates/guest/rust/Cargo.toml");
const NUMBERS: File = File {
    path: "numbers.csv",
    text: include_str!("../../../templates/guest/rust/numbers.csv"),
};

/// The project's own files for a language and kind, before the placeholders are filled in.
fn own_files(lang: GuestLang, kind: GuestKind) -> Result<Vec<File>, Failure> {
    let lib = |text| File {
        path: "src/lib.rs",
        text,
    };
    let manifest = File {
        path: "Cargo.toml",
        text: RUST_MANIFEST,
    };
    Ok(match (lang, kind) {
        (GuestLang::Rust, GuestKind::Scalar) => {
            vec![
                manifest,
                lib(include_str!("../../../templates/guest/rust/scalar.rs")),
            ]
        }
        (GuestLang::Rust, GuestKind::Aggregate) => {
            vec![
                manifest,
                lib(include_str!("../../../templates/guest/rust/aggregate.rs")),
            ]
        }
        (GuestLang::Rust, GuestKind::Table) => {
            vec![
                manifest,
                lib(include_str!("../../../templates/guest/rust/table.rs")),
            ]
        }
        (GuestLang::Rust, GuestKind::Operator) => vec![
            manifest,
            lib(include_str!("../../../templates/guest/rust/operator.rs")),
            File {
                path: "example-plan.json",
                text: include_str!("../../../templates/guest/rust/example-plan.json"),
            },
            NUMBERS,
        ],
        (GuestLang::Rust, GuestKind::Driver) => vec![
            manifest,
            lib(include_str!("../../../templates/guest/rust/driver.rs")),
            NUMBERS,
        ],
        (GuestLang::Python, GuestKind::Scalar) => files![
            "app.py" => "../../../templates/guest/python/scalar/app.py",
            "scalar.py" => "../../../templates/guest/python/scalar/scalar.py",
            "logic.py" => "../../../templates/guest/python/scalar/logic.py",
            "test_logic.py" => "../../../templates/guest/python/scalar/test_logic.py",
        ]
        .to_vec(),
        (GuestLang::Python, GuestKind::Aggregate) => files![
            "app.py" => "../../../templates/guest/python/aggregate/app.py",
            "aggregate.py" => "../../../templates/guest/python/aggregate/aggregate.py",
            "logic.py" => "../../../templates/guest/python/aggregate/logic.py",
            "test_logic.py" => "../../../templates/guest/python/aggregate/test_logic.py",
        ]
        .to_vec(),
        (GuestLang::Js, GuestKind::Scalar) => files![
            "{{name}}.js" => "../../../templates/guest/js/scalar.js",
            "{{name}}.test.js" => "../../../templates/guest/js/scalar.test.js",
            "package.json" => "../../../templates/guest/js/package.json",
        ]
        .to_vec(),
        (GuestLang::Python, _) => {
            return Err(Failure::io(format!(
                "--lang python --kind {}: `lode guest new` writes Python scalar functions and \
                 aggregates; write table functions, operators and drivers in Rust (--lang rust)",
                kind_name(kind)
            )));
        }
        (GuestLang::C, GuestKind::Scalar) => files![
            "{{name}}.c" => "../../../templates/guest/c/scalar.c",
            "logic.c" => "../../../templates/guest/c/logic.c",
            "logic.h" => "../../../templates/guest/c/logic.h",
            "test_logic.c" => "../../../templates/guest/c/test_logic.c",
        ]
        .to_vec(),
        (GuestLang::Js | GuestLang::C, _) => {
            return Err(Failure::io(format!(
                "--lang {} --kind {}: `lode guest new` writes {} scalar functions; write \
                 aggregates, table functions, operators and drivers in Rust (--lang rust) or \
                 aggregates in Python (--lang python)",
                lang_name(lang),
                kind_name(kind),
                if lang == GuestLang::Js {
                    "JavaScript"
                } else {
                    "C"
                },
            )));
        }
    })
}

/// Every file of a new project: its own (placeholders filled in), then the SDK and WIT it
/// builds against.
pub fn project(
    lang: GuestLang,
    kind: GuestKind,
    name: &str,
    function: &str,
) -> Result<Vec<(String, String)>, Failure> {
    let sdk = match kind {
        GuestKind::Driver => {
            r#"lode-guest = { path = "lode-sdk/sdk-rust", default-features = false, features = ["driver"] }"#
        }
        _ => r#"lode-guest = { path = "lode-sdk/sdk-rust" }"#,
    };
    let fill = |text: &str| {
        text.replace("{{name}}", name)
            .replace("{{function}}", function)
            .replace("{{kind}}", kind_name(kind))
            .replace("{{sdk}}", sdk)
    };
    let mut files: Vec<(String, String)> = own_files(lang, kind)?
        .iter()
        .map(|f| (fill(f.path), fill(f.text)))
        .collect();
    let vendored: &[&[File]] = match lang {
        GuestLang::Rust => &[RUST_SDK],
        GuestLang::Python => &[PYTHON_SDK, WIT],
        GuestLang::Js => &[WIT],
        GuestLang::C => &[C_SDK, WIT],
    };
    for f in vendored.iter().flat_map(|files| files.iter()) {
        files.push((f.path.to_string(), f.text.to_string()));
    }
    Ok(files)
}

pub fn kind_name(kind: GuestKind) -> &'static str {
    match kind {
        GuestKind::Scalar => "scalar",
        GuestKind::Aggregate => "aggregate",
        GuestKind::Table => "table",
        GuestKind::Operator => "operator",
        GuestKind::Driver => "driver",
    }
}

pub fn lang_name(lang: GuestLang) -> &'static str {
    match lang {
        GuestLang::Rust => "rust",
        GuestLang::Python => "python",
        GuestLang::Js => "js",
        GuestLang::C => "c",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The SDK directories' files, as the repository has them.
    fn repository_files(dir: &str, extension: &str) -> Vec<String> {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../");
        let mut names: Vec<String> = std::fs::read_dir(format!("{root}{dir}"))
            .expect("the SDK directory")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(extension))
            .collect();
        names.sort();
        names
    }

    fn embedded(files: &[File], prefix: &str) -> Vec<String> {
        let mut names: Vec<String> = files
            .iter()
            .filter_map(|f| f.path.strip_prefix(prefix))
            .filter(|rest| !rest.contains('/'))
            .map(str::to_string)
            .collect();
        names.sort();
        names
    }

    /// A file added to an SDK must reach new projects too.
    #[test]
    fn sdk_files_are_all_embedded() {
        assert_eq!(
            embedded(RUST_SDK, "lode-sdk/sdk-rust/src/"),
            repository_files("guests/sdk-rust/src", ".rs")
        );
        assert_eq!(
            embedded(PYTHON_SDK, "lode_sdk/"),
            repository_files("guests/python/common", ".py")
        );
        assert_eq!(
            embedded(C_SDK, "lode_sdk/"),
            repository_files("guests/c/common", "")
        );
        assert!(
            !RUST_SDK[0].text.contains(".workspace"),
            "the SDK manifest must stand alone"
        );
    }

    /// The guide's Rust SDK section names only items the SDK has: a renamed or removed item
    /// fails here until the guide follows.
    #[test]
    fn the_guide_names_only_sdk_items() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../");
        let guide =
            std::fs::read_to_string(format!("{root}docs/guest-guide.md")).expect("the guide");
        let start = guide
            .find("## Rust: the `lode-guest` SDK")
            .expect("the Rust section");
        let end = start
            + guide[start..]
                .find("\n## C:")
                .expect("the section after it");
        let sdk: String = RUST_SDK.iter().map(|f| f.text).collect();
        let defines = |name: &str| {
            ["fn ", "struct ", "trait ", "enum ", "macro_rules! "]
                .iter()
                .any(|keyword| sdk.contains(&format!("{keyword}{name}")))
                // scalar1 ... scalar6 come from one macro's invocation: `scalar1(1; A: 0);`.
                || sdk.contains(&format!("    {name}("))
        };
        let primitives = ["bool", "i32", "i64", "f32", "f64", "cdylib"];
        let mut unknown = Vec::new();
        // Code spans outside code blocks: `name`, `Type`, `Type::method`.
        for (i, span) in guide[start..end].split('`').enumerate() {
            let is_code_span = i % 2 == 1;
            let words: Vec<&str> = span.split("::").collect();
            let identifiers = words
                .iter()
                .all(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
            if !is_code_span || !identifiers || primitives.contains(&span) {
                continue;
            }
            if !words.iter().all(|w| defines(w)) {
                unknown.push(span.to_string());
            }
        }
        assert!(
            unknown.is_empty(),
            "the guide names what the SDK does not define: {unknown:?}"
        );
    }

    #[test]
    fn placeholders_are_all_filled() {
        for (lang, kinds) in [
            (
                GuestLang::Rust,
                &[
                    GuestKind::Scalar,
                    GuestKind::Aggregate,
                    GuestKind::Table,
                    GuestKind::Operator,
                    GuestKind::Driver,
                ][..],
            ),
            (
                GuestLang::Python,
                &[GuestKind::Scalar, GuestKind::Aggregate][..],
            ),
        ] {
            for kind in kinds {
                for (path, text) in project(lang, *kind, "my-guest", "my_guest").expect("a project")
                {
                    assert!(
                        !text.contains("{{"),
                        "{path} of {lang:?} {kind:?} keeps a placeholder"
                    );
                }
            }
        }
    }
}
