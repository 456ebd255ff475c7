//! `lode guest new` and `lode guest build`: a guest project of one's own, outside this
//! repository, from nothing to a component Lode runs.

mod build;
mod template;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::cli::{GuestArgs, GuestCommand, GuestKind, GuestLang};
use crate::failure::Failure;

pub use template::{kind_name, lang_name};

/// What `lode guest new` records in a project, so `lode guest build` knows how to build it.
const PROJECT_FILE: &str = "lode-guest.json";

pub async fn run(args: GuestArgs) -> Result<ExitCode, Failure> {
    match args.command {
        GuestCommand::New {
            name,
            lang,
            kind,
            dir,
        } => new(&name, lang, kind, dir),
        GuestCommand::Build { dir } => build::build(&dir.unwrap_or_else(|| PathBuf::from("."))),
    }
}

/// The project's name, checked: it names the crate or component and, with `-` as `_`, the
/// example's SQL function (unquoted SQL names are lower case).
fn function_name(name: &str) -> Result<String, Failure> {
    let valid = name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if !valid {
        return Err(Failure::io(format!(
            "guest name '{name}': use lower-case letters, digits, '-' and '_', starting with a \
             letter (it names the project and, with '-' as '_', its SQL function)"
        )));
    }
    Ok(name.replace('-', "_"))
}

fn new(
    name: &str,
    lang: GuestLang,
    kind: GuestKind,
    dir: Option<PathBuf>,
) -> Result<ExitCode, Failure> {
    let function = function_name(name)?;
    let dir = dir.unwrap_or_else(|| PathBuf::from(name));
    let files = template::project(lang, kind, name, &function)?;
    if dir.exists()
        && std::fs::read_dir(&dir)
            .map(|mut entries| entries.next().is_some())
            .unwrap_or(true)
    {
        return Err(Failure::io(format!(
            "{} already exists and is not empty: choose another NAME or --dir",
            dir.display()
        )));
    }
    let manifest = serde_json::json!({
        "name": name,
        "lang": lang_name(lang),
        "kind": kind_name(kind),
    });
    let readme = readme(lang, kind, name, &function);
    let manifest = format!("{manifest:#}\n");
    let written = files
        .iter()
        .map(|(path, text)| (Path::new(path.as_str()), text.as_str()))
        .chain([
            (Path::new(PROJECT_FILE), manifest.as_str()),
            (Path::new("README.md"), readme.as_str()),
            (
                Path::new(".gitignore"),
                "/target\n/.lode-build\n/node_modules\n/test_logic\n*.wasm\n__pycache__/\n",
            ),
        ]);
    for (path, text) in written {
        let path = dir.join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| Failure::io(format!("cannot create {}: {e}", parent.display())))?;
        }
        std::fs::write(&path, text)
            .map_err(|e| Failure::io(format!("cannot write {}: {e}", path.display())))?;
    }
    println!(
        "Created {} {} guest '{name}' in {} (its {} is `{function}`).",
        lang_title(lang),
        kind_name(kind),
        dir.display(),
        if kind == GuestKind::Driver {
            "driver"
        } else {
            "function"
        },
    );
    println!("Next:\n  lode guest build {}", dir.display());
    println!(
        "then see {} for how to run it.",
        dir.join("README.md").display()
    );
    Ok(ExitCode::SUCCESS)
}

fn lang_title(lang: GuestLang) -> &'static str {
    match lang {
        GuestLang::Rust => "a Rust",
        GuestLang::Python => "a Python",
        GuestLang::Js => "a JavaScript",
        GuestLang::C => "a C",
    }
}

