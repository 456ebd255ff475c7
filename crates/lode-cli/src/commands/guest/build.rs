//! `lode guest build`: a project to a component, `<dir>/<name>.wasm`, with the toolchain its
//! language needs installed the way `make guests` installs it (tools/build-guests).

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use crate::failure::Failure;

use super::PROJECT_FILE;

/// componentize-py, pinned as tools/build-guests pins it.
const COMPONENTIZE_PY_VERSION: &str = "0.25.1";
/// wit-bindgen's CLI, at the version of the Rust guests' wit-bindgen (tools/build-guests).
const WIT_BINDGEN_VERSION: &str = "0.46.0";

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
        "c" => c(&project)?,
        other => {
            return Err(Failure::io(format!(
                "{}: `lode guest build` builds Rust, Python, JavaScript and C projects, not '{other}'",
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

/// The C guest: bindings from `wit-bindgen c`, compiled by clang for wasm32-wasi against
/// wasi-libc and linked into a component by the Rust toolchain's wasm-component-ld, as
/// tools/build-guests does; what is missing is installed the same way.
fn c(project: &Project) -> Result<PathBuf, Failure> {
    let clang = ensure_wasi_clang()?;
    ensure_wit_bindgen()?;
    let bindings = ".lode-build/c-bindings";
    eprintln!("lode guest build: wit-bindgen c, then clang --target=wasm32-wasi");
    step(
        Command::new("wit-bindgen")
            .args(["c", "wit", "--world", "extension", "--out-dir", bindings])
            .current_dir(&project.dir)
            .stdout(Stdio::null()),
        "wit-bindgen c",
    )?;
    let wasm_ld = command_output(Command::new(&clang).arg("-print-prog-name=wasm-ld"))
        .ok_or_else(|| Failure::failed(format!("{clang} does not name its wasm-ld")))?;
    let component_ld = component_ld()?;
    let mut sources: Vec<String> = std::fs::read_dir(&project.dir)
        .map_err(|e| Failure::io(format!("cannot list {}: {e}", project.dir.display())))?
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        // test_logic.c has a main: it is the native test, not part of the module.
        .filter(|name| name.ends_with(".c") && name != "test_logic.c")
        .collect();
    sources.sort();
    let wasm = format!("{}.wasm", project.name);
    step(
        Command::new(&clang)
            .args([
                "--target=wasm32-wasi",
                "-O2",
                "-Wall",
                "-Wextra",
                "-mexec-model=reactor",
            ])
            .arg(format!("-fuse-ld={}", component_ld.display()))
            .arg(format!("-Wl,--wasm-ld-path={wasm_ld}"))
            .arg("-Wl,--wasi-adapter=reactor")
            .args([&format!("-I{bindings}"), "-Ilode_sdk"])
            .args(&sources)
            .args(["lode_sdk/lode_guest.c", &format!("{bindings}/extension.c")])
            .arg(format!("{bindings}/extension_component_type.o"))
            .args(["-lm", "-o", &wasm])
            .current_dir(&project.dir),
        "clang",
    )?;
    Ok(project.output(&project.name))
}

/// A command's output, trimmed, when it succeeds and prints something.
fn command_output(command: &mut Command) -> Option<String> {
    let output = command.output().ok().filter(|o| o.status.success())?;
    let text = String::from_utf8_lossy(&output.stdout).trim().to_string();
    (!text.is_empty()).then_some(text)
}

/// A clang that compiles and links a wasm32-wasi reactor against wasi-libc, installing
/// Debian's clang, lld, wasi-libc and wasm32 builtins when there is none.
fn ensure_wasi_clang() -> Result<String, Failure> {
    if let Some(clang) = wasi_clang() {
        return Ok(clang);
    }
    eprintln!(
        "lode guest build: installing clang, lld, wasi-libc and the wasm32 builtins (Debian packages)"
    );
    let sudo = command_output(Command::new("id").arg("-u")).is_some_and(|uid| uid != "0");
    let apt = |args: &[&str]| {
        let mut command = Command::new(if sudo { "sudo" } else { "apt-get" });
        if sudo {
            command.arg("apt-get");
        }
        command.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        command
    };
    let install = "apt-get install clang lld wasi-libc libclang-rt-dev-wasm32";
    step(
        &mut apt(&["update", "-qq"]),
        &format!("{install} (is this Debian?)"),
    )?;
    step(
        &mut apt(&[
            "install",
            "-y",
            "-qq",
            "clang",
            "lld",
            "wasi-libc",
            "libclang-rt-dev-wasm32",
        ]),
        install,
    )?;
    wasi_clang().ok_or_else(|| {
        Failure::failed(format!(
            "no clang links wasm32-wasi against wasi-libc, even after {install}"
        ))
    })
}

/// The first clang on PATH that links a wasm32-wasi reactor against wasi-libc.
fn wasi_clang() -> Option<String> {
    let probe = tempfile::tempdir().ok()?;
    let source = probe.path().join("probe.c");
    std::fs::write(
        &source,
        "#include <stdlib.h>\nvoid *f(unsigned long n) { return malloc(n); }\n",
    )
    .ok()?;
    [
        "clang", "clang-19", "clang-18", "clang-17", "clang-16", "clang-15", "clang-14",
    ]
    .into_iter()
    .find(|clang| {
        Command::new(clang)
            .args(["--target=wasm32-wasi", "-mexec-model=reactor"])
            .arg(&source)
            .arg("-o")
            .arg(probe.path().join("probe.wasm"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
    .map(str::to_string)
}

/// wit-bindgen's CLI at the pinned version, cargo-installed when missing (about 3 minutes).
fn ensure_wit_bindgen() -> Result<(), Failure> {
    let version = command_output(Command::new("wit-bindgen").arg("--version")).unwrap_or_default();
    if version.contains(WIT_BINDGEN_VERSION) {
        return Ok(());
    }
    eprintln!(
        "lode guest build: installing wit-bindgen-cli {WIT_BINDGEN_VERSION} (cargo install, about 3 minutes)"
    );
    step(
        Command::new("cargo").args([
            "install",
            "--quiet",
            "--locked",
            "wit-bindgen-cli",
            "--version",
            WIT_BINDGEN_VERSION,
        ]),
        "cargo install wit-bindgen-cli (is Rust installed? https://rustup.rs)",
    )
}

/// The linker that makes a component of a wasm32-wasi module: the Rust toolchain's
/// wasm-component-ld (shipped since Rust 1.82).
fn component_ld() -> Result<PathBuf, Failure> {
    let sysroot = command_output(Command::new("rustc").args(["--print", "sysroot"]));
    let host = command_output(Command::new("rustc").arg("-vV")).and_then(|v| {
        v.lines()
            .find_map(|l| l.strip_prefix("host: ").map(str::to_string))
    });
    let (Some(sysroot), Some(host)) = (sysroot, host) else {
        return Err(Failure::io(
            "the C build links with the Rust toolchain's wasm-component-ld: install Rust (https://rustup.rs)",
        ));
    };
    let linker = Path::new(&sysroot)
        .join("lib/rustlib")
        .join(host)
        .join("bin/wasm-component-ld");
    if linker.is_file() {
        Ok(linker)
    } else {
        Err(Failure::io(format!(
            "{} is missing: it comes with the Rust toolchain since 1.82 (rustup update)",
            linker.display()
        )))
    }
}
