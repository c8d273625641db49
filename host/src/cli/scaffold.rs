//! `swim plugins new`: a ready plugin project, buildable outside this
//! repository. A Rust project carries its own copy of `vatswim-plugin-api`
//! and the WIT contract (`vendor/`), as this binary was built with them, and
//! the lock file the gateway was tested with, so it builds with the same
//! versions. A Python (componentize-py) or JavaScript (componentize-js)
//! project carries the WIT contract (`wit/`) and the helpers of its
//! language (`vatswim.py`, `vatswim.js`, from plugin-api). The example
//! bodies are in `host/templates/`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};

/// The plugin worlds (`wit/worlds.wit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum World {
    /// Emits events and patches from each cycle's changes.
    Detector,
    /// Serves `POST /ingest/NAME`: a partner's body into patches.
    IngestAdapter,
    /// Matches WebSocket subscriptions' events.
    SubscriptionFilter,
}

/// The languages a project can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    /// Rust, with `vatswim-plugin-api`.
    Rust,
    /// Python, built with componentize-py.
    Python,
    /// JavaScript, built with componentize-js.
    Js,
}

/// The componentize-py release the Python projects are built and tested
/// with (`.ci/run` installs it).
pub const COMPONENTIZE_PY: &str = "0.25.1";
/// The componentize-js release the JavaScript projects pin.
pub const COMPONENTIZE_JS: &str = "0.23.0";

/// One file of a project: its path in the project and its text.
type File = (PathBuf, String);

/// The workspace's manifest, for the versions the vendored crate uses.
const WORKSPACE_MANIFEST: &str = include_str!("../../../Cargo.toml");
const WORKSPACE_LOCK: &str = include_str!("../../../Cargo.lock");
const API_MANIFEST: &str = include_str!("../../../plugin-api/Cargo.toml");
/// plugin-api's build script: it generates the column table from the WIT.
const API_BUILD: &str = include_str!("../../../plugin-api/build.rs");
/// plugin-api's sources, as `src/NAME`.
const API_SOURCES: &[(&str, &str)] = &[
    ("lib.rs", include_str!("../../../plugin-api/src/lib.rs")),
    (
        "bindings.rs",
        include_str!("../../../plugin-api/src/bindings.rs"),
    ),
    ("body.rs", include_str!("../../../plugin-api/src/body.rs")),
    (
        "columns.rs",
        include_str!("../../../plugin-api/src/columns.rs"),
    ),
    ("geo.rs", include_str!("../../../plugin-api/src/geo.rs")),
    (
        "ground.rs",
        include_str!("../../../plugin-api/src/ground.rs"),
    ),
    (
        "instant.rs",
        include_str!("../../../plugin-api/src/instant.rs"),
    ),
    ("guest.rs", include_str!("../../../plugin-api/src/guest.rs")),
    ("log.rs", include_str!("../../../plugin-api/src/log.rs")),
    ("time.rs", include_str!("../../../plugin-api/src/time.rs")),
];
/// The WIT contract, as `wit/NAME` (plugin-api reads `../wit`).
const WIT: &[(&str, &str)] = &[
    ("types.wit", include_str!("../../../wit/types.wit")),
    ("worlds.wit", include_str!("../../../wit/worlds.wit")),
];

