//! Command-line arguments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// What `lode run` and `lode submit` exit with; a caller tells a plan Lode did not accept from
/// a query that failed while running.
const EXIT_CODES: &str = "Exit codes:
  0  success
  1  the plan was not accepted: it is invalid, or cannot be converted or bound (nothing ran)
  2  the input could not be read (missing file, undecodable plan, bad arguments)
  3  the query failed while running (a value that does not cast, a guest error, a lost cluster)";

#[derive(Debug, Parser)]
#[command(
    name = "lode",
    version,
    about = "Move compute to data: run Substrait plans (with Wasm extensions) on Apache DataFusion"
)]
pub struct Cli {
    /// More output on stderr: -v progress, -vv debug detail (RUST_LOG overrides)
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a Substrait plan (binary or JSON) and print or write its result
    #[command(after_help = EXIT_CODES)]
    Run(RunArgs),
    /// Turn SQL into a Substrait plan (JSON for .json, binary otherwise)
    Sql(SqlArgs),
    /// Show how a plan will run: logical, optimized and physical plans, or (--dag) its stages
    Explain(ExplainArgs),
    /// Check plans and report coded diagnostics with plan paths (exit 0 valid, 1 invalid, 2 unreadable)
    Validate(ValidateArgs),
    /// Generate data sets
    Gen(GenArgs),
    /// Work with Wasm modules
    Module(ModuleArgs),
    /// Start and build a guest of your own: a project outside this repository
    Guest(GuestArgs),
    /// Measure spec conformance: the Substrait function test corpus
    Conformance(ConformanceArgs),
    /// Run a cluster service: the coordinator, or an executor holding a data directory
    Serve(ServeArgs),
    /// Send a plan to a running coordinator, show its progress, print its result
    #[command(after_help = EXIT_CODES)]
    Submit(SubmitArgs),
    /// Cancel a job running on a cluster (`lode submit` prints its id)
    Cancel(CancelArgs),
    /// Let a driver guest (a Wasm program) build a plan, and write it
    Plan(PlanArgs),
    /// Run a driver guest: it builds and runs plans until it is done; print what it returns
    Drive(DriveArgs),
}

/// What a driver guest gets: its arguments, the tables it plans against, its limits.
#[derive(Debug, Args)]
pub struct DriverArgs {
    /// The driver: a Wasm component of the lode:guest/driver world
    pub driver: PathBuf,
    /// An argument for the driver (repeatable, in order)
    #[arg(long = "arg", value_name = "KEY=VALUE")]
    pub args: Vec<String>,
    #[command(flatten)]
    pub tables: TableArgs,
    /// Memory the driver may grow to, in MiB
    #[arg(long, value_name = "MIB", default_value_t = 512)]
    pub driver_memory_mib: u64,
    /// Seconds the driver may compute itself (planning and queries it runs do not count)
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub driver_timeout: u64,
    #[command(flatten)]
    pub memory: MemoryArgs,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub driver: DriverArgs,
    /// Plan file to write (.json is JSON, anything else binary protobuf); `-` writes JSON to stdout
    #[arg(short, long, value_name = "PLAN")]
    pub output: PathBuf,
}

