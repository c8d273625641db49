//! Builds Python and JavaScript plugins the way their READMEs say, with the
//! pinned tools (`.ci/run` installs them).

use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository's root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// An example from `plugins/examples/NAME` as `swim plugins new` lays a
/// project out: its files, the WIT contract in `wit/` and its language's
/// helpers beside the source.
pub fn example_project(name: &str, into: &Path) -> PathBuf {
    let from = repo().join("plugins/examples").join(name);
    let project = into.join(name);
    std::fs::create_dir_all(project.join("wit")).unwrap();
    for entry in std::fs::read_dir(&from).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() && path.extension().is_none_or(|e| e != "wasm") {
            std::fs::copy(&path, project.join(path.file_name().unwrap())).unwrap();
        }
    }
    for wit in ["types.wit", "worlds.wit"] {
        std::fs::copy(repo().join("wit").join(wit), project.join("wit").join(wit)).unwrap();
    }
    let helpers = if project.join("app.py").exists() {
        "plugin-api/python/vatswim.py"
    } else {
        "plugin-api/js/vatswim.js"
    };
    let helper = repo().join(helpers);
    std::fs::copy(&helper, project.join(helper.file_name().unwrap())).unwrap();
    project
}

/// `componentize-py -d wit -w WORLD componentize app -o NAME.wasm` in `project`.
pub fn python(project: &Path, world: &str, name: &str) -> PathBuf {
    let tool = Command::new("componentize-py").arg("--version").output();
    let version = tool
        .as_ref()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    assert!(
        version.ends_with("0.25.1"),
        "componentize-py 0.25.1 is needed (found {version:?}): \
         pip install componentize-py==0.25.1 (.ci/run installs it)"
    );
    let wasm = format!("{name}.wasm");
    run(
        project,
        "componentize-py",
        &["-d", "wit", "-w", world, "componentize", "app", "-o", &wasm],
    );
    project.join(wasm)
}

/// `npm install && npm run build` in `project`; the component its
/// package.json names (`NAME.wasm`).
pub fn javascript(project: &Path, name: &str) -> PathBuf {
    let npm = Command::new("npm").arg("--version").output();
    assert!(
        npm.as_ref().is_ok_and(|o| o.status.success()),
        "npm is needed to build JavaScript plugins (.ci/run installs nodejs and npm)"
    );
    run(project, "npm", &["install", "--no-audit", "--no-fund"]);
    run(project, "npm", &["run", "build"]);
    project.join(format!("{name}.wasm"))
}

fn run(dir: &Path, program: &str, args: &[&str]) {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?} in {}:\n{}{}",
        dir.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Copies a built plugin and its manifest (with `edit`, a `(from, to)`
/// replacement, applied) into a gateway's plugins dir, the manifest first,
/// so it loads with its route and rights.
pub fn drop_in(
    plugins: &Path,
    project: &Path,
    wasm: &Path,
    name: &str,
    edit: Option<(&str, &str)>,
) {
    std::fs::create_dir_all(plugins).unwrap();
    let mut manifest = std::fs::read_to_string(project.join(format!("{name}.toml"))).unwrap();
    if let Some((from, to)) = edit {
        assert!(manifest.contains(from), "{manifest}");
        manifest = manifest.replace(from, to);
    }
    std::fs::write(plugins.join(format!("{name}.toml")), manifest).unwrap();
    std::fs::copy(wasm, plugins.join(format!("{name}.wasm"))).unwrap();
}
