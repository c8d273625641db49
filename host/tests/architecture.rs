//! The layout docs/ARCHITECTURE.md describes holds: the host's top-level
//! modules depend on each other one way (no import cycles), so data flows
//! source -> store -> pipeline -> feed -> fan-out and a newcomer can read
//! any module knowing only those below it. Inside a module the files do
//! too: no two files use each other, and a file does not reach back into
//! the `mod.rs` that uses it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`.
fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

/// The top-level modules each top-level module names (`crate::x`),
/// outside its unit tests.
fn dependencies() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut modules: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    for file in sources(&src) {
        let relative = file.strip_prefix(&src).unwrap();
        let top = relative.components().next().unwrap().as_os_str();
        let top = top.to_string_lossy().trim_end_matches(".rs").to_string();
        if top != "lib" && top != "main" {
            modules.entry(top).or_default().push(file);
        }
    }
    let names: BTreeSet<String> = modules.keys().cloned().collect();
    modules
        .iter()
        .map(|(module, files)| {
            let mut uses = BTreeSet::new();
            for file in files {
                let text = std::fs::read_to_string(file).unwrap();
                let code = text.split("#[cfg(test)]").next().unwrap_or_default();
                for (at, _) in code.match_indices("crate::") {
                    let rest = &code[at + "crate::".len()..];
                    let name: String = rest
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    if names.contains(&name) && name != *module {
                        uses.insert(name);
                    }
                }
            }
            (module.clone(), uses)
        })
        .collect()
}

