//! The layout docs/ARCHITECTURE.md describes holds: the host's top-level
//! modules depend on each other one way (no import cycles), so data flows
//! source -> store -> pipeline -> feed -> fan-out and a newcomer can read
//! any module knowing only those below it.

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
