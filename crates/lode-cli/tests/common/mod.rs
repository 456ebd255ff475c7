//! Helpers shared by the test binaries: the `lode` binary, the repository's files and example
//! guests, and `lode serve` processes.

// Each test binary includes this module and uses some of it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, Command, Output, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

/// The `lode` binary of this build.
pub fn lode() -> Command {
    Command::new(env!("CARGO_BIN_EXE_lode"))
}

/// The repository's root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A file of the repository, by its path there.
pub fn plan(name: &str) -> String {
    repo().join(name).to_string_lossy().into_owned()
}

/// An example guest built by `make guests`.
pub fn guest(name: &str) -> PathBuf {
    let path = repo().join("guests/out").join(format!("{name}.wasm"));
    assert!(
        path.exists(),
        "{}: build the guests first with `make guests`",
        path.display()
    );
    path
}

/// Runs a command: its exit code, standard output and standard error.
pub fn run(cmd: &mut Command) -> (i32, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().expect("the command starts");
    (
        status.code().expect("exited by signal"),
        String::from_utf8_lossy(&stdout).into(),
        String::from_utf8_lossy(&stderr).into(),
    )
}

/// Reads `child`'s stderr until a line containing `marker`; returns that line and the lines
/// after it, as they come (read in the background, so the child never blocks on a full pipe).
pub fn wait_for_line(stderr: ChildStderr, marker: &str) -> (String, Receiver<String>) {
    let mut lines = BufReader::new(stderr).lines();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if line.contains(marker) {
            let (send, receive) = channel();
            std::thread::spawn(move || {
                for line in lines.map_while(Result::ok) {
                    let _ = send.send(line);
                }
            });
            return (line, receive);
        }
    }
    panic!("the process ended before printing `{marker}`");
}

/// Starts `lode serve coordinator …` as `command` holds it: the process, the address it
/// listens on, and its standard error after it said so.
pub fn start_coordinator(command: &mut Command) -> (Child, String, Receiver<String>) {
    let mut coordinator = command.stderr(Stdio::piped()).spawn().unwrap();
    let (line, log) = wait_for_line(
        coordinator.stderr.take().unwrap(),
        "coordinator listening on",
    );
    let address = line.rsplit(' ').next().unwrap().to_string();
    (coordinator, address, log)
}

/// Waits up to a minute for a line containing `marker` in `log`; returns it.
pub fn wait_for_log(log: &Receiver<String>, who: &str, marker: &str) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
        match log.recv_timeout(left) {
            Ok(line) if line.contains(marker) => return line,
            Ok(_) => {}
            Err(e) => panic!("{who} did not log `{marker}`: {e}"),
        }
    }
    panic!("{who} did not log `{marker}` within a minute");
}
