//! Where a plugin's bytes and manifest come from: the plugins directory,
//! falling back to the built-ins embedded in the binary.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::version::Origin;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/builtin_plugins.rs"));
}

/// A built-in plugin: its name, manifest and component.
pub struct Builtin {
    /// The plugin's name.
    pub name: &'static str,
    /// Its manifest (TOML).
    pub manifest: &'static str,
    /// The compiled component.
    pub wasm: &'static [u8],
}

/// Every plugin embedded in the binary.
pub fn builtins() -> impl Iterator<Item = Builtin> {
    embedded::BUILTINS
        .iter()
        .map(|(name, manifest, wasm)| Builtin {
            name,
            manifest,
            wasm,
        })
}

/// The built-in plugin called `name`.
pub fn builtin(name: &str) -> Option<Builtin> {
    builtins().find(|b| b.name == name)
}

/// Everything needed to load one plugin.
pub struct Source {
    /// The plugin's name (file stem).
    pub name: String,
    /// Where the bytes came from.
    pub origin: Origin,
    /// The component.
    pub bytes: Vec<u8>,
    /// The manifest's text, if there is one.
    pub manifest: Option<String>,
}

/// A plugin name the directory mentions but that cannot be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// A manifest with no component and no built-in of that name.
    #[error("{0}.toml has no {0}.wasm beside it and there is no built-in plugin of that name")]
    ManifestOnly(String),
    /// The file could not be read.
    #[error("cannot read {path}: {error}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        error: std::io::Error,
    },
}

/// Resolves `name`: `NAME.wasm` in `dir` overrides the built-in; `NAME.toml`
/// in `dir` overrides the built-in's manifest. `Ok(None)`: nothing by that
/// name exists any more.
pub fn resolve(dir: Option<&Path>, name: &str) -> Result<Option<Source>, SourceError> {
    let builtin = builtin(name);
    let wasm_path = dir.map(|d| d.join(format!("{name}.wasm")));
    let toml_path = dir.map(|d| d.join(format!("{name}.toml")));
    let manifest = match toml_path.filter(|p| p.exists()) {
        Some(path) => Some(read_text(&path)?),
        None => builtin.as_ref().map(|b| b.manifest.to_string()),
    };
    if let Some(path) = wasm_path.filter(|p| p.exists()) {
        let bytes = std::fs::read(&path).map_err(|error| SourceError::Read {
            path: path.clone(),
            error,
        })?;
        return Ok(Some(Source {
            name: name.into(),
            origin: Origin::File(path),
            bytes,
            manifest,
        }));
    }
    match builtin {
        Some(b) => Ok(Some(Source {
            name: name.into(),
            origin: Origin::Builtin,
            bytes: b.wasm.to_vec(),
            manifest,
        })),
        None if manifest.is_some() => Err(SourceError::ManifestOnly(name.into())),
        None => Ok(None),
    }
}

fn read_text(path: &Path) -> Result<String, SourceError> {
    std::fs::read_to_string(path).map_err(|error| SourceError::Read {
        path: path.to_path_buf(),
        error,
    })
}

/// The plugin name a file in the plugins directory stands for, if any:
/// `NAME.wasm` or `NAME.toml`, not hidden, not a temporary file.
pub fn plugin_name(path: &Path) -> Option<String> {
    let ext = path.extension()?.to_str()?;
    let stem = path.file_stem()?.to_str()?;
    let usable = matches!(ext, "wasm" | "toml") && !stem.starts_with('.') && !stem.is_empty();
    usable.then(|| stem.to_string())
}

/// Every plugin name: the built-ins and whatever the directory holds.
pub fn all_names(dir: Option<&Path>) -> BTreeSet<String> {
    let mut names: BTreeSet<String> = builtins().map(|b| b.name.to_string()).collect();
    let entries = dir.and_then(|d| std::fs::read_dir(d).ok());
    for entry in entries.into_iter().flatten().flatten() {
        names.extend(plugin_name(&entry.path()));
    }
    names
}
