//! `lode guest build`: a project to a component, `<dir>/<name>.wasm`, with the toolchain its
//! language needs installed the way `make guests` installs it (tools/build-guests).

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use crate::failure::Failure;

use super::PROJECT_FILE;

/// componentize-py, pinned as tools/build-guests pins it.
const COMPONENTIZE_PY_VERSION: &str = "0.25.1";

/// What a project is, from `lode-guest.json` (or, without one, a cargo project).
struct Project {
    dir: PathBuf,
    name: String,
    lang: String,
}

impl Project {
    fn read(dir: &Path) -> Result<Project, Failure> {
        let file = dir.join(PROJECT_FILE);
        let text = match std::fs::read_to_string(&file) {
            Ok(text) => text,
            Err(_) if dir.join("Cargo.toml").is_file() => {
                return Ok(Project {
                    dir: dir.to_path_buf(),
                    name: String::new(),
                    lang: "rust".into(),
                });
            }
            Err(_) => {
                return Err(Failure::io(format!(
                    "{} is not a guest project: it has no {PROJECT_FILE} (nor Cargo.toml); \
                     make one with `lode guest new NAME`",
                    dir.display()
                )));
            }
        };
        let manifest: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| Failure::io(format!("{}: {e}", file.display())))?;
        let field = |key: &str| {
            manifest[key].as_str().map(str::to_string).ok_or_else(|| {
                Failure::io(format!(
                    "{}: \"{key}\" is missing or not a string",
                    file.display()
                ))
            })
        };
        Ok(Project {
            dir: dir.to_path_buf(),
            name: field("name")?,
            lang: field("lang")?,
        })
    }

    fn output(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.wasm"))
    }
}

pub fn build(dir: &Path) -> Result<ExitCode, Failure> {
    let project = Project::read(dir)?;
    let wasm = match project.lang.as_str() {
        "rust" => rust(&project)?,
        "python" => python(&project)?,
        "js" => javascript(&project)?,
        other => {
            return Err(Failure::io(format!(
                "{}: `lode guest build` builds Rust, Python and JavaScript projects, not '{other}'",
                dir.join(PROJECT_FILE).display()
            )));
        }
    };
    let bytes = std::fs::read(&wasm)
        .map_err(|e| Failure::io(format!("cannot read {}: {e}", wasm.display())))?;
    println!("{} ({} bytes)", wasm.display(), bytes.len());
    print!(
        "{}",
        crate::commands::module::summary(&bytes, &wasm.display().to_string())?
    );
    Ok(ExitCode::SUCCESS)
}

/// Runs a build step, its output shown to the user; a failure names the command.
fn step(command: &mut Command, what: &str) -> Result<(), Failure> {
    let status = command
        .status()
        .map_err(|e| Failure::io(format!("cannot run {what}: {e}")))?;
    if status.success() {
        Ok(())
    } else {
        Err(Failure::failed(format!(
            "{what} failed ({status}); its output is above"
        )))
    }
}

fn rust(project: &Project) -> Result<PathBuf, Failure> {
    ensure_wasip2_target()?;
    eprintln!("lode guest build: cargo build --release --target wasm32-wasip2");
    // Cargo's messages name the component it wrote, wherever its target directory is.
    let output = Command::new("cargo")
        .args(["build", "--release", "--target", "wasm32-wasip2"])
        .arg("--message-format=json-render-diagnostics")
        .current_dir(&project.dir)
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| {
            Failure::io(format!(
                "cannot run cargo (is Rust installed? https://rustup.rs): {e}"
            ))
        })?;
    if !output.status.success() {
        return Err(Failure::failed(format!(
            "cargo build failed ({}); its errors are above",
            output.status
        )));
    }
    let artifact = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|message| message["reason"] == "compiler-artifact")
        .flat_map(|message| {
            message["filenames"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|file| file.as_str().map(PathBuf::from))
        .rfind(|file| file.extension().is_some_and(|e| e == "wasm"))
        .ok_or_else(|| {
            Failure::failed(format!(
                "cargo built no .wasm in {}: is the crate a cdylib (`[lib] crate-type = [\"cdylib\"]`)?",
                project.dir.display()
            ))
        })?;
    let name = match project.name.as_str() {
        "" => artifact
            .file_stem()
            .map(|s| s.to_string_lossy().replace('_', "-"))
            .unwrap_or_default(),
        name => name.to_string(),
    };
    let wasm = project.output(&name);
    std::fs::copy(&artifact, &wasm).map_err(|e| {
        Failure::io(format!(
            "cannot copy {} to {}: {e}",
            artifact.display(),
            wasm.display()
        ))
    })?;
    Ok(wasm)
}

/// Adds the wasm32-wasip2 target with rustup when it is missing.
fn ensure_wasip2_target() -> Result<(), Failure> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .any(|t| t == "wasm32-wasip2")
        })
        .unwrap_or(false);
    if installed {
        return Ok(());
    }
    eprintln!("lode guest build: installing the wasm32-wasip2 target (rustup target add)");
    step(
        Command::new("rustup").args(["target", "add", "wasm32-wasip2"]),
        "rustup target add wasm32-wasip2 (is rustup installed? https://rustup.rs)",
    )
}

