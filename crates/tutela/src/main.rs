//! The `tutela` binary: `tutela serve` and the command-line tools.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use tutela::config::{LogFormat, Settings, Sources};
use tutela::scrub_cmd::{self, BuildArgs, ScrubArgs};
use tutela::serve::start;
use tutela::{audit_cmd, lists_cmd};
use tutela_domain::SystemClock;

/// Tutela: the privacy core for contact centres.
#[derive(Debug, Parser)]
#[command(name = "tutela", version, about)]
struct Cli {
    /// TOML configuration file. Settings can also come from `TUTELA_*`
    /// environment variables (`TUTELA_LISTEN`, `TUTELA_HTTP__BODY_LIMIT_BYTES`).
    #[arg(long, env = "TUTELA_CONFIG", global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the HTTP API (embedded SQLite under ./tutela-data by default).
    Serve {
        /// Data directory: database, key file and blobs.
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Address to listen on, for example 127.0.0.1:8080.
        #[arg(long)]
        listen: Option<String>,
    },
    /// Check the configuration and print the effective settings (secrets redacted).
    CheckConfig,
    /// The tamper-evident audit trail: verify, export, list, checkpoint.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Lead lists: import into a running server; purge expired lists.
    Lists {
        #[command(subcommand)]
        command: ListsCommand,
    },
    /// Scrub a CSV list against do-not-call registry files, without a
    /// server: kept rows to --output as they were, dropped rows to --rejects
    /// with the reason (on_registry:<registry> or invalid_number).
    Scrub {
        /// A registry file: a snapshot from `tutela registry build`, or a
        /// text file (one number per line, CSV with a number column, or the
        /// FTC's area-code files). Repeat for several registries.
        #[arg(long, required = true)]
        registry_file: Vec<PathBuf>,
        /// The country whose numbering plan reads national numbers.
        #[arg(long)]
        country: String,
        /// The registry text files are (default: the country's first).
        #[arg(long)]
        registry: Option<String>,
        /// The number column of CSV registry files, when not detected.
        #[arg(long)]
        registry_column: Option<String>,
        /// The list to scrub (CSV with a header; delimiter detected).
        #[arg(long)]
        input: PathBuf,
        /// Where kept rows go.
        #[arg(long)]
        output: PathBuf,
        /// Where dropped rows go, with a `reason` column.
        #[arg(long)]
        rejects: PathBuf,
        /// The list's phone column.
        #[arg(long, default_value = "phone")]
        column: String,
        #[command(flatten)]
        rules: RulesDirArg,
    },
    /// Do-not-call registry snapshots.
    Registry {
        #[command(subcommand)]
        command: RegistryCommand,
    },
    /// The calling rules in force per country (shipped, or overridden).
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
}