/// A cycle through `start`, if there is one.
fn cycle_from(start: &str, deps: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn walk(
        at: &str,
        start: &str,
        deps: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        seen: &mut BTreeSet<String>,
    ) -> bool {
        for next in deps.get(at).into_iter().flatten() {
            if next == start {
                return true;
            }
            if seen.insert(next.clone()) {
                path.push(next.clone());
                if walk(next, start, deps, path, seen) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }
    let mut path = vec![start.to_string()];
    walk(start, start, deps, &mut path, &mut BTreeSet::new()).then_some(path)
}

#[test]
fn top_level_modules_have_no_import_cycles() {
    let deps = dependencies();
    assert!(deps.len() > 10, "found the modules: {deps:?}");
    let cycles: Vec<String> = deps
        .keys()
        .filter_map(|m| cycle_from(m, &deps))
        .map(|path| format!("{} -> {}", path.join(" -> "), path[0]))
        .collect();
    assert!(cycles.is_empty(), "import cycles: {cycles:#?}");
}

#[test]
fn the_checker_sees_a_cycle_when_there_is_one() {
    let mut deps = dependencies();
    deps.get_mut("feed").unwrap().insert("fanout".into());
    assert!(
        cycle_from("feed", &deps).is_some(),
        "fanout already uses feed"
    );
}

/// The modules of docs/ARCHITECTURE.md's "Where things are" table, row by
/// row (a row may name two, as "`cli/`, `bench/`").
fn documented_order() -> Vec<Vec<String>> {
    let doc = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/ARCHITECTURE.md");
    let text = std::fs::read_to_string(doc).unwrap();
    let table = text
        .split("## Where things are")
        .nth(1)
        .expect("the table's heading")
        .split("\n\n")
        .find(|block| block.starts_with("| module |"))
        .expect("the table");
    table
        .lines()
        .skip(2)
        .map(|row| {
            let first = row.split('|').nth(1).unwrap_or_default();
            first
                .split('`')
                .skip(1)
                .step_by(2)
                .map(|name| {
                    name.trim_end_matches('/')
                        .trim_end_matches(".rs")
                        .to_string()
                })
                .collect()
        })
        .collect()
}

/// Whether each module uses only modules on its own row or above it.
fn out_of_order(rows: &[Vec<String>], deps: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let row_of: BTreeMap<&str, usize> = rows
        .iter()
        .enumerate()
        .flat_map(|(i, row)| row.iter().map(move |m| (m.as_str(), i)))
        .collect();
    let mut wrong: Vec<String> = deps
        .keys()
        .filter(|m| !row_of.contains_key(m.as_str()))
        .map(|m| format!("{m} is not in the table"))
        .collect();
    for (module, uses) in deps {
        let Some(&at) = row_of.get(module.as_str()) else {
            continue;
        };
        for used in uses {
            if row_of.get(used.as_str()).is_some_and(|&row| row > at) {
                wrong.push(format!("{module} uses {used}, listed after it"));
            }
        }
    }
    wrong
}

#[test]
fn the_architecture_table_lists_every_module_after_those_it_uses() {
    let rows = documented_order();
    assert!(rows.len() > 10, "read the table: {rows:?}");
    let wrong = out_of_order(&rows, &dependencies());
    assert!(wrong.is_empty(), "docs/ARCHITECTURE.md's table: {wrong:#?}");
}

#[test]
fn the_order_check_sees_a_module_listed_before_one_it_uses() {
    let mut rows = documented_order();
    let at =
        |name: &str, rows: &[Vec<String>]| rows.iter().position(|r| r.iter().any(|m| m == name));
    let (feed, pipeline) = (at("feed", &rows).unwrap(), at("pipeline", &rows).unwrap());
    rows.swap(feed, pipeline);
    let wrong = out_of_order(&rows, &dependencies());
    assert!(
        wrong
            .iter()
            .any(|w| w == "pipeline uses feed, listed after it"),
        "{wrong:?}"
    );
}

/// What a module's own code is: its text before its unit tests.
fn code_of(file: &Path) -> String {
    let text = std::fs::read_to_string(file).unwrap();
    text.split("#[cfg(test)]")
        .next()
        .unwrap_or_default()
        .to_string()
}

/// The identifier at the start of `text`.
fn ident(text: &str) -> &str {
    let end = text
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    &text[..end]
}

/// The first names of the paths in a `{a, b::c, d as e}` list (`text`
/// starts after the brace).
fn braced_names(text: &str) -> Vec<&str> {
    let mut names = Vec::new();
    let (mut depth, mut start) = (0, true);
    for (i, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' if depth == 0 => start = true,
            c if start && (c.is_alphanumeric() || c == '_') => {
                names.push(ident(&text[i..]));
                start = false;
            }
            _ => {}
        }
    }
    names
}

/// The names after each `prefix` in `code`: `prefix::name` or each of
/// `prefix::{a, b}`.
fn names_after<'a>(code: &'a str, prefix: &str) -> Vec<&'a str> {
    let mut names = Vec::new();
    for (at, _) in code.match_indices(prefix) {
        let before = code[..at].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        let rest = &code[at + prefix.len()..];
        match rest.strip_prefix('{') {
            Some(list) => names.extend(braced_names(list)),
            None => names.push(ident(rest)),
        }
    }
    names
}

/// Whether a line of `mod.rs` declares or re-exports `child` rather than
/// using it.
fn declares(line: &str, child: &str) -> bool {
    let line = line.trim_start();
    let line = line
        .strip_prefix("pub(crate) ")
        .or_else(|| line.strip_prefix("pub(super) "))
        .or_else(|| line.strip_prefix("pub "))
        .unwrap_or(line);
    line == format!("mod {child};")
        || line.starts_with(&format!("use {child}::"))
        || line.starts_with(&format!("use self::{child}::"))
}