/// componentize-py through `python3 -c`, as tools/build-guests runs it: pip may put scripts
/// where PATH does not look.
fn componentize_py() -> Command {
    let mut command = Command::new("python3");
    command.args([
        "-c",
        "import sys, componentize_py; sys.argv[0] = 'componentize-py'; sys.exit(componentize_py.script())",
    ]);
    command
}

fn ensure_componentize_py() -> Result<(), Failure> {
    let version = componentize_py()
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    if version.contains(COMPONENTIZE_PY_VERSION) {
        return Ok(());
    }
    eprintln!("lode guest build: installing componentize-py {COMPONENTIZE_PY_VERSION} (pip)");
    step(
        Command::new("python3").args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            &format!("componentize-py=={COMPONENTIZE_PY_VERSION}"),
        ]),
        "pip install componentize-py (is python3 with pip installed?)",
    )
}

fn python(project: &Project) -> Result<PathBuf, Failure> {
    ensure_componentize_py()?;
    let bindings = Path::new(".lode-build/bindings");
    eprintln!("lode guest build: componentize-py bindings, then componentize app");
    step(
        componentize_py()
            .args(["-d", "wit", "-w", "extension", "bindings"])
            .arg(bindings)
            .current_dir(&project.dir)
            .stdout(Stdio::null()),
        "componentize-py bindings",
    )?;
    let wasm = format!("{}.wasm", project.name);
    step(
        componentize_py()
            .args(["-d", "wit", "-w", "extension", "componentize", "app"])
            .args(["-p", ".", "-p", "lode_sdk", "-p"])
            .arg(bindings)
            .args(["-o", &wasm])
            .current_dir(&project.dir)
            .stdout(Stdio::null()),
        "componentize-py componentize",
    )?;
    Ok(project.output(&project.name))
}

/// componentize-js from the project's `node_modules` (npm, pinned in its package.json), on
/// its one module, without `--aot`, as tools/build-guests runs it.
fn javascript(project: &Project) -> Result<PathBuf, Failure> {
    let componentize = project.dir.join("node_modules/.bin/componentize-js");
    if !componentize.exists() {
        eprintln!("lode guest build: installing componentize-js (npm install, into node_modules)");
        step(
            Command::new("npm")
                .args(["install", "--silent", "--no-audit", "--no-fund"])
                .current_dir(&project.dir),
            "npm install (is Node.js with npm installed?)",
        )?;
    }
    // Absolute: a relative program path is ambiguous once the working directory changes.
    let componentize = componentize
        .canonicalize()
        .map_err(|e| Failure::io(format!("{}: {e}", componentize.display())))?;
    let wasm = format!("{}.wasm", project.name);
    eprintln!("lode guest build: componentize-js {}.js", project.name);
    step(
        Command::new(&componentize)
            .arg(format!("{}.js", project.name))
            .args([
                "--wit",
                "wit",
                "-n",
                "extension",
                "--disable",
                "http",
                "fetch-event",
            ])
            .args(["-o", &wasm])
            .current_dir(&project.dir)
            .stdout(Stdio::null()),
        "componentize-js",
    )?;
    Ok(project.output(&project.name))
}