/// Writes a new project `dir/NAME`; the paths written, for the user.
pub fn create(name: &str, world: World, lang: Lang, dir: &Path) -> anyhow::Result<PathBuf> {
    check_name(name)?;
    let root = dir.join(name);
    if root.exists() {
        bail!(
            "{} already exists: choose another name or directory",
            root.display()
        );
    }
    let files = match lang {
        Lang::Rust => rust_project(name, world)?,
        Lang::Python => python_project(name, world),
        Lang::Js => js_project(name, world),
    };
    for (path, text) in files {
        let path = root.join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(root)
}

/// The command that builds a new project, run in its directory.
pub fn build_command(name: &str, world: World, lang: Lang) -> String {
    match lang {
        Lang::Rust => "cargo build --target wasm32-wasip2 --release".to_string(),
        Lang::Python => format!(
            "componentize-py -d wit -w {} componentize app -o {name}.wasm",
            world_name(world)
        ),
        Lang::Js => "npm install && npm run build".to_string(),
    }
}

/// A name that is the crate's, the component file's (`NAME.wasm`), the
/// manifest's and, for an adapter, its route: the same everywhere.
fn check_name(name: &str) -> anyhow::Result<()> {
    let ok = (1..=32).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !ok {
        bail!(
            "{name:?} is not a plugin name: 1-32 lowercase letters, digits and `_`, starting with a letter \
             (it names the crate, NAME.wasm, the manifest and an adapter's route)"
        );
    }
    Ok(())
}

fn rust_project(name: &str, world: World) -> anyhow::Result<Vec<File>> {
    let source = match world {
        World::Detector => include_str!("../../templates/rust/detector.rs"),
        World::IngestAdapter => include_str!("../../templates/rust/ingest_adapter.rs"),
        World::SubscriptionFilter => include_str!("../../templates/rust/subscription_filter.rs"),
    };
    let mut files: Vec<File> = vec![
        ("Cargo.toml".into(), cargo_toml(name)),
        ("Cargo.lock".into(), WORKSPACE_LOCK.to_string()),
        ("src/lib.rs".into(), source.replace("{{NAME}}", name)),
        (format!("{name}.toml").into(), manifest(name, world)),
        ("README.md".into(), readme(name, world)),
        (
            "vendor/vatswim-plugin-api/Cargo.toml".into(),
            vendored_api_manifest()?,
        ),
        (
            "vendor/vatswim-plugin-api/build.rs".into(),
            API_BUILD.to_string(),
        ),
    ];
    for (file, text) in API_SOURCES {
        files.push((
            format!("vendor/vatswim-plugin-api/src/{file}").into(),
            (*text).to_string(),
        ));
    }
    files.extend(wit_files("vendor/wit"));
    Ok(files)
}

/// The WIT contract's files, under `dir` in the project.
fn wit_files(dir: &str) -> impl Iterator<Item = File> + '_ {
    WIT.iter()
        .map(move |(file, text)| (format!("{dir}/{file}").into(), (*text).to_string()))
}

/// The world's name in `wit/worlds.wit`, as the build tools take it.
fn world_name(world: World) -> &'static str {
    match world {
        World::Detector => "detector",
        World::IngestAdapter => "ingest-adapter",
        World::SubscriptionFilter => "subscription-filter",
    }
}

/// The helpers for Python and JavaScript plugins (plugin-api's `python/`
/// and `js/`), copied into each project beside the source.
const PYTHON_HELPERS: &str = include_str!("../../../plugin-api/python/vatswim.py");
const JS_HELPERS: &str = include_str!("../../../plugin-api/js/vatswim.js");

fn js_project(name: &str, world: World) -> Vec<File> {
    let source = match world {
        World::Detector => include_str!("../../templates/js/detector.js"),
        World::IngestAdapter => include_str!("../../templates/js/ingest_adapter.js"),
        World::SubscriptionFilter => include_str!("../../templates/js/subscription_filter.js"),
    };
    let package = format!(
        r#"{{
  "name": "{name}",
  "version": "0.1.0",
  "private": true,
  "type": "module",
  "scripts": {{
    "build": "componentize-js app.js --wit wit --world-name {world} --disable http fetch-event -o {name}.wasm"
  }},
  "devDependencies": {{
    "@bytecodealliance/componentize-js": "{COMPONENTIZE_JS}"
  }}
}}
"#,
        world = world_name(world)
    );
    let mut files: Vec<File> = vec![
        ("app.js".into(), source.replace("{{NAME}}", name)),
        ("vatswim.js".into(), JS_HELPERS.to_string()),
        ("package.json".into(), package),
        (
            format!("{name}.toml").into(),
            interpreted_manifest(name, world),
        ),
        ("README.md".into(), js_readme(name, world)),
    ];
    files.extend(wit_files("wit"));
    files
}

