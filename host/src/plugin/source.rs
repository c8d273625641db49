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
    /// The path is not a regular file (a pipe, a device, a directory):
    /// never opened, as reading a pipe would block reloading.
    #[error("{path} is not a regular file ({what}); only files are loaded")]
    NotAFile {
        /// The path.
        path: PathBuf,
        /// What it is instead.
        what: &'static str,
    },
    /// The file is over its size limit: never read whole.
    #[error("{path} is {bytes} bytes; a plugin's {kind} may be at most {limit} bytes")]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size.
        bytes: u64,
        /// "component" or "manifest".
        kind: &'static str,
        /// The limit.
        limit: u64,
    },
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
///
/// Files are checked against `policy` before they are read.
pub fn resolve(
    dir: Option<&Path>,
    name: &str,
    policy: &super::policy::Policy,
) -> Result<Option<Source>, SourceError> {
    let builtin = builtin(name);
    let wasm_path = dir.map(|d| d.join(format!("{name}.wasm")));
    let toml_path = dir.map(|d| d.join(format!("{name}.toml")));
    let manifest = match toml_path.filter(|p| p.exists()) {
        Some(path) => Some(read_text(&path, policy.max_manifest_bytes)?),
        None => builtin.as_ref().map(|b| b.manifest.to_string()),
    };
    if let Some(path) = wasm_path.filter(|p| p.exists()) {
        let bytes = read_bounded(&path, "component", policy.max_component_bytes)?;
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

fn read_text(path: &Path, limit: u64) -> Result<String, SourceError> {
    let bytes = read_bounded(path, "manifest", limit)?;
    String::from_utf8(bytes).map_err(|e| SourceError::Read {
        path: path.to_path_buf(),
        error: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
    })
}

/// Reads a file of the plugins directory: checked to be a regular file
/// under `limit` bytes before it is opened, and read no further than the
/// limit (it may grow meanwhile).
fn read_bounded(path: &Path, kind: &'static str, limit: u64) -> Result<Vec<u8>, SourceError> {
    use std::io::Read as _;
    let read_error = |error| SourceError::Read {
        path: path.to_path_buf(),
        error,
    };
    let meta = std::fs::metadata(path).map_err(read_error)?;
    if !meta.is_file() {
        return Err(SourceError::NotAFile {
            path: path.to_path_buf(),
            what: file_kind(&meta.file_type()),
        });
    }
    let too_large = |bytes| SourceError::TooLarge {
        path: path.to_path_buf(),
        bytes,
        kind,
        limit,
    };
    if meta.len() > limit {
        return Err(too_large(meta.len()));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    std::fs::File::open(path)
        .and_then(|f| f.take(limit + 1).read_to_end(&mut bytes))
        .map_err(read_error)?;
    if bytes.len() as u64 > limit {
        return Err(too_large(bytes.len() as u64));
    }
    Ok(bytes)
}

fn file_kind(t: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt as _;
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a named pipe"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_block_device() || t.is_char_device() {
        "a device"
    } else {
        "not a file"
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Resolves on another thread: a read that blocks fails the test
    /// instead of hanging it.
    fn resolve_within_5_s(dir: &Path, name: &str) -> Result<Option<Source>, SourceError> {
        let (dir, name) = (dir.to_path_buf(), name.to_string());
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || tx.send(resolve(Some(&dir), &name, &Default::default())));
        rx.recv_timeout(std::time::Duration::from_secs(5))
            .expect("resolving did not finish within 5 s (blocked on the file?)")
    }

    #[test]
    fn a_named_pipe_is_refused_without_being_opened() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("departure.wasm");
        let c_path = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
        // SAFETY: a valid, NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
        let err = resolve_within_5_s(tmp.path(), "departure")
            .err()
            .expect("refused");
        assert!(
            err.to_string()
                .contains("is not a regular file (a named pipe)"),
            "{err}"
        );
    }

    #[test]
    fn a_file_over_the_size_limit_is_refused_before_it_is_read() {
        let tmp = tempfile::tempdir().unwrap();
        // Sparse: 3 GB on paper, nothing on disk.
        let file = std::fs::File::create(tmp.path().join("big.wasm")).unwrap();
        file.set_len(3 << 30).unwrap();
        let err = resolve_within_5_s(tmp.path(), "big")
            .err()
            .expect("refused");
        assert!(
            err.to_string()
                .contains("is 3221225472 bytes; a plugin's component may be at most 67108864"),
            "{err}"
        );
        std::fs::write(tmp.path().join("big.toml"), vec![b'#'; 100_000]).unwrap();
        let err = resolve_within_5_s(tmp.path(), "big")
            .err()
            .expect("refused");
        assert!(
            err.to_string()
                .contains("a plugin's manifest may be at most"),
            "{err}"
        );
    }
}
