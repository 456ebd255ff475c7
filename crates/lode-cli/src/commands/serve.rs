//! `lode serve coordinator|executor`

use std::process::ExitCode;
use std::time::Duration;

use lode_dist::{Connections, CoordinatorConfig, ExecutorConfig, Tls, Token};
use lode_exec::EngineConfig;

use crate::cli::{ClusterArgs, ServeArgs, ServeTlsArgs, Service};
use crate::failure::Failure;

pub async fn run(args: ServeArgs) -> Result<ExitCode, Failure> {
    match args.service {
        Service::Coordinator {
            listen,
            cluster,
            tls,
            placement_timeout,
            executor_timeout,
            result_ttl,
            scan_range_mib,
        } => {
            refuse_exposure(listen, &cluster, &tls)?;
            let config = CoordinatorConfig {
                listen,
                token: token(&cluster)?,
                max_message_bytes: max_message_bytes(&cluster),
                placement_timeout: Duration::from_secs(placement_timeout),
                executor_timeout: Duration::from_secs(executor_timeout.max(1)),
                result_ttl: Duration::from_secs(result_ttl),
                min_scan_range_bytes: scan_range_mib << 20,
                tls: service_tls(&cluster, &tls)?,
                ..CoordinatorConfig::default()
            };
            let coordinator = lode_dist::start_coordinator(config).await?;
            eprintln!("coordinator listening on {}", coordinator.address());
            tokio::select! {
                () = coordinator.wait() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            Ok(ExitCode::SUCCESS)
        }
        Service::Executor {
            coordinator,
            listen,
            advertise,
            data,
            work,
            slots,
            memory_limit,
            spill_dir,
            allow_capabilities,
            cluster,
            tls,
        } => {
            refuse_exposure(listen, &cluster, &tls)?;
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            // A temporary work directory lives as long as this process.
            let temporary = match &work {
                Some(_) => None,
                None => Some(
                    tempfile::Builder::new()
                        .prefix("lode-executor-")
                        .tempdir()
                        .map_err(|e| Failure::io(format!("cannot create a work directory: {e}")))?,
                ),
            };
            let work = work
                .or_else(|| temporary.as_ref().map(|t| t.path().to_path_buf()))
                .ok_or_else(|| Failure::io("no work directory"))?;
            let spill_dir = spill_dir.unwrap_or_else(|| work.join("spill"));
            let config = ExecutorConfig {
                coordinator,
                listen,
                advertise,
                data,
                work,
                slots: slots.unwrap_or(cores).max(1),
                token: token(&cluster)?,
                max_message_bytes: max_message_bytes(&cluster),
                engine: EngineConfig {
                    distributed: true,
                    memory: lode_exec::MemoryConfig {
                        limit: memory_limit,
                        spill_dir: Some(spill_dir),
                    },
                    ..EngineConfig::default()
                }
                .allowing(&allow_capabilities),
                tls: service_tls(&cluster, &tls)?,
            };
            let executor = lode_dist::start_executor(config).await?;
            eprintln!("executor serving stage outputs on {}", executor.address());
            tokio::select! {
                () = executor.wait() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            drop(temporary);
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Safe by default: a service reachable beyond loopback needs a token (or anyone who reaches
/// it runs plans and reads results), and a token needs TLS (or it crosses the network in
/// clear), unless `--insecure` says the operator means it.
fn refuse_exposure(
    listen: std::net::SocketAddr,
    cluster: &ClusterArgs,
    tls: &ServeTlsArgs,
) -> Result<(), Failure> {
    if listen.ip().is_loopback() || tls.insecure {
        return Ok(());
    }
    let problem = match (&cluster.token_file, &tls.tls_cert) {
        (None, _) => {
            "without a token anyone who reaches it can run plans and read results; add --token-file FILE"
        }
        (Some(_), None) => {
            "its token would cross the network in clear; add --tls-cert FILE --tls-key FILE"
        }
        (Some(_), Some(_)) => return Ok(()),
    };
    Err(Failure::io(format!(
        "refusing to listen on {listen}: {problem} (or --insecure, if that is meant)"
    )))
}

pub fn token(args: &ClusterArgs) -> Result<Token, Failure> {
    match &args.token_file {
        Some(path) => Ok(Token::from_file(path)?),
        None => Ok(Token::none()),
    }
}

pub fn max_message_bytes(args: &ClusterArgs) -> usize {
    args.max_message_mib.clamp(1, 2047) << 20
}

/// What a client trusts for https:// addresses (`--tls-ca`).
fn client_tls(args: &ClusterArgs) -> Result<Tls, Failure> {
    match &args.tls_ca {
        Some(ca) => Ok(Tls::none().trusting(ca)?),
        None => Ok(Tls::none()),
    }
}

/// A service's TLS: what it presents (`--tls-cert`, `--tls-key`) and what its own calls trust.
fn service_tls(args: &ClusterArgs, serve: &ServeTlsArgs) -> Result<Tls, Failure> {
    let tls = client_tls(args)?;
    match (&serve.tls_cert, &serve.tls_key) {
        (Some(cert), Some(key)) => Ok(tls.with_identity(cert, key)?),
        _ => Ok(tls),
    }
}

/// The connections of a client of the cluster: its token, message limit and TLS trust.
pub fn connections(args: &ClusterArgs) -> Result<Connections, Failure> {
    Ok(Connections::new(token(args)?, max_message_bytes(args)).with_tls(client_tls(args)?))
}