fn js_readme(name: &str, world: World) -> String {
    format!(
        "# {name}\n\nA VATSWIM {world} in JavaScript, made by `swim plugins new`.\n`app.js` holds a working example to change; `vatswim.js` the helpers it\nuses (rows over the cycle's columns, events, patches, filters, item\nerrors); `{name}.toml` is its manifest; `wit/` the gateway's WIT contract.\n\n```sh\nnpm install        # componentize-js {COMPONENTIZE_JS}, once\nnpm run build      # {name}.wasm (HTTP is left out: plugins have no network)\nswim plugins check {name}.wasm --manifest {name}.toml\ncp {name}.toml {name}.wasm ../swim-data/plugins/   # live within a few seconds\n```\n\n`../swim-data/plugins/` is the plugins directory of a `swim demo` run in the\nfolder this project was made in; elsewhere it is `DATA_DIR/plugins/`\n(`--data-dir`, or `--plugins-dir`).\n\nWIT names are camelCase in JavaScript (`altitude-ft` is `altitudeFt`),\nvariants are `{{ tag, val }}`, an absent option is `undefined`, timestamps\nand uids are BigInt (the helpers read timestamps as Numbers of ms);\nthrowing a string from `init`, `parse` or `compile` is the error the host\nreports. The component holds the JavaScript engine (~12 MB); the first\nload compiles it, later loads read the compile cache.\n\n{try_it}\n",
        world = world_name(world),
        try_it = try_it(name, world)
    )
}

fn python_project(name: &str, world: World) -> Vec<File> {
    let source = match world {
        World::Detector => include_str!("../../templates/python/detector.py"),
        World::IngestAdapter => include_str!("../../templates/python/ingest_adapter.py"),
        World::SubscriptionFilter => include_str!("../../templates/python/subscription_filter.py"),
    };
    let mut files: Vec<File> = vec![
        ("app.py".into(), source.replace("{{NAME}}", name)),
        ("vatswim.py".into(), PYTHON_HELPERS.to_string()),
        (
            format!("{name}.toml").into(),
            interpreted_manifest(name, world),
        ),
        ("README.md".into(), python_readme(name, world)),
    ];
    files.extend(wit_files("wit"));
    files
}

/// Python and JavaScript components carry their interpreter (12-18 MB) and
/// are slower per call: wider limits than a Rust plugin's
/// (docs/PLUGINS.md, "Limits by language").
fn interpreted_manifest(name: &str, world: World) -> String {
    let limits = "# The interpreter starts inside the component: allow for it.\ncall_timeout_ms = 500\nmemory_mb = 128\n";
    manifest_with(name, world, limits)
}

fn python_readme(name: &str, world: World) -> String {
    let wit_world = world_name(world);
    format!(
        "# {name}\n\nA VATSWIM {wit_world} in Python, made by `swim plugins new`. `app.py`\nholds a working example to change; `vatswim.py` the helpers it uses (rows\nover the cycle's columns, events, patches, filters, item errors);\n`{name}.toml` is its manifest; `wit/` the gateway's WIT contract.\n\n```sh\npip install componentize-py=={COMPONENTIZE_PY}     # once (in a venv if pip says externally-managed-environment:\n                                                  # python3 -m venv .venv && . .venv/bin/activate)\ncomponentize-py -d wit -w {wit_world} bindings .   # optional: the typed bindings, for your editor\ncomponentize-py -d wit -w {wit_world} componentize app -o {name}.wasm\nswim plugins check {name}.wasm --manifest {name}.toml\ncp {name}.toml {name}.wasm ../swim-data/plugins/   # live within a few seconds\n```\n\n`../swim-data/plugins/` is the plugins directory of a `swim demo` run in the\nfolder this project was made in; elsewhere it is `DATA_DIR/plugins/`\n(`--data-dir`, or `--plugins-dir`).\n\nThe types are the WIT's (`wit_world.imports.types`): `Parsed`, `Patch`,\n`Event`, `FieldValue_TimesOnUtc`, `FlightRef_Callsign`... `host.now()` and\n`host.log(level, message)` are the host's; raising\n`componentize_py_types.Err(\"why\")` from `init`, `parse` or `compile` is the\nerror the host reports. The component is ~18 MB; the first load compiles\nit (seconds), later loads read the compile cache.\n\n{try_it}\n",
        try_it = try_it(name, world)
    )
}

