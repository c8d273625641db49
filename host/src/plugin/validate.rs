//! Checks a plugin file before it may replace anything, with errors that
//! say exactly what is wrong: not wasm, a core module, an unknown or wrong
//! world, another version of the WIT package, a failing `init`, a trap in
//! the smoke call.

use wasmtime::Engine;
use wasmtime::component::Component;

use super::columns;
use super::fault::Fault;
use super::manifest::Kind;
use super::version::{Version, WorldInstance};
use crate::wit::{self, Context, PACKAGE, PACKAGE_VERSION};

const WASM_MAGIC: &[u8; 4] = b"\0asm";
const CORE_VERSION: [u8; 4] = [1, 0, 0, 0];

/// Why a plugin was refused.
#[derive(Debug, thiserror::Error)]
pub enum Invalid {
    /// Not a WebAssembly binary at all.
    #[error("not a WebAssembly file (it does not start with \\0asm); a plugin is a wasm component")]
    NotWasm,
    /// A core module rather than a component.
    #[error(
        "a core WebAssembly module, not a component: build the plugin with `cargo build --target wasm32-wasip2`"
    )]
    CoreModule,
    /// wasmtime could not compile it.
    #[error("not a valid component: {0}")]
    Compile(String),
    /// Built against another version of the WIT package.
    #[error(
        "built against {PACKAGE}@{found}; this host provides {PACKAGE}@{PACKAGE_VERSION}: rebuild it against plugin-api {PACKAGE_VERSION}"
    )]
    PackageVersion {
        /// The version the plugin imports.
        found: String,
    },
    /// Exports none of the worlds.
    #[error(
        "exports none of the {PACKAGE} worlds (detector, ingest-adapter, subscription-filter); its exports: {exports}"
    )]
    NoWorld {
        /// What it does export.
        exports: String,
    },
    /// A world other than the manifest's kind.
    #[error("implements the {found} world, but its manifest says kind = \"{expected}\"")]
    WrongWorld {
        /// The world the component implements.
        found: Kind,
        /// The manifest's kind.
        expected: Kind,
    },
    /// Imports something the host does not offer (e.g. wasi:http).
    #[error("imports something the host does not provide: {0}")]
    Imports(String),
    /// `describe` or `init` failed.
    #[error("{0}")]
    Start(Fault),
    /// The call on empty input failed.
    #[error("the smoke call (`{call}` on empty input) failed: {fault}")]
    Smoke {
        /// Which export.
        call: &'static str,
        /// How it failed.
        fault: Fault,
    },
    /// The manifest could not be used.
    #[error(transparent)]
    Manifest(#[from] super::manifest::ManifestError),
}

/// Refuses bytes that are not a component before compiling them.
pub fn check_header(bytes: &[u8]) -> Result<(), Invalid> {
    if bytes.len() < 8 || &bytes[..4] != WASM_MAGIC {
        return Err(Invalid::NotWasm);
    }
    if bytes[4..8] == CORE_VERSION {
        return Err(Invalid::CoreModule);
    }
    Ok(())
}

/// Which world a compiled component implements, from its exports, after
/// checking the WIT package version it was built against.
pub fn world_of(engine: &Engine, component: &Component) -> Result<Kind, Invalid> {
    let ty = component.component_type();
    check_package_version(ty.imports(engine).map(|(name, _)| name))?;
    let exports: Vec<&str> = ty.exports(engine).map(|(name, _)| name).collect();
    let has = |name: &str| exports.contains(&name);
    match (has("detect"), has("parse"), has("match-batch")) {
        (true, false, false) => Ok(Kind::Detector),
        (false, true, false) => Ok(Kind::IngestAdapter),
        (false, false, true) => Ok(Kind::SubscriptionFilter),
        _ => Err(Invalid::NoWorld {
            exports: if exports.is_empty() {
                "none".into()
            } else {
                exports.join(", ")
            },
        }),
    }
}

fn check_package_version<'a>(imports: impl Iterator<Item = &'a str>) -> Result<(), Invalid> {
    let prefix = format!("{PACKAGE}/");
    for name in imports.filter(|n| n.starts_with(&prefix)) {
        let found = name.split_once('@').map_or("(none)", |(_, v)| v);
        if found != PACKAGE_VERSION {
            return Err(Invalid::PackageVersion {
                found: found.to_string(),
            });
        }
    }
    Ok(())
}

/// Starts a version (`describe`, `init`) and runs its world's call on empty
/// input; returns the plugin's description.
pub fn smoke_test(version: &Version) -> Result<wit::Description, Invalid> {
    let description = version.describe().map_err(Invalid::Start)?;
    let call = smoke_call_name(version.kind());
    version
        .call(|store, instance| match instance {
            WorldInstance::Detector(p) => p
                .call_detect(store, &Context::empty(0), &columns::no_changes())
                .map(drop),
            // An adapter may refuse an empty body: that is an answer, not a fault.
            WorldInstance::IngestAdapter(p) => {
                p.call_parse(store, "application/json", b"").map(drop)
            }
            WorldInstance::SubscriptionFilter(p) => {
                p.call_match_batch(store, &columns::subjects([])).map(drop)
            }
        })
        .map_err(|fault| Invalid::Smoke { call, fault })?;
    Ok(description)
}

fn smoke_call_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Detector => "detect",
        Kind::IngestAdapter => "parse",
        Kind::SubscriptionFilter => "match-batch",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_told_apart() {
        assert!(matches!(
            check_header(b"PK\x03\x04zipfile"),
            Err(Invalid::NotWasm)
        ));
        assert!(matches!(
            check_header(b"\0asm\x01\0\0\0"),
            Err(Invalid::CoreModule)
        ));
        assert!(check_header(b"\0asm\x0d\0\x01\0").is_ok());
    }

    #[test]
    fn another_package_version_is_named() {
        let err = check_package_version(
            ["wasi:cli/stderr@0.2.0", "vatswim:plugin/host@0.2.0"].into_iter(),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains(
                "built against vatswim:plugin@0.2.0; this host provides vatswim:plugin@0.1.0"
            ),
            "{err}"
        );
        assert!(check_package_version(["vatswim:plugin/host@0.1.0"].into_iter()).is_ok());
    }
}