#[derive(Debug, Args)]
pub struct DriveArgs {
    #[command(flatten)]
    pub driver: DriverArgs,
    /// Plans the driver may run, at most
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub max_plans: usize,
    /// Rows of one result the driver may receive (larger results must be stored)
    #[arg(long, value_name = "ROWS", default_value_t = 1_000_000)]
    pub max_result_rows: u64,
    /// Grant a capability a module of the driver's plans asks for: clocks, random (repeatable)
    #[arg(long = "allow-capability", value_name = "CAPABILITY")]
    pub allow_capabilities: Vec<lode_wasm::Capability>,
    /// Output format of the driver's result
    /// [default: as -o's extension asks (.csv, .json, .arrow, .parquet; a URL ending in /
    /// gets Parquet), else a table]
    #[arg(long, value_enum)]
    pub format: Option<OutputFormat>,
    /// Write the result to this file or object-store URL instead of standard output (written
    /// whole or not at all; a URL ending in / gets part-00000.<format> under it)
    #[arg(short, long, value_name = "FILE|URL")]
    pub output: Option<String>,
    /// Run the driver's plans on the cluster of this coordinator (its executors' tables; stored
    /// results stay on the executors) instead of the embedded engine
    #[arg(long, value_name = "URL", conflicts_with = "executors")]
    pub coordinator: Option<String>,
    /// Run the driver's plans on a coordinator and N executors started in this process, each
    /// holding the --data directory (the same path as --coordinator)
    #[arg(long, value_name = "N")]
    pub executors: Option<usize>,
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

/// Settings every cluster service and client shares.
#[derive(Debug, Args, Clone)]
pub struct ClusterArgs {
    /// File holding the cluster's shared bearer token (every call must carry it)
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// Largest gRPC message sent or accepted, in MiB (plans and results stream in smaller pieces)
    #[arg(long, value_name = "MIB", default_value_t = 64)]
    pub max_message_mib: usize,
    /// PEM file of the certificate authority that signed the cluster's certificates: https://
    /// addresses are reached trusting it, and only it
    #[arg(long, value_name = "FILE")]
    pub tls_ca: Option<PathBuf>,
}

/// TLS of a service: with both files it serves https:// only.
#[derive(Debug, Args, Clone)]
pub struct ServeTlsArgs {
    /// PEM file of the service's certificate chain (its names must match the addresses
    /// clients use); needs --tls-key
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM file of the certificate's private key; needs --tls-cert
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Listen beyond loopback without a token, or with a token but without TLS (it would
    /// cross the network in clear); refused unless given (docs/security.md)
    #[arg(long)]
    pub insecure: bool,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(subcommand)]
    pub service: Service,
}

// Parsed once per process: the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Service {
    /// Accept plans (own API and Arrow Flight SQL), schedule their stages onto executors
    Coordinator {
        /// Address to listen on
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:50051")]
        listen: std::net::SocketAddr,
        #[command(flatten)]
        cluster: ClusterArgs,
        #[command(flatten)]
        tls: ServeTlsArgs,
        /// Seconds a task waits for an executor that can run it before its job fails
        #[arg(long, value_name = "SECONDS", default_value_t = 10)]
        placement_timeout: u64,
        /// Seconds without a heartbeat after which an executor is lost
        #[arg(long, value_name = "SECONDS", default_value_t = 5)]
        executor_timeout: u64,
        /// Seconds a finished job's result waits for its client before its pieces are deleted
        #[arg(long, value_name = "SECONDS", default_value_t = 600)]
        result_ttl: u64,
        /// The smallest byte range (MiB) a scan task reads of a Parquet file that several
        /// tasks share; a file smaller than two ranges is read whole by one task
        #[arg(long, value_name = "MIB", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
        scan_range_mib: u64,
    },
    /// Run stage tasks over the tables of a data directory; serve stage outputs with Arrow Flight
    Executor {
        /// The coordinator's address
        #[arg(long, value_name = "URL")]
        coordinator: String,
        /// Address to serve stage outputs on
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
        listen: std::net::SocketAddr,
        /// Address other executors reach this one at (default: http://<listen>, https:// with
        /// --tls-cert)
        #[arg(long, value_name = "URL")]
        advertise: Option<String>,
        /// Directory or object-store prefix (s3://bucket/tpch/) whose files
        /// `<name>.parquet|csv|arrow` (or sub-directories of such files) this executor holds;
        /// executors announcing one prefix share its files, and scans over them are cut into
        /// byte ranges across all of them
        #[arg(long, value_name = "DIR|URL", value_parser = lode_exec::storage::Location::parse)]
        data: lode_exec::storage::Location,
        /// Directory for stage outputs (default: a temporary directory, removed on exit)
        #[arg(long, value_name = "DIR")]
        work: Option<PathBuf>,
        /// Tasks run at once (default: number of cores); they share --memory-limit
        #[arg(long, value_name = "N")]
        slots: Option<usize>,
        /// The most memory this executor's tasks hold at once (4G, 512M, 50%); beyond it
        /// they spill [default: 60% of the machine's or cgroup's memory]
        #[arg(long, value_name = "SIZE", value_parser = lode_exec::memory::parse_size)]
        memory_limit: Option<u64>,
        /// Directory for spill files [default: spill/ in the work directory]
        #[arg(long, value_name = "DIR")]
        spill_dir: Option<PathBuf>,
        /// Grant a capability a job's module asks for: clocks, random (repeatable; none by default)
        #[arg(long = "allow-capability", value_name = "CAPABILITY")]
        allow_capabilities: Vec<lode_wasm::Capability>,
        #[command(flatten)]
        cluster: ClusterArgs,
        #[command(flatten)]
        tls: ServeTlsArgs,
    },
}