/// Where operator overrides of the calling rules are (`CC.toml` files).
#[derive(Debug, clap::Args)]
struct RulesDirArg {
    /// Directory of `CC.toml` files replacing the shipped rules.
    #[arg(long, env = "TUTELA_RULES_DIR")]
    rules_dir: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum RegistryCommand {
    /// Build a compact snapshot (Elias-Fano, about 1 to 1.5 bytes per
    /// number) from a registry text file, or apply a delta to a snapshot.
    Build {
        /// The registry: it_rpo, fr_bloctel, es_robinson, uk_tps, uk_ctps,
        /// us_dnc, internal:global or internal:<controller id>.
        #[arg(long)]
        registry: String,
        /// The country whose numbering plan reads the file.
        #[arg(long)]
        country: String,
        /// The day (or RFC 3339 instant) the file's content was current.
        #[arg(long)]
        as_of: String,
        /// The text file (for a delta: the numbers to add).
        #[arg(long)]
        input: PathBuf,
        /// Apply a delta to this snapshot: --input adds, --remove removes.
        #[arg(long)]
        base: Option<PathBuf>,
        /// Numbers to remove from --base.
        #[arg(long, requires = "base")]
        remove: Option<PathBuf>,
        /// The number column of CSV files, when not detected.
        #[arg(long)]
        column: Option<String>,
        /// The snapshot file to write.
        #[arg(long)]
        output: PathBuf,
        #[command(flatten)]
        rules: RulesDirArg,
    },
    /// Check a snapshot and put it where `tutela serve` loads it (the data
    /// directory's `registries/`); running servers pick it up on
    /// `POST /v1/registries/reload`.
    Install {
        /// The snapshot file (from `tutela registry build`).
        file: PathBuf,
        /// The server's data directory.
        #[arg(long, env = "TUTELA_DATA_DIR")]
        data_dir: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum RulesCommand {
    /// Print a country's rules file and its public holidays this year and next.
    Show {
        /// ISO country code: IT, FR, ES, GB, US (or any with an override).
        country: String,
        #[command(flatten)]
        rules: RulesDirArg,
    },
}

#[derive(Debug, Subcommand)]
enum ListsCommand {
    /// Upload a CSV lead list to a running server with its metadata (name,
    /// provenance, column mapping), showing progress, then print a summary.
    /// All accepted rows or none; running it again is safe.
    Import {
        /// The server's base URL.
        #[arg(long, env = "TUTELA_SERVER", default_value = "http://127.0.0.1:8080")]
        server: String,
        /// Bearer token (a session, or a machine client's `tmc_` token).
        #[arg(long, env = "TUTELA_TOKEN", hide_env_values = true)]
        token: String,
        /// The controller whose list it is.
        #[arg(long)]
        controller: uuid::Uuid,
        /// The declared purpose of the import.
        #[arg(long)]
        purpose: String,
        /// JSON file: name, provenance, mapping, optional expiry_days and default_region.
        #[arg(long)]
        metadata: PathBuf,
        /// Write the rejection report (row, column, reason) to this CSV file.
        #[arg(long)]
        rejects: Option<PathBuf>,
        /// The CSV file.
        file: PathBuf,
    },
    /// Purge lists whose rental has expired: memberships, reports, and people
    /// no list or consent keeps (what `tutela serve` does hourly).
    Purge {
        #[command(flatten)]
        store: StoreArgs,
    },
}

/// Where the audit trail is: the data directory's database, or another.
#[derive(Debug, clap::Args)]
struct StoreArgs {
    /// Data directory (its database, unless `--database` names another, and its keys).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Database URL (`sqlite:PATH` or `postgres://…`).
    #[arg(long)]
    database: Option<String>,
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Check every chain offline: hashes, order, signatures, checkpoints.
    /// Exits 1 naming the first bad event when the trail is broken.
    Verify {
        #[command(flatten)]
        store: StoreArgs,
        /// Verify an exported bundle instead of a database.
        #[arg(long, conflicts_with_all = ["data_dir", "database"])]
        bundle: Option<PathBuf>,
        /// The trusted public key (hex file, as `keys/audit-signing.pub`).
        #[arg(long)]
        public_key: Option<PathBuf>,
    },
    /// Write every event, checkpoint and the public key to a bundle file.
    Export {
        #[command(flatten)]
        store: StoreArgs,
        /// The bundle file (default `tutela-audit-<instant>.jsonl`).
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// List events of one chain as JSON lines (recorded as an operator read).
    Events {
        #[command(flatten)]
        store: StoreArgs,
        /// `platform` or a controller id.
        #[arg(long, default_value = "platform")]
        chain: String,
        /// Events about this data subject id.
        #[arg(long)]
        subject: Option<uuid::Uuid>,
        /// Events by this actor (`user:<uuid>`, `client:<uuid>`, `anonymous`, `operator`).
        #[arg(long)]
        actor: Option<String>,
        /// Events about this object (`kind` or `kind:id`).
        #[arg(long)]
        object: Option<String>,
        /// At or after this instant (RFC 3339).
        #[arg(long)]
        from: Option<String>,
        /// Before this instant (RFC 3339).
        #[arg(long)]
        until: Option<String>,
        /// After this position.
        #[arg(long)]
        after: Option<u64>,
        /// At most this many (1 to 1000).
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// Sign a checkpoint of one chain now.
    Checkpoint {
        #[command(flatten)]
        store: StoreArgs,
        /// `platform` or a controller id.
        #[arg(long, default_value = "platform")]
        chain: String,
    },
}

/// Exit code for configuration errors (as `sysexits.h` EX_CONFIG).
const EXIT_CONFIG: u8 = 78;

fn main() -> ExitCode {
    // A panic message can quote whatever value was at hand, personal data
    // included; report where it happened, never what it said.
    std::panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()));
        tracing::error!(
            location = location.as_deref().unwrap_or("unknown"),
            "panic (message withheld)"
        );
        eprintln!(
            "tutela: internal error at {}",
            location.as_deref().unwrap_or("unknown location")
        );
    }));
    let cli = Cli::parse();
    let mut flags = Vec::new();
    let store_args = match &cli.command {
        Command::Serve { data_dir, listen } => {
            if let Some(dir) = data_dir {
                flags.push(("data_dir", dir.display().to_string()));
            }
            if let Some(listen) = listen {
                flags.push(("listen", listen.clone()));
            }
            None
        }
        Command::Audit { command } => match command {
            AuditCommand::Verify { store, .. }
            | AuditCommand::Export { store, .. }
            | AuditCommand::Events { store, .. }
            | AuditCommand::Checkpoint { store, .. } => Some(store),
        },
        Command::Lists { command } => match command {
            ListsCommand::Purge { store } => Some(store),
            ListsCommand::Import { .. } => None,
        },
        Command::CheckConfig
        | Command::Scrub { .. }
        | Command::Registry { .. }
        | Command::Rules { .. } => None,
    };
    if let Some(store) = store_args {
        if let Some(dir) = &store.data_dir {
            flags.push(("data_dir", dir.display().to_string()));
        }
        if let Some(url) = &store.database {
            flags.push(("database_url", url.clone()));
        }
    }
    let sources = Sources {
        file: cli.config.clone(),
        env: std::env::vars().collect(),
        flags,
    };
    let settings = match Settings::load(&sources) {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("tutela: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    init_tracing(&settings);
    match cli.command {
        Command::CheckConfig => {
            println!("{settings:#?}");
            ExitCode::SUCCESS
        }
        Command::Serve { .. } => run_serve(&settings),
        Command::Audit { command } => run_audit(&settings, command),
        Command::Lists { command } => run_lists(&settings, command),
        Command::Scrub {
            registry_file,
            country,
            registry,
            registry_column,
            input,
            output,
            rejects,
            column,
            rules,
        } => report(scrub_cmd::run_scrub(&ScrubArgs {
            registry_files: registry_file,
            country,
            registry,
            registry_column,
            input,
            output,
            rejects,
            column,
            rules_dir: rules.rules_dir,
        })),
        Command::Registry {
            command:
                RegistryCommand::Build {
                    registry,
                    country,
                    as_of,
                    input,
                    base,
                    remove,
                    column,
                    output,
                    rules,
                },
        } => report(scrub_cmd::run_build(&BuildArgs {
            registry,
            country,
            as_of,
            input,
            base,
            remove,
            column,
            output,
            rules_dir: rules.rules_dir,
        })),
        Command::Registry {
            command: RegistryCommand::Install { file, data_dir },
        } => report(scrub_cmd::run_install(&file, &data_dir)),
        Command::Rules {
            command: RulesCommand::Show { country, rules },
        } => {
            let year = jiff::Zoned::now().year();
            report(scrub_cmd::run_rules_show(
                rules.rules_dir.as_deref(),
                &country,
                year,
            ))
        }
    }
}

/// Prints a command's answer (nothing when it is empty), or its error and
/// exits 1.
fn report(result: Result<String, String>) -> ExitCode {
    match result {
        Ok(text) => {
            if !text.is_empty() {
                println!("{text}");
            }
            ExitCode::SUCCESS
        }
        Err(text) => {
            eprintln!("tutela: {text}");
            ExitCode::FAILURE
        }
    }
}

fn run_lists(settings: &Settings, command: ListsCommand) -> ExitCode {
    let runtime = match runtime() {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    let result = runtime.block_on(async {
        match command {
            ListsCommand::Import {
                server,
                token,
                controller,
                purpose,
                metadata,
                rejects,
                file,
            } => {
                let target = lists_cmd::ImportTarget {
                    server,
                    token,
                    controller,
                    purpose,
                };
                lists_cmd::import(&target, &metadata, &file, rejects.as_deref()).await
            }
            ListsCommand::Purge { .. } => lists_cmd::purge(settings, Arc::new(SystemClock)).await,
        }
    });
    report(result)
}

fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            eprintln!("tutela: cannot start the async runtime: {e}");
            ExitCode::FAILURE
        })
}

