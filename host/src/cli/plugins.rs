//! `swim plugins check|list|watch`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Subcommand;

use super::Cli;
use crate::plugin::engine::Tier;
use crate::plugin::source::Source;
use crate::plugin::version::{FilterParams, Origin, Version};
use crate::plugin::{EventSink, Loader, PluginStatus, Registry, events, watcher};

/// Plugin subcommands.
#[derive(Debug, Subcommand)]
pub enum PluginsCommand {
    /// Load, validate and smoke-run a plugin file offline; print its
    /// description or exactly what is wrong.
    Check {
        /// The component (`NAME.wasm`).
        file: PathBuf,
        /// Its manifest (default: `NAME.toml` beside the file, if present).
        #[arg(long)]
        manifest: Option<PathBuf>,
    },
    /// The plugins directory and the built-ins, with each plugin's status.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Load every plugin and hot-reload the plugins directory, logging each
    /// load, reload, failure and quarantine, until Ctrl-C.
    Watch,
}

/// Runs a plugins subcommand.
pub fn run(cli: &Cli, cmd: &PluginsCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        PluginsCommand::Check { file, manifest } => check(file, manifest.as_deref()),
        PluginsCommand::List { json } => list(cli, *json),
        PluginsCommand::Watch => watch(cli),
    }
}

fn check(file: &Path, manifest: Option<&Path>) -> anyhow::Result<ExitCode> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let name = file
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("plugin")
        .to_string();
    let manifest_path = manifest.map(Path::to_path_buf).or_else(|| {
        let beside = file.with_extension("toml");
        beside.exists().then_some(beside)
    });
    let manifest_text = match &manifest_path {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?,
        ),
        None => None,
    };
    let source = Source {
        name,
        origin: Origin::File(file.to_path_buf()),
        bytes,
        manifest: manifest_text,
    };
    let loader = Loader::new(None)?;
    match loader.load(&source, FilterParams::default(), Tier::Optimized) {
        Ok(version) => {
            print_check_ok(&version, manifest_path.as_deref());
            Ok(ExitCode::SUCCESS)
        }
        Err(invalid) => {
            println!("error: {}: {invalid}", file.display());
            Ok(ExitCode::FAILURE)
        }
    }
}

fn print_check_ok(version: &Version, manifest: Option<&Path>) {
    let d = &version.description;
    let m = &version.manifest;
    println!("ok: {} {} ({})", d.name, d.version, m.kind);
    println!("  summary:  {}", d.summary);
    match manifest {
        Some(path) => println!("  manifest: {}", path.display()),
        None => println!(
            "  manifest: none (defaults for a {}; add NAME.toml to configure)",
            m.kind
        ),
    }
    let l = &m.limits;
    println!(
        "  limits:   {} ms per call, {} MiB, quarantine after {} faults",
        l.call_timeout_ms, l.memory_mb, l.fault_threshold
    );
    println!("  sha256:   {}", version.digest);
}

fn list(cli: &Cli, json: bool) -> anyhow::Result<ExitCode> {
    let dir = cli.plugins_dir();
    let registry = Registry::open(Some(dir.clone()), Some(cli.cache_dir()), events::log_only())?;
    let statuses = registry.statuses();
    if json {
        println!("{}", serde_json::to_string_pretty(&statuses)?);
    } else {
        println!("plugins dir: {}", dir.display());
        print_table(&statuses);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_table(statuses: &[PluginStatus]) {
    println!(
        "{:<12} {:<20} {:<8} {:<12} origin",
        "name", "kind", "version", "status"
    );
    for s in statuses {
        let kind = s.kind.map_or("-".to_string(), |k| k.to_string());
        let status = serde_json::to_value(s.status)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default();
        println!(
            "{:<12} {:<20} {:<8} {:<12} {}",
            s.name,
            kind,
            s.version.as_deref().unwrap_or("-"),
            status,
            s.origin.as_deref().unwrap_or("-")
        );
        if let Some(error) = &s.last_error {
            println!("{:<12} error: {error}", "");
        }
    }
}

fn watch(cli: &Cli) -> anyhow::Result<ExitCode> {
    let sink: EventSink = Arc::new(|event| {
        println!(
            "system.plugin {}",
            serde_json::to_string(&event).unwrap_or_default()
        );
    });
    let registry = Registry::open(Some(cli.plugins_dir()), Some(cli.cache_dir()), sink)?;
    let _watch = watcher::watch(registry)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    // Ctrl-C or SIGTERM, like every other long-running mode.
    runtime.block_on(crate::server::shutdown_signal());
    Ok(ExitCode::SUCCESS)
}