#[derive(Debug, Args)]
pub struct CancelArgs {
    /// The job's id, as `lode submit` printed it
    pub job: String,
    /// The coordinator's address
    #[arg(long, value_name = "URL")]
    pub coordinator: String,
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

#[derive(Debug, Args)]
pub struct SubmitArgs {
    /// Plan file, or `-` for standard input
    pub plan: String,
    /// The coordinator's address
    #[arg(long, value_name = "URL")]
    pub coordinator: String,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// A Wasm module file or object-store URL the plan refers to by name: the plan sent
    /// carries it (repeatable)
    #[arg(long = "module", value_name = "WASM", value_parser = lode_exec::storage::Location::parse)]
    pub modules: Vec<lode_exec::storage::Location>,
    /// Partitions per scan/exchange (default: the executors' task slots together)
    #[arg(long, value_name = "N")]
    pub partitions: Option<u32>,
    /// Output format
    /// [default: as -o's extension asks (.csv, .json, .arrow, .parquet; a URL ending in /
    /// gets Parquet), else a table]
    #[arg(long, value_enum)]
    pub format: Option<OutputFormat>,
    /// Write the result to this file or object-store URL instead of standard output (written
    /// whole or not at all; a URL ending in / gets part-00000.<format> under it)
    #[arg(short, long, value_name = "FILE|URL")]
    pub output: Option<String>,
}

/// What Wasm guests may use beyond computation.
#[derive(Debug, Args, Clone, Default)]
pub struct WasmArgs {
    /// Grant a capability a plan's module asks for: clocks, random (repeatable; none by default)
    #[arg(long = "allow-capability", value_name = "CAPABILITY")]
    pub allow_capabilities: Vec<lode_wasm::Capability>,
    /// A Wasm module file or object-store URL to use: SQL may call its functions (and the plan
    /// embeds it); a plan may refer to it by hash without embedding it, or by its name
    /// (repeatable)
    #[arg(long = "module", value_name = "WASM", value_parser = lode_exec::storage::Location::parse)]
    pub modules: Vec<lode_exec::storage::Location>,
}

#[derive(Debug, Args)]
pub struct ModuleArgs {
    #[command(subcommand)]
    pub command: ModuleCommand,
}

#[derive(Debug, Subcommand)]
pub enum ModuleCommand {
    /// Print a module's functions and operators with their Substrait signatures (YAML)
    Inspect {
        /// The component (.wasm)
        wasm: PathBuf,
    },
    /// Add modules to the module store, so that plans may name them by sha256 alone
    /// ($LODE_MODULE_STORE, else ~/.local/share/lode/modules; a URL such as
    /// s3://bucket/modules/ is a store shared by every machine and cluster configured with it)
    Add {
        /// The components (.wasm)
        #[arg(required = true)]
        wasm: Vec<PathBuf>,
    },
    /// List the module store: sha256, size and name of each module
    List,
}

#[derive(Debug, Args)]
pub struct GuestArgs {
    #[command(subcommand)]
    pub command: GuestCommand,
}

#[derive(Debug, Subcommand)]
pub enum GuestCommand {
    /// Write a new guest project in directory NAME: the SDK, one example function with a
    /// test, and a README saying how to build and run it
    New {
        /// The project's name (letters, digits, `-`, `_`); its example function is named
        /// after it (`-` becomes `_`)
        name: String,
        /// The language to write it in
        #[arg(long, value_enum, default_value_t = GuestLang::Rust)]
        lang: GuestLang,
        /// What the example is
        #[arg(long, value_enum, default_value_t = GuestKind::Scalar)]
        kind: GuestKind,
        /// Where to write it (default: ./NAME)
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// Build a guest project into a component, installing the target or toolchain it needs,
    /// and print the .wasm path and its functions
    Build {
        /// The project (default: the current directory)
        dir: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GuestLang {
    Rust,
    Python,
    Js,
    C,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GuestKind {
    /// A function of a row's values
    Scalar,
    /// A mergeable aggregate
    Aggregate,
    /// A table function: a generator of rows
    Table,
    /// An operator over a stream of batches
    Operator,
    /// A program that builds and runs plans
    Driver,
}

/// Where tables come from.
#[derive(Debug, Args, Clone, Default)]
pub struct TableArgs {
    /// Directory or object-store prefix (s3://, gs://, az://, abfss://, http(s)://) whose files
    /// `<name>.parquet|csv|arrow` (or sub-directories of such files) become tables `<name>`
    #[arg(long = "data", value_name = "DIR|URL", value_parser = lode_exec::storage::Location::parse)]
    pub data: Vec<lode_exec::storage::Location>,
    /// Bind a table name to a file, a directory of files, or a Delta or Iceberg table's
    /// directory, local or in an object store (a URL ending in / is a prefix); `#version=N`
    /// after a Delta table reads that version, `#snapshot=ID` after an Iceberg table that
    /// snapshot (repeatable)
    #[arg(long = "table", value_name = "NAME=PATH|URL")]
    pub tables: Vec<String>,
}

/// How much memory a process's queries may hold, and where they spill beyond it.
#[derive(Debug, Args, Clone, Default)]
pub struct MemoryArgs {
    /// The most memory this process's queries hold at once (4G, 512M, 50%); beyond it sorts,
    /// aggregates and joins spill to disk [default: 60% of the machine's or cgroup's memory]
    #[arg(long, value_name = "SIZE", value_parser = lode_exec::memory::parse_size)]
    pub memory_limit: Option<u64>,
    /// Directory for spill files; each engine spills into its own lode-<pid>-<n> under it,
    /// removed when it ends [default: lode-spill in the system's temporary directory]
    #[arg(long, value_name = "DIR")]
    pub spill_dir: Option<PathBuf>,
}

impl MemoryArgs {
    pub fn config(&self) -> lode_exec::MemoryConfig {
        lode_exec::MemoryConfig {
            limit: self.memory_limit,
            spill_dir: self.spill_dir.clone(),
        }
    }
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Plan file, or `-` for standard input
    pub plan: String,
    #[command(flatten)]
    pub tables: TableArgs,
    /// Output format
    /// [default: as -o's extension asks (.csv, .json, .arrow, .parquet; a URL ending in /
    /// gets Parquet), else a table]
    #[arg(long, value_enum)]
    pub format: Option<OutputFormat>,
    /// Write the result to this file or object-store URL instead of standard output (written
    /// whole or not at all; a URL ending in / gets part-00000.<format> under it)
    #[arg(short, long, value_name = "FILE|URL")]
    pub output: Option<String>,
    /// Partitions per scan/exchange (default: number of cores)
    #[arg(long, value_name = "N")]
    pub partitions: Option<usize>,
    /// Run through a cluster of N executors in this process (coordinator and executors on
    /// loopback, the same path as `lode serve`); needs one --data directory
    #[arg(long, value_name = "N")]
    pub executors: Option<usize>,
    #[command(flatten)]
    pub wasm: WasmArgs,
    #[command(flatten)]
    pub memory: MemoryArgs,
    /// Also draw the result as an SVG line chart with its least-squares trend line
    #[arg(long, value_name = "FILE.svg")]
    pub chart: Option<PathBuf>,
    /// The chart's x column (default: the first numeric column)
    #[arg(long, value_name = "COLUMN", requires = "chart")]
    pub chart_x: Option<String>,
    /// The chart's y column (default: the next numeric column)
    #[arg(long, value_name = "COLUMN", requires = "chart")]
    pub chart_y: Option<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum OutputFormat {
    Table,
    Csv,
    Json,
    Arrow,
    Parquet,
}

#[derive(Debug, Args)]
pub struct SqlArgs {
    /// The SQL query
    #[arg(required_unless_present = "file", conflicts_with = "file")]
    pub sql: Option<String>,
    /// Read the SQL query from this file instead
    #[arg(short, long, value_name = "FILE.sql")]
    pub file: Option<PathBuf>,
    #[command(flatten)]
    pub tables: TableArgs,
    #[command(flatten)]
    pub wasm: WasmArgs,
    /// Write DataFusion's plan as the SQL planner made it, before DataFusion's optimizer
    /// (subqueries not decorrelated, filters not pushed down)
    #[arg(long)]
    pub unoptimized: bool,
    /// Name the plan's Wasm modules by sha256 alone instead of embedding them, and add them to
    /// the module store (`lode module list`), where `lode run` and a coordinator find them
    #[arg(long)]
    pub by_hash: bool,
    /// Plan file to write (.json is JSON, anything else binary protobuf); `-` writes JSON to stdout
    #[arg(short, long, value_name = "PLAN")]
    pub output: PathBuf,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// Plan file, or `-` for standard input
    pub plan: String,
    /// Show the stages distributed execution cuts the plan into, and the exchanges between them
    #[arg(long)]
    pub dag: bool,
    /// How to print the stages: indented text, or Graphviz DOT (`| dot -Tsvg > plan.svg`)
    #[arg(long, value_enum, default_value_t = DagFormat::Text, requires = "dag")]
    pub format: DagFormat,
    /// Partitions per scan/exchange, i.e. tasks per stage (default: number of cores)
    #[arg(long, value_name = "N")]
    pub partitions: Option<usize>,
    #[command(flatten)]
    pub tables: TableArgs,
    #[command(flatten)]
    pub wasm: WasmArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DagFormat {
    Text,
    Dot,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Plan files (or `-` for standard input)
    #[arg(required = true)]
    pub plans: Vec<String>,
    /// Report format
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
    /// Treat this diagnostic code as a warning (repeatable)
    #[arg(long, value_name = "CODE")]
    pub allow: Vec<String>,
    /// Treat this diagnostic code as an error (repeatable)
    #[arg(long, value_name = "CODE")]
    pub deny: Vec<String>,
    /// With tables (`--data`, `--table`), also convert each valid plan for execution and bind
    /// its reads to them, as `lode run` would (nothing runs); a failure is error B001
    #[command(flatten)]
    pub tables: TableArgs,
    #[command(flatten)]
    pub wasm: WasmArgs,
}

#[derive(Debug, Args)]
pub struct ConformanceArgs {
    #[command(subcommand)]
    pub command: ConformanceCommand,
}

#[derive(Debug, Subcommand)]
pub enum ConformanceCommand {
    /// Run every case of the spec's function test corpus as a Substrait plan through Lode
    Functions(FunctionsArgs),
    /// Run Lode's plan-level cases (a plan, its tables, the expected rows or diagnostic code)
    Plans(PlansArgs),
    /// Write every case's tables into a directory under the names `plans --target` reads
    /// (`<case>__<table>`), for the executors of the cluster to hold
    Tables(CaseTablesArgs),
    /// Run plans other producers wrote (DuckDB, DataFusion, ...) and check each result against
    /// DuckDB's answer to the SQL: the producer matrix (see docs/conformance.md)
    Producers(ProducersArgs),
}

#[derive(Debug, Args)]
pub struct ProducersArgs {
    /// A directory of producer directories (or one producer directory), each holding per
    /// query `q.json|q.pb` (or `q.error`: the producer wrote none) and `q.expected.csv`;
    /// `tools/producers/*.py` write them
    #[arg(default_value = "conformance/producers")]
    pub dir: PathBuf,
    /// The tables the plans read
    #[command(flatten)]
    pub tables: TableArgs,
    /// Report format: the matrix as text, or every case as JSON
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
}

#[derive(Debug, Args)]
pub struct CaseTablesArgs {
    /// Directory of `*.json` cases
    #[arg(default_value = "conformance/cases")]
    pub dir: PathBuf,
    /// Directory to write the tables into (an executor's --data)
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct PlansArgs {
    /// Directory of `*.json` cases (see conformance/README.md)
    #[arg(default_value = "conformance/cases")]
    pub dir: PathBuf,
    /// Report format
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
    /// Run the cases on the cluster of this coordinator instead of an in-process engine; its
    /// executors must hold the tables `lode conformance tables` writes
    #[arg(long, value_name = "URL")]
    pub target: Option<String>,
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

#[derive(Debug, Args)]
pub struct FunctionsArgs {
    /// The corpus: a directory of `.test` files (the spec's `tests/cases`, e.g.
    /// ../shared/substrait/function-tests); YAMLs in its sibling `extensions/` are read too
    #[arg(long, value_name = "DIR")]
    pub corpus: PathBuf,
    /// Report format
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
    /// Fail (exit 1) when fewer cases pass than this baseline file records
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Write this run's figures to the --baseline file instead of checking against it
    #[arg(long, requires = "baseline")]
    pub update_baseline: bool,
    /// Text report: only the per-group and per-file counts, not every case that did not pass
    #[arg(long)]
    pub summary: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ReportFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct GenArgs {
    #[command(subcommand)]
    pub dataset: Dataset,
}

#[derive(Debug, Subcommand)]
pub enum Dataset {
    /// TPC-H tables as Parquet, one file per table
    Tpch {
        /// Scale factor (1 = about 1 GB of raw data, 6 M lineitem rows)
        #[arg(long, default_value_t = 1.0)]
        sf: f64,
        /// Split every table but region and nation into N files `<table>/part-<i>.parquet`
        /// (to spread across executors' data directories)
        #[arg(long, value_name = "N", default_value_t = 1)]
        parts: usize,
        /// Output directory, or an object-store prefix (s3://bucket/data/) to upload the files to
        #[arg(long, value_name = "DIR|URL", value_parser = lode_exec::storage::Location::parse)]
        out: lode_exec::storage::Location,
    },
    /// Points around cluster centres, `points(x, y)`, as Parquet files in DIR/points (the
    /// k-means driver's table)
    Points {
        /// Number of points
        #[arg(long, default_value_t = 1_000_000)]
        rows: u64,
        /// Number of clusters the points gather in
        #[arg(long, default_value_t = 8)]
        clusters: u64,
        /// Seed: the same seed gives the same points
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Output directory, or an object-store prefix (s3://bucket/data/) to upload the files to
        #[arg(long, value_name = "DIR|URL", value_parser = lode_exec::storage::Location::parse)]
        out: lode_exec::storage::Location,
    },
    /// A synthetic discussion `comments(id, score, text)` as Parquet files in DIR/comments
    Comments {
        /// Number of comments
        #[arg(long, default_value_t = 1_000_000)]
        rows: u64,
        /// Seed: the same seed gives the same comments
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Output directory, or an object-store prefix (s3://bucket/data/) to upload the files to
        #[arg(long, value_name = "DIR|URL", value_parser = lode_exec::storage::Location::parse)]
        out: lode_exec::storage::Location,
    },
}
