//! `lode`: validate, explain and run Substrait plans; produce them from SQL; generate data.

mod chart;
mod cli;
mod commands;
mod failure;
mod progress;
mod sink;

use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

use crate::cli::{Cli, Command};
use crate::failure::Failure;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // A conformance run executes thousands of the harness's own plans: their validation
    // warnings (a corpus newer than the bundled extension YAMLs) are not the user's to act on.
    let quiet_plans = matches!(cli.command, Command::Conformance(_));
    let serving = matches!(cli.command, Command::Serve(_));
    init_tracing(cli.verbose, quiet_plans, serving);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return report(Failure::io(format!("cannot start the async runtime: {e}"))),
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Run(args) => commands::run::run(args).await,
            Command::Sql(args) => commands::sql::run(args).await,
            Command::Explain(args) => commands::explain::run(args).await,
            Command::Validate(args) => commands::validate::run(args).await,
            Command::Gen(args) => commands::generate::run(args).await,
            Command::Module(args) => commands::module::run(args).await,
            Command::Guest(args) => commands::guest::run(args).await,
            Command::Conformance(args) => commands::conformance::run(args).await,
            Command::Serve(args) => commands::serve::run(args).await,
            Command::Submit(args) => commands::submit::run(args).await,
            Command::Cancel(args) => commands::submit::cancel(args).await,
            Command::Plan(args) => commands::drive::plan(args).await,
            Command::Drive(args) => commands::drive::drive(args).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(failure) => report(failure),
    }
}

fn report(failure: Failure) -> ExitCode {
    eprintln!("error: {failure}");
    failure.exit_code()
}

/// `-v` shows Lode's progress (info), `-vv` debug detail; `RUST_LOG` overrides both.
/// `quiet_plans` keeps the executor's per-plan warnings out of the default output; a service
/// (`serving`) logs its executors and jobs by default.
fn init_tracing(verbose: u8, quiet_plans: bool, serving: bool) {
    // delta-rs (and its kernel, buoyant_kernel) logs as errors what Lode then reports itself
    // (a version that does not exist): its logs show from -vv on.
    let default = match verbose {
        0 if quiet_plans => "warn,lode_exec=error,deltalake_core=off,buoyant_kernel=off",
        0 if serving => "warn,lode_dist=info,deltalake_core=off,buoyant_kernel=off",
        // A cluster in this process (`--executors N`) fails a query once, in the error
        // printed at the end: its services' warnings about the same failure stay quiet.
        0 => "warn,lode_dist=error,deltalake_core=off,buoyant_kernel=off",
        1 => {
            "warn,lode=info,lode_exec=info,lode_plan=info,lode_datagen=info,lode_wasm=info,lode_dist=info,deltalake_core=off,buoyant_kernel=off"
        }
        _ => {
            "info,lode=debug,lode_exec=debug,lode_plan=debug,lode_datagen=debug,lode_wasm=debug,lode_dist=debug"
        }
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colour codes only for a person at a terminal, not in a log file or a pipe.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(verbose > 1)
        .init();
}