/// A crate of its own (an empty `[workspace]`, so a parent directory's
/// workspace does not claim it), built small for wasm.
fn cargo_toml(name: &str) -> String {
    format!(
        r#"[package]
name = "{name}"
version = "0.1.0"
edition = "2024"
publish = false

[lib]
# cdylib: the component; rlib: unit tests of the logic on the native target.
crate-type = ["cdylib", "rlib"]

[dependencies]
vatswim-plugin-api = {{ path = "vendor/vatswim-plugin-api" }}
serde_json = "1"

[workspace]

[profile.release]
opt-level = "s"
lto = true
codegen-units = 1
panic = "abort"
strip = true
"#
    )
}

/// plugin-api's manifest with the workspace's values written in.
fn vendored_api_manifest() -> anyhow::Result<String> {
    let workspace: toml::Table = WORKSPACE_MANIFEST
        .parse()
        .context("the workspace's Cargo.toml")?;
    let mut api: toml::Table = API_MANIFEST.parse().context("plugin-api's Cargo.toml")?;
    let inherited = |section: &str| -> Option<&toml::Table> {
        workspace.get("workspace")?.get(section)?.as_table()
    };
    for (section, from) in [("package", "package"), ("dependencies", "dependencies")] {
        let Some(table) = api.get_mut(section).and_then(|t| t.as_table_mut()) else {
            continue;
        };
        for (key, value) in table.iter_mut() {
            let is_inherited = value.get("workspace").and_then(toml::Value::as_bool) == Some(true);
            if is_inherited {
                *value = inherited(from)
                    .and_then(|t| t.get(key))
                    .cloned()
                    .with_context(|| format!("the workspace has no {from}.{key} for plugin-api"))?;
            }
        }
    }
    Ok(toml::to_string(&api)?)
}

fn manifest(name: &str, world: World) -> String {
    manifest_with(name, world, "call_timeout_ms = 50\nmemory_mb = 64\n")
}

fn manifest_with(name: &str, world: World, limits: &str) -> String {
    let mut text = format!("name = \"{name}\"\nversion = \"0.1.0\"\n");
    match world {
        World::Detector => text.push_str(
            "kind = \"detector\"\n# The sections it reads (identity, flight_plan, position, progress, times, tmi).\nreads = [\"position\"]\n\n[config]\n# A widebody cruises at about 490 kt in the demo: it fires within a minute.\nlimit_kts = 480\n",
        ),
        World::IngestAdapter => {
            let _ = write!(
                text,
                "kind = \"ingest-adapter\"\n# POST /api/swim/v1/ingest/{name}\nroute = \"{name}\"\n# What it may write (checked against the authority matrix, docs/PLUGINS.md).\nowns = [\"position\"]\nmax_items = 5000\n"
            );
        }
        World::SubscriptionFilter => text.push_str("kind = \"subscription-filter\"\n"),
    }
    let _ = write!(text, "\n[limits]\n{limits}");
    text
}

/// How to see a new plugin work, by world.
fn try_it(name: &str, world: World) -> String {
    match world {
        World::Detector => "Watch for its events: subscribe to `flight.fast` on the WebSocket, or\n`GET /api/swim/v1/events?channels=flight.fast`.".to_string(),
        World::IngestAdapter => format!(
            "Post to it (a key with `--can-write --sources {name}`, or the system key):\n\n```sh\ncurl -H \"X-API-Key: $KEY\" -H 'content-type: text/csv' \\\n  --data-binary 'AAL100,40.64,-73.78,3000' http://127.0.0.1:{port}/api/swim/v1/ingest/{name}\n```",
            port = super::DEFAULT_PORT
        ),
        World::SubscriptionFilter => format!(
            "Subscribe with it:\n\n```json\n{{\"action\":\"subscribe\",\"channels\":[\"flight.positions\"],\"filters\":{{\"plugin\":{{\"name\":\"{name}\",\"params\":{{\"min_ft\":18000}}}}}}}}\n```"
        ),
    }
}