fn run_audit(settings: &Settings, command: AuditCommand) -> ExitCode {
    let runtime = match runtime() {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    let clock: Arc<dyn tutela_domain::Clock> = Arc::new(SystemClock);
    let result: Result<String, String> = runtime.block_on(async {
        match command {
            AuditCommand::Verify {
                bundle, public_key, ..
            } => {
                let verdict = match &bundle {
                    Some(bundle) => audit_cmd::verify_bundle(bundle, public_key.as_deref()),
                    None => audit_cmd::verify_database(settings, public_key.as_deref()).await,
                }
                .map_err(|e| e.to_string())?;
                match verdict {
                    audit_cmd::Verdict::Broken(_) => Err(verdict.describe()),
                    audit_cmd::Verdict::Verified { .. } => Ok(verdict.describe()),
                }
            }
            AuditCommand::Export { output, .. } => {
                let output = output.unwrap_or_else(|| audit_cmd::default_bundle_name(clock.now()));
                audit_cmd::export(settings, clock, &output)
                    .await
                    .map_err(|e| e.to_string())
            }
            AuditCommand::Events {
                chain,
                subject,
                actor,
                object,
                from,
                until,
                after,
                limit,
                ..
            } => {
                let chain = audit_cmd::parse_chain(&chain).map_err(|e| format!("--chain {e}"))?;
                let instant = |name: &str, v: Option<String>| {
                    v.map(|v| v.parse::<tutela_domain::Timestamp>())
                        .transpose()
                        .map_err(|_| format!("--{name} must be an RFC 3339 instant"))
                };
                let query = tutela_app::audit::AuditQuery {
                    subject: subject.map(tutela_domain::SubjectId),
                    actor: actor.map(|a| a.parse()).transpose().map_err(
                        |e: tutela_domain::InvalidValue| format!("--actor {}", e.reason),
                    )?,
                    object: object.map(|o| o.parse()).transpose().map_err(
                        |e: tutela_domain::InvalidValue| format!("--object {}", e.reason),
                    )?,
                    from: instant("from", from)?,
                    until: instant("until", until)?,
                    after,
                    limit,
                };
                audit_cmd::events(settings, clock, chain, query)
                    .await
                    .map(|lines| lines.join("\n"))
                    .map_err(|e| e.to_string())
            }
            AuditCommand::Checkpoint { chain, .. } => {
                let chain = audit_cmd::parse_chain(&chain).map_err(|e| format!("--chain {e}"))?;
                audit_cmd::checkpoint(settings, clock, chain)
                    .await
                    .map_err(|e| e.to_string())
            }
        }
    });
    report(result)
}

fn run_serve(settings: &Settings) -> ExitCode {
    let runtime = match runtime() {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    runtime.block_on(async {
        let running = match start(settings, Arc::new(SystemClock), shutdown_signal()).await {
            Ok(running) => running,
            Err(e) => {
                eprintln!("tutela: {e}");
                return if e.is_configuration() {
                    ExitCode::from(EXIT_CONFIG)
                } else {
                    ExitCode::FAILURE
                };
            }
        };
        // The banner (with the setup token) goes to standard output, not to
        // the log: it is meant for the operator's eyes once.
        println!("{}", running.banner());
        match running.finished().await {
            Ok(()) => {
                tracing::info!("stopped");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("tutela: {e}");
                ExitCode::FAILURE
            }
        }
    })
}

/// Completes on SIGTERM (service managers) or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown requested; finishing requests in flight");
}

fn init_tracing(settings: &Settings) {
    let filter = tracing_subscriber::EnvFilter::try_new(&settings.log_level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match settings.log_format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
