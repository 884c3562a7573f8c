//! The `tutela` binary: `tutela serve` and the command-line tools.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use tutela::config::{LogFormat, Settings, Sources};
use tutela::serve::start;
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
    if let Command::Serve { data_dir, listen } = &cli.command {
        if let Some(dir) = data_dir {
            flags.push(("data_dir", dir.display().to_string()));
        }
        if let Some(listen) = listen {
            flags.push(("listen", listen.clone()));
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
    }
}

fn run_serve(settings: &Settings) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("tutela: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
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
