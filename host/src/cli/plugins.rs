//! `swim plugins new|check|list|watch|push`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Subcommand;

use super::{DataDir, PluginsDir};
use crate::plugin::engine::Tier;
use crate::plugin::source::Source;
use crate::plugin::version::{FilterParams, Origin, Version};
use crate::plugin::{EventSink, Loader, PluginStatus, Registry, events, watcher};

/// Plugin subcommands.
#[derive(Debug, Subcommand)]
pub enum PluginsCommand {
    /// Write a new plugin project: source with a working example, its
    /// manifest, and a README with the build command.
    New {
        /// The plugin's name: the crate's, `NAME.wasm`'s, the manifest's and
        /// an adapter's route (lowercase letters, digits, `_`).
        name: String,
        /// What kind of plugin.
        #[arg(long, value_enum)]
        world: super::scaffold::World,
        /// The language.
        #[arg(long, value_enum, default_value = "rust")]
        lang: super::scaffold::Lang,
        /// Where to create the project directory `NAME`.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
    },
    /// Load, validate and smoke-run a plugin file offline; print its
    /// description or exactly what is wrong.
    Check {
        /// The component (`NAME.wasm`).
        file: PathBuf,
        /// Its manifest (default: `NAME.toml` beside the file, if present).
        #[arg(long)]
        manifest: Option<PathBuf>,
        /// Also put its optimized build in the compile cache of `--data-dir`:
        /// a gateway on that data dir then makes it live in milliseconds
        /// when it is dropped in (a Python or JavaScript component otherwise
        /// compiles for seconds first).
        #[arg(long)]
        precompile: bool,
    },
    /// The plugins directory and the built-ins, with each plugin's status;
    /// with `--cluster`, the plugins pushed to the cluster and their status
    /// on every running instance.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        cluster: ClusterTarget,
    },
    /// Check a plugin, then push it to every instance of a cluster (each
    /// hot-loads it into its plugins dir within about a second).
    Push {
        /// The component (`NAME.wasm`).
        file: PathBuf,
        /// Its manifest (default: `NAME.toml` beside the file, if present).
        #[arg(long)]
        manifest: Option<PathBuf>,
        #[command(flatten)]
        cluster: ClusterTarget,
    },
    /// Load every plugin and hot-reload the plugins directory, logging each
    /// load, reload, failure and quarantine, until Ctrl-C.
    Watch,
}

/// Which cluster (docs/CLUSTER.md).
#[derive(Debug, clap::Args)]
pub struct ClusterTarget {
    /// The cluster's NATS server, e.g. `nats://127.0.0.1:4222`.
    #[arg(long, env = "SWIM_CLUSTER", value_name = "NATS_URL")]
    cluster: Option<String>,
    /// The cluster's change feed stream.
    #[arg(long, env = "SWIM_STREAM", default_value = crate::cluster::DEFAULT_STREAM)]
    stream: String,
}

/// Runs a plugins subcommand.
pub fn run(data: &DataDir, plugins: &PluginsDir, cmd: &PluginsCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        PluginsCommand::New {
            name,
            world,
            lang,
            dir,
        } => {
            let root = super::scaffold::create(name, *world, *lang, dir)?;
            println!("created {}; next:", root.display());
            let build = super::scaffold::build_command(name, *world, *lang);
            println!("  cd {} && {build}", root.display());
            println!("  (the project's README.md has the check and drop-in commands)");
            Ok(ExitCode::SUCCESS)
        }
        PluginsCommand::Check {
            file,
            manifest,
            precompile,
        } => check(
            file,
            manifest.as_deref(),
            precompile.then(|| data.cache_dir()),
        ),
        PluginsCommand::List { json, cluster } => match &cluster.cluster {
            Some(nats) => list_cluster(nats, &cluster.stream, *json),
            None => list(&plugins.resolve(data), &data.cache_dir(), *json),
        },
        PluginsCommand::Push {
            file,
            manifest,
            cluster,
        } => {
            let nats = cluster.cluster.as_deref().context(
                "push needs the cluster: --cluster NATS_URL (or SWIM_CLUSTER); \
                 a single gateway takes plugins dropped into its plugins dir",
            )?;
            push(file, manifest.as_deref(), nats, &cluster.stream)
        }
        PluginsCommand::Watch => watch(plugins.resolve(data), data.cache_dir()),
    }
}

/// A plugin file, its name and its manifest's text, read for checking.
fn read_plugin(file: &Path, manifest: Option<&Path>) -> anyhow::Result<(Source, Option<PathBuf>)> {
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
    Ok((source, manifest_path))
}

