//! `swim keys create|list|revoke`.

use std::process::ExitCode;

use anyhow::Context as _;
use clap::Subcommand;

use super::DataDir;
use crate::auth::{ApiKey, NewKey, Tier, keystore};
use crate::health::wall_ms;
use vatswim_plugin_api::time::format_utc;

/// Key subcommands.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a key; it is printed once and only its hash is stored.
    Create {
        /// Its tier.
        #[arg(long, value_enum)]
        tier: Tier,
        /// Who it belongs to.
        #[arg(long)]
        owner: String,
        /// Contact address.
        #[arg(long)]
        email: Option<String>,
        /// Lifetime: `365d`, `12h`, `30m`, `90s` or `never`.
        #[arg(long, default_value = "365d")]
        expires: String,
        /// May write (ingest) to the routes in `--sources`.
        #[arg(long)]
        can_write: bool,
        /// Ingest routes it may write, comma-separated (`adl,track`; `tmi`
        /// to issue traffic management initiatives).
        #[arg(long, value_delimiter = ',')]
        sources: Vec<String>,
    },
    /// Every key (never the key itself).
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a key by id: refused from the next request on (a running
    /// gateway notices within a few seconds; `DELETE /keys/ID` on it at once).
    Revoke {
        /// The key's id (`swim keys list`).
        id: i64,
    },
}

/// Runs a keys subcommand.
pub fn run(
    backend: &crate::db::Backend,
    data: &DataDir,
    cmd: &KeysCommand,
) -> anyhow::Result<ExitCode> {
    data.ensure()?;
    let keys = keystore::open(backend)?;
    match cmd {
        KeysCommand::Create {
            tier,
            owner,
            email,
            expires,
            can_write,
            sources,
        } => {
            let new = NewKey {
                tier: *tier,
                owner: owner.clone(),
                email: email.clone(),
                expires_at: expiry(expires, wall_ms())?,
                can_write: *can_write,
                sources: sources.clone(),
            };
            let (key, record) = keys.create(&new, wall_ms())?;
            println!("key: {key}");
            print_key(&record);
            println!("Store the key now: only its hash is kept.");
        }
        KeysCommand::List { json } => {
            let all = keys.list()?;
            if *json {
                println!("{}", serde_json::to_string_pretty(&all)?);
            } else {
                all.iter().for_each(print_key);
                // A key is shown once, when made; a lost one is replaced.
                println!(
                    "{} keys (only their prefixes: a key is shown once, when made). \
                     A new one: swim keys create --tier developer --owner NAME; \
                     a lost one: swim keys revoke ID",
                    all.len()
                );
            }
        }
        KeysCommand::Revoke { id } => {
            if !keys.revoke(*id, wall_ms())? {
                anyhow::bail!("there is no key {id} (see `swim keys list`)");
            }
            println!("key {id} revoked");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// When a key with this lifetime made `now` expires.
pub fn expiry(text: &str, now: i64) -> anyhow::Result<Option<i64>> {
    if text == "never" {
        return Ok(None);
    }
    let (number, unit) = text.split_at(text.len().saturating_sub(1));
    let n: i64 = number.parse().ok().filter(|n| *n > 0).with_context(|| {
        format!("--expires {text:?}: expected e.g. 365d, 12h, 30m, 90s or never")
    })?;
    let ms = match unit {
        "d" => 86_400_000,
        "h" => 3_600_000,
        "m" => 60_000,
        "s" => 1_000,
        _ => anyhow::bail!("--expires {text:?}: the unit must be d, h, m or s"),
    };
    Ok(Some(now + n * ms))
}

fn print_key(k: &ApiKey) {
    let state = if k.revoked_at.is_some() {
        "revoked"
    } else if !k.is_active {
        "inactive"
    } else {
        "active"
    };
    println!(
        "id {:<4} {:<16}... {:<9} {:<8} owner {:<20} expires {:<20} write {} {}",
        k.id,
        k.key_prefix,
        k.tier.as_str(),
        state,
        k.owner,
        k.expires_at.map_or("never".into(), format_utc),
        if k.can_write { "yes" } else { "no" },
        k.sources.join(",")
    );
}