/// How to run the example, from the project's directory, once built: commands, each with
/// what it shows.
fn usage(kind: GuestKind, name: &str, function: &str) -> Vec<(String, &'static str)> {
    let wasm = format!("{name}.wasm");
    match kind {
        GuestKind::Scalar => vec![
            (
                format!(
                    "lode sql \"SELECT {function}(52.52, 13.405, 48.8566, 2.3522) AS km\" --module {wasm} -o plan.json"
                ),
                "SQL to a plan that embeds the module",
            ),
            ("lode run plan.json".into(), "877.46...: Berlin to Paris"),
        ],
        GuestKind::Aggregate => vec![
            (
                format!(
                    "lode sql \"SELECT {function}(x) AS rms FROM (VALUES (3.0), (4.0)) AS t(x)\" --module {wasm} -o plan.json"
                ),
                "SQL to a plan that embeds the module",
            ),
            ("lode run plan.json".into(), "3.5355...: sqrt((9 + 16) / 2)"),
        ],
        GuestKind::Table => vec![
            (
                format!(
                    "lode sql \"SELECT sum(square) AS total FROM {function}(1000)\" --module {wasm} -o plan.json"
                ),
                "SQL to a plan that embeds the module",
            ),
            ("lode run plan.json".into(), "332833500"),
        ],
        GuestKind::Operator => vec![
            (
                format!("lode validate example-plan.json --module {wasm}"),
                "a plan written by hand names the module",
            ),
            (
                format!("lode run example-plan.json --module {wasm} --table numbers=numbers.csv"),
                "5 buckets of 1..20",
            ),
        ],
        GuestKind::Driver => vec![
            (
                format!("lode plan {wasm} -o plan.json"),
                "emit: one plan, nothing runs",
            ),
            (
                "lode run plan.json --table numbers=numbers.csv".into(),
                "count and sum of x",
            ),
            (
                format!("lode drive {wasm} --table numbers=numbers.csv"),
                "run: two plans, the rows above the mean",
            ),
        ],
    }
}

fn readme(lang: GuestLang, kind: GuestKind, name: &str, function: &str) -> String {
    let js_source = format!("{name}.js");
    let c_source = format!("logic.c (the function) and {name}.c (its signature)");
    let (edit, test) = match lang {
        GuestLang::Rust => ("src/lib.rs", "cargo test"),
        GuestLang::Js => (js_source.as_str(), "npm test"),
        GuestLang::C => (
            c_source.as_str(),
            "cc test_logic.c logic.c -lm -o test_logic && ./test_logic",
        ),
        _ => (
            "logic.py (the function) and app.py (its signature)",
            "python3 -m unittest",
        ),
    };
    let sdk = match lang {
        GuestLang::Rust => {
            "`lode-sdk/` holds the SDK (`lode-guest`) and the WIT contract this project builds \
             against, copied by `lode guest new`; `cargo doc --open` documents the SDK."
        }
        GuestLang::C => {
            "`lode_sdk/` holds the helpers (`lode_guest.h`) and the interfaces a module does not \
             offer, `wit/` the contract this project builds against, both copied by `lode guest \
             new`; `lode guest build` makes the bindings (`wit-bindgen c`) in `.lode-build/` and \
             installs clang, wasi-libc and wit-bindgen-cli when they are missing."
        }
        GuestLang::Js => {
            "`wit/` holds the contract this project builds against, copied by `lode guest \
             new`; `lode guest build` installs componentize-js (npm) into `node_modules/`."
        }
        _ => {
            "`lode_sdk/` holds the helpers (Arrow columns in `lode_arrow.py`, the interfaces a \
             module does not offer in `stubs.py`) and `wit/` the contract this project builds \
             against, copied by `lode guest new`."
        }
    };
    let mut commands = vec![
        (test.to_string(), "the example's tests, natively"),
        (
            "lode guest build".to_string(),
            "builds the component, prints its functions",
        ),
        (
            format!("lode module inspect {name}.wasm"),
            "what Lode sees in it",
        ),
    ];
    commands.extend(usage(kind, name, function));
    let width = commands.iter().map(|(c, _)| c.len()).max().unwrap_or(0);
    let lines: Vec<String> = commands
        .iter()
        .map(|(command, what)| format!("{command:<width$}   # {what}"))
        .collect();
    let mut title = lang_title(lang).to_string();
    title[..1].make_ascii_uppercase();
    format!(
        "# {name}\n\n{title} {} Lode guest, made by `lode guest new`. Edit {edit}.\n\n\
         ```\n{}\n```\n\n{sdk}\n\nThe guide: docs/guest-guide.md in the Lode repository.\n",
        kind_name(kind),
        lines.join("\n"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_must_make_sql_function_names() {
        assert_eq!(
            function_name("haversine-km").ok().as_deref(),
            Some("haversine_km")
        );
        for bad in ["Haversine", "9lives", "a b", "", "a.b"] {
            assert!(function_name(bad).is_err(), "{bad}");
        }
    }
}