fn check(file: &Path, manifest: Option<&Path>, cache: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let (source, manifest_path) = read_plugin(file, manifest)?;
    let loader = Loader::new(cache.clone())?;
    match loader.load(&source, FilterParams::default(), Tier::Optimized) {
        Ok(version) => {
            print_check_ok(&version, manifest_path.as_deref());
            if let Some(dir) = cache {
                println!(
                    "  compiled into {} (live in milliseconds when dropped in)",
                    dir.display()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(invalid) => {
            println!("error: {}: {invalid}", file.display());
            Ok(ExitCode::FAILURE)
        }
    }
}

/// Checks the plugin as `check` does; pushes it only if it loads.
fn push(
    file: &Path,
    manifest: Option<&Path>,
    nats: &str,
    stream: &str,
) -> anyhow::Result<ExitCode> {
    let (source, manifest_path) = read_plugin(file, manifest)?;
    if let Err(invalid) = Loader::new(None)?.load(&source, FilterParams::default(), Tier::Optimized)
    {
        println!("error: {}: {invalid}; not pushed", file.display());
        return Ok(ExitCode::FAILURE);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let client = crate::cluster::connect(nats, "plugins push").await?;
        let js = async_nats::jetstream::new(client);
        // An existing store keeps its replicas; a new one gets one copy.
        let store = crate::cluster::plugins::store(&js, stream, 1).await?;
        crate::cluster::plugins::push(
            &store,
            &source.name,
            &source.bytes,
            source.manifest.as_deref(),
        )
        .await
    })?;
    println!(
        "pushed {} ({} bytes{}) to {}; every instance loads it within a few seconds",
        source.name,
        source.bytes.len(),
        manifest_path.map_or(String::new(), |m| format!(", manifest {}", m.display())),
        crate::cluster::plugins::bucket(stream)
    );
    Ok(ExitCode::SUCCESS)
}

/// Each running instance's plugins, as they report them.
fn list_cluster(nats: &str, stream: &str, json: bool) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let by_instance = runtime.block_on(async {
        let client = crate::cluster::connect(nats, "plugins list").await?;
        crate::cluster::plugins::listen_status(&client, stream, std::time::Duration::from_secs(3))
            .await
    })?;
    if json {
        println!("{}", serde_json::to_string_pretty(&by_instance)?);
        return Ok(ExitCode::SUCCESS);
    }
    if by_instance.is_empty() {
        println!("no instance of stream {stream} reported within 3 s");
    }
    for (instance, plugins) in by_instance {
        println!("instance {instance}:");
        for p in plugins {
            let error = p
                .last_error
                .map(|e| format!("  error: {e}"))
                .unwrap_or_default();
            println!(
                "  {:<12} {:<8} {:<12}{error}",
                p.name,
                p.version.as_deref().unwrap_or("-"),
                p.status
            );
        }
    }
    Ok(ExitCode::SUCCESS)
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
    // After `init` and the smoke test: the floor of what an instance holds.
    println!(
        "  memory:   {:.1} MiB per instance after init",
        version.memory_bytes() as f64 / 1_048_576.0
    );
    println!("  sha256:   {}", version.digest);
}

fn list(dir: &Path, cache: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let registry = Registry::open(
        Some(dir.to_path_buf()),
        Some(cache.to_path_buf()),
        events::log_only(),
    )?;
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
        "{:<12} {:<20} {:<8} {:<12} {:>8} origin",
        "name", "kind", "version", "status", "memory"
    );
    for s in statuses {
        let kind = s.kind.map_or("-".to_string(), |k| k.to_string());
        let status = serde_json::to_value(s.status)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default();
        let memory = s
            .memory_mib
            .map_or("-".to_string(), |mib| format!("{mib:.1} MiB"));
        println!(
            "{:<12} {:<20} {:<8} {:<12} {memory:>8} {}",
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

fn watch(dir: PathBuf, cache: PathBuf) -> anyhow::Result<ExitCode> {
    let sink: EventSink = Arc::new(|event| {
        println!(
            "system.plugin {}",
            serde_json::to_string(&event).unwrap_or_default()
        );
    });
    let _watch = watcher::open_watched(dir, Some(cache), sink)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    // Ctrl-C or SIGTERM, like every other long-running mode.
    runtime.block_on(crate::server::shutdown_signal());
    Ok(ExitCode::SUCCESS)
}
