//! Every column the WIT defines is read by the views plugin authors use:
//! the Rust crate's, and the Python and JavaScript helpers `swim plugins
//! new` copies into projects. A column added to the WIT and not to a view
//! fails here, naming the view and the column.

use vatswim_plugin_api::columns::column::SECTIONS;

fn read(path: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `snake_case` as JavaScript's bindings spell it.
fn camel(name: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for c in name.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn every_column_is_read_by_each_view() {
    let views = [
        ("src/columns.rs", read("src/columns.rs")),
        ("python/vatswim.py", read("python/vatswim.py")),
        ("js/vatswim.js", read("js/vatswim.js")),
    ];
    let mut missing = Vec::new();
    for (section, _, columns) in SECTIONS {
        for column in columns {
            for (view, text) in &views {
                let spelled = [
                    format!(".{column}"),
                    format!("\"{column}\""),
                    format!("'{column}'"),
                    format!(".{}", camel(column)),
                    format!("'{}'", camel(column)),
                ];
                if !spelled.iter().any(|s| text.contains(s.as_str())) {
                    missing.push(format!("{view} does not read {section}.{column}"));
                }
            }
        }
    }
    assert!(missing.is_empty(), "{missing:#?}");
}
