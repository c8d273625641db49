//! The README's "Try it" commands and CONFIG.md's example, pasted as a
//! newcomer would: every shell block that calls the API is run against a
//! demo, with the keys it printed, and every request must succeed (a
//! hard-coded time that has passed, a route renamed, an id that is not
//! there fail here).

use std::process::Command;

use crate::gateway::Gateway;

/// What a block that only calls the API never does (a plugin's build and
/// copy steps are the plugin tests').
const NOT_API: &[&str] = &["cargo ", "cp ", "cd ", "swim ", "pip ", "componentize-py "];

/// The README's shell blocks that only call the API (`$B`).
fn api_blocks(readme: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in readme.lines() {
        match (&mut current, line.trim_start()) {
            (None, "```sh") => current = Some(String::new()),
            (Some(block), "```") => {
                let only_api = block
                    .lines()
                    .all(|l| !NOT_API.iter().any(|c| l.trim_start().starts_with(c)));
                if block.contains("\"$B/") && only_api {
                    blocks.push(std::mem::take(block));
                }
                current = None;
            }
            (Some(block), _) => {
                block.push_str(line);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

/// A block as a script: the reader's own assignments of `B`, `K` and `S`
/// (placeholders such as `swim_dev_...`) give way to the test's.
fn script(block: &str) -> String {
    block
        .lines()
        .filter(|l| !["B=", "K=", "S="].iter().any(|v| l.starts_with(v)))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn every_api_command_in_the_readme_works_when_pasted() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("README.md");
    let blocks = api_blocks(&readme);
    assert!(
        blocks.len() >= 2,
        "the README's API blocks were not found ({} of them)",
        blocks.len()
    );
    let tmp = tempfile::tempdir().unwrap();
    let gw = Gateway::start(&["demo", "--flights", "300", "--speed", "10"], tmp.path());
    let developer = gw.developer_key.clone().expect("the demo's developer key");
    let system = gw.key.clone().expect("the demo's system key");
    let failed = tmp.path().join("failed");
    // curl as pasted, but an HTTP error (or no answer) is written down:
    // `-f` makes curl fail on 4xx and 5xx, and the body is kept for the
    // report. The output goes on to `head` and `jq` as the reader sees it.
    let prelude = format!(
        r#"curl() {{
  local out
  if ! out=$(command curl -sS -f --max-time 20 "$@" 2>&1); then
    echo "curl $* -> $out" >> "{failed}"
  fi
  printf '%s\n' "$out"
}}
B={base}
K={developer}
S={system}
"#,
        failed = failed.display(),
        base = gw.base,
    );
    for block in &blocks {
        let run = Command::new("bash")
            .current_dir(tmp.path())
            .arg("-c")
            .arg(format!("{prelude}{}", script(block)))
            .output()
            .expect("run bash");
        let failures = std::fs::read_to_string(&failed).unwrap_or_default();
        assert!(
            failures.is_empty() && run.status.success(),
            "a README command failed:\n{failures}\nthe block:\n{block}\nstderr: {}",
            String::from_utf8_lossy(&run.stderr)
        );
    }
}

#[test]
fn the_blocks_are_found_and_placeholders_replaced() {
    let readme = "x\n```sh\nB=http://x\nK=swim_dev_...\ncurl -s \"$B/health\"\n```\n```sh\necho no api\n```\n\
                  ```sh\ncargo build\ncurl -s \"$B/ingest/csv\"\n```\n";
    let blocks = api_blocks(readme);
    assert_eq!(blocks.len(), 1);
    assert_eq!(script(&blocks[0]), "curl -s \"$B/health\"");
}

/// docs/CONFIG.md's example file, copied as it is, starts a gateway (its
/// source is the live VATSIM feed, which this machine may not reach: the
/// gateway listens and says it is starting, it does not refuse to start).
#[test]
fn the_config_example_starts_as_pasted() {
    let config_md =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/CONFIG.md"))
            .expect("docs/CONFIG.md");
    let example: String = config_md
        .split("```toml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a toml block in docs/CONFIG.md")
        .to_string();
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("swim.toml");
    std::fs::write(&config, &example).unwrap();
    let gw = Gateway::start_unready(&["serve", "--config", config.to_str().unwrap()], tmp.path());
    let (status, body) = gw.get("/health");
    assert!(status == 200 || status == 503, "{status}: {body}");
    assert!(body["data"]["status"].is_string(), "{body}");
}