fn readme(name: &str, world: World) -> String {
    let try_it = try_it(name, world);
    format!(
        "# {name}\n\nA VATSWIM plugin, made by `swim plugins new`. `src/lib.rs` holds a working\nexample to change; `{name}.toml` is its manifest.\n\n```sh\nrustup target add wasm32-wasip2          # once\ncargo build --target wasm32-wasip2 --release\nswim plugins check target/wasm32-wasip2/release/{name}.wasm --manifest {name}.toml\ncp {name}.toml target/wasm32-wasip2/release/{name}.wasm ../swim-data/plugins/   # live within a second\n```\n\n`../swim-data/plugins/` is the plugins directory of a `swim demo` run in the\nfolder this project was made in; elsewhere it is `DATA_DIR/plugins/`\n(`--data-dir`, or `--plugins-dir`).\n\n{try_it}\n\n`vendor/` holds the plugin API crate and the WIT contract of the gateway that\nmade this project; `Cargo.lock` the versions it was tested with. A newer\ngateway's `swim plugins new` writes newer ones.\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_python_project_carries_its_helpers_and_the_wit() {
        let files = python_project("csvpy", World::IngestAdapter);
        let app = &files
            .iter()
            .find(|(p, _)| p == Path::new("app.py"))
            .unwrap()
            .1;
        assert!(app.contains("\"csvpy\""), "{app}");
        assert!(files.iter().any(|(p, _)| p == Path::new("wit/worlds.wit")));
        assert!(files.iter().any(|(p, _)| p == Path::new("vatswim.py")));
    }

    #[test]
    fn generated_readmes_copy_to_the_demo_plugins_dir_and_post_to_the_default_port() {
        let readmes = [
            readme("fast", World::IngestAdapter),
            python_readme("fast", World::IngestAdapter),
            js_readme("fast", World::IngestAdapter),
        ];
        for text in readmes {
            assert!(text.contains(" ../swim-data/plugins/   # live"), "{text}");
            assert!(!text.contains(" swim-data/plugins/   #"), "{text}");
            let port = format!(
                "127.0.0.1:{}/api/swim/v1/ingest/fast",
                super::super::DEFAULT_PORT
            );
            assert!(text.contains(&port), "{text}");
        }
        assert!(python_readme("x", World::Detector).contains("python3 -m venv"));
    }

    #[test]
    fn the_detector_template_fires_on_the_demo_fastest_flights() {
        let manifest: toml::Table = manifest("fast", World::Detector).parse().unwrap();
        let limit = manifest["config"]["limit_kts"].as_integer().unwrap();
        // The simulator's widebodies cruise at 490 kt.
        assert!(
            limit < 490,
            "limit_kts {limit}: nothing in the demo crosses it"
        );
    }

    #[test]
    fn names_are_the_same_everywhere_or_refused() {
        assert!(check_name("fast_1").is_ok());
        for bad in ["", "Fast", "1fast", "fast-1", "a/b", &"x".repeat(33)] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_vendored_api_builds_with_the_workspace_versions() {
        let manifest: toml::Table = vendored_api_manifest().unwrap().parse().unwrap();
        let deps = manifest["dependencies"].as_table().unwrap();
        let workspace: toml::Table = WORKSPACE_MANIFEST.parse().unwrap();
        let pinned = workspace["workspace"]["dependencies"].as_table().unwrap();
        for dep in ["wit-bindgen", "serde", "serde_json"] {
            assert_eq!(deps[dep], pinned[dep], "{dep}");
        }
        assert_eq!(manifest["package"]["edition"].as_str(), Some("2024"));
        assert!(!vendored_api_manifest().unwrap().contains("workspace"));
    }

    #[test]
    fn every_api_source_file_is_carried() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../plugin-api/src");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        on_disk.sort();
        let mut carried: Vec<String> = API_SOURCES.iter().map(|(f, _)| f.to_string()).collect();
        carried.sort();
        assert_eq!(carried, on_disk, "add the new file to API_SOURCES");
    }
}