/// The files of the module in `dir` (`mod` for its mod.rs, each other file
/// or sub-module by name) and the ones each uses. A name `mod.rs`
/// re-exports counts as the file it comes from.
fn file_dependencies(src: &Path, dir: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut files: BTreeMap<String, PathBuf> = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() && path.join("mod.rs").exists() {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            files.insert(name, path.join("mod.rs"));
        } else if path.extension().is_some_and(|e| e == "rs") {
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            files.insert(name, path);
        }
    }
    let module = dir
        .strip_prefix(src)
        .unwrap()
        .to_string_lossy()
        .replace('/', "::");
    let mod_code = code_of(&files["mod"]);
    // `pub use child::{A, B}` in mod.rs: A and B are child's.
    let mut reexported: BTreeMap<&str, &str> = BTreeMap::new();
    for line in mod_code.lines().filter(|l| l.contains("use ")) {
        for child in files.keys().filter(|c| declares(line, c)) {
            let after = &line[line.find(&format!("{child}::")).unwrap() + child.len() + 2..];
            let names = match after.strip_prefix('{') {
                Some(list) => braced_names(list),
                None => vec![ident(after)],
            };
            for name in names {
                reexported.insert(name, child.as_str());
            }
        }
    }
    let owner = |name: &str| -> String {
        if files.contains_key(name) {
            name.to_string()
        } else {
            reexported.get(name).map_or("mod", |c| c).to_string()
        }
    };
    let mut deps = BTreeMap::new();
    for (name, path) in &files {
        let code = code_of(path);
        let mut uses = BTreeSet::new();
        if name == "mod" {
            for child in files.keys().filter(|c| *c != "mod") {
                let used = code
                    .lines()
                    .filter(|l| !declares(l, child))
                    .any(|l| !names_after(l, &format!("{child}::")).is_empty());
                if used {
                    uses.insert(child.clone());
                }
            }
        } else {
            for prefix in ["super::".to_string(), format!("crate::{module}::")] {
                uses.extend(names_after(&code, &prefix).into_iter().map(owner));
            }
        }
        uses.remove(name);
        deps.insert(name.clone(), uses);
    }
    deps
}

/// Every directory under `dir` that is a module (has a mod.rs).
fn module_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            if path.join("mod.rs").exists() {
                dirs.push(path.clone());
            }
            dirs.extend(module_dirs(&path));
        }
    }
    dirs
}

#[test]
fn the_files_inside_each_module_have_no_import_cycles() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let dirs = module_dirs(&src);
    assert!(dirs.len() > 10, "found the modules: {dirs:?}");
    let mut cycles = Vec::new();
    for dir in dirs {
        let deps = file_dependencies(&src, &dir);
        let module = dir.strip_prefix(&src).unwrap().display().to_string();
        for file in deps.keys() {
            if let Some(path) = cycle_from(file, &deps) {
                cycles.push(format!("{module}/: {} -> {}", path.join(" -> "), path[0]));
            }
        }
    }
    assert!(
        cycles.is_empty(),
        "import cycles between files: {cycles:#?}"
    );
}

#[test]
fn the_file_checker_sees_re_exports_reach_backs_and_lists() {
    assert_eq!(braced_names("a, b::{c, d}, e as f}, g"), ["a", "b", "e"]);
    assert_eq!(names_after("use super::{x, y::z};", "super::"), ["x", "y"]);
    assert!(names_after("foo_super::x", "super::").is_empty());
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let deps = file_dependencies(&src, &src.join("fanout"));
    assert!(deps["hub"].contains("client"), "hub uses client: {deps:?}");
    // A file that named its mod.rs's own item would close a circle.
    let mut closed = deps.clone();
    closed.get_mut("client").unwrap().insert("mod".into());
    closed.get_mut("mod").unwrap().insert("client".into());
    assert!(cycle_from("client", &closed).is_some());
}

/// docs/ARCHITECTURE.md's "Every file" section: each module directory
/// (`api/render`) and its files (a sub-module by its directory's name), in
/// the order listed.
fn documented_files() -> BTreeMap<String, Vec<String>> {
    let doc = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/ARCHITECTURE.md");
    let text = std::fs::read_to_string(doc).unwrap();
    let section = text
        .split("## Every file, module by module")
        .nth(1)
        .expect("the section's heading")
        .split("\n## ")
        .next()
        .unwrap_or_default();
    let mut files: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut module = String::new();
    let quoted = |line: &str| {
        line.split('`')
            .nth(1)
            .unwrap_or_default()
            .trim_end_matches('/')
            .to_string()
    };
    for line in section.lines() {
        if line.starts_with("### `") {
            module = quoted(line);
        } else if line.starts_with("- `") {
            files.entry(module.clone()).or_default().push(quoted(line));
        }
    }
    files
}

/// What is wrong with the list of one module's files: a file not listed,
/// one listed that is not there, or one listed before a file it uses.
fn files_out_of_order(
    module: &str,
    listed: &[String],
    deps: &BTreeMap<String, BTreeSet<String>>,
) -> Vec<String> {
    let mut wrong = Vec::new();
    for file in deps.keys().filter(|f| *f != "mod") {
        if !listed.contains(file) {
            wrong.push(format!("{module}/{file} is not listed"));
        }
    }
    for (at, file) in listed.iter().enumerate() {
        let Some(uses) = deps.get(file) else {
            wrong.push(format!("{module}/{file} is listed but is not there"));
            continue;
        };
        for used in uses.iter().filter(|u| *u != "mod") {
            if listed
                .iter()
                .position(|l| l == used)
                .is_some_and(|p| p > at)
            {
                wrong.push(format!("{module}/{file} uses {used}, listed after it"));
            }
        }
    }
    wrong
}

#[test]
fn every_file_is_listed_after_the_files_it_uses() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let documented = documented_files();
    let dirs = module_dirs(&src);
    let mut wrong = Vec::new();
    for dir in &dirs {
        let module = dir.strip_prefix(&src).unwrap().display().to_string();
        let listed = documented.get(&module).cloned().unwrap_or_default();
        wrong.extend(files_out_of_order(
            &module,
            &listed,
            &file_dependencies(&src, dir),
        ));
    }
    let modules: Vec<String> = dirs
        .iter()
        .map(|d| d.strip_prefix(&src).unwrap().display().to_string())
        .collect();
    for module in documented.keys().filter(|m| !modules.contains(m)) {
        wrong.push(format!("{module}/ is listed but is not a module"));
    }
    assert!(
        wrong.is_empty(),
        "docs/ARCHITECTURE.md, Every file: {wrong:#?}"
    );
}

#[test]
fn the_file_list_check_sees_a_file_missing_or_out_of_order() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let deps = file_dependencies(&src, &src.join("fanout"));
    let mut listed = documented_files()["fanout"].clone();
    assert!(files_out_of_order("fanout", &listed, &deps).is_empty());
    let (hub, client) = (
        listed.iter().position(|f| f == "hub").unwrap(),
        listed.iter().position(|f| f == "client").unwrap(),
    );
    listed.swap(hub, client);
    assert!(
        files_out_of_order("fanout", &listed, &deps)
            .contains(&"fanout/hub uses client, listed after it".to_string()),
        "{listed:?}"
    );
    listed.retain(|f| f != "hub");
    assert!(
        files_out_of_order("fanout", &listed, &deps)
            .contains(&"fanout/hub is not listed".to_string())
    );
}

/// The names the host gives its threads (`thread::Builder::name`), and
/// where a thread is started without one, outside tests.
fn threads(dir: &Path) -> (BTreeSet<String>, Vec<String>) {
    let (mut named, mut unnamed) = (BTreeSet::new(), Vec::new());
    for file in sources(dir) {
        let code = code_of(&file);
        for (at, _) in code.match_indices("thread::Builder::new()") {
            let rest = &code[at..];
            if let Some(name) = rest
                .split(".name(\"")
                .nth(1)
                .and_then(|r| r.split('"').next())
            {
                named.insert(name.to_string());
            }
        }
        if code.contains("thread::spawn(") {
            unnamed.push(file.display().to_string());
        }
    }
    (named, unnamed)
}

#[test]
fn every_thread_is_named_and_in_the_threads_table() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let (named, unnamed) = threads(&src);
    assert!(named.len() >= 8, "found the threads: {named:?}");
    assert!(unnamed.is_empty(), "threads without a name: {unnamed:?}");
    let doc = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/ARCHITECTURE.md");
    let text = std::fs::read_to_string(doc).unwrap();
    let table = text
        .split("## Threads and tasks")
        .nth(1)
        .and_then(|t| t.split("\n## ").next())
        .expect("the threads table");
    let missing: Vec<&String> = named
        .iter()
        .filter(|n| !table.contains(&format!("`{n}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "threads not in docs/ARCHITECTURE.md's table: {missing:?}"
    );
}
