//! `swim bench cluster`: the fan-out of `swim bench fanout`, once with one
//! gateway serving every client and once with two (the leader here, a
//! follower in a child process), the clients split between them; same
//! machine, same run, each on a stream and a database of its own, removed
//! after. Needs NATS with JetStream and PostgreSQL.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use anyhow::Context as _;

use super::fanout::{self, ClientReport, KillOnDrop, Others};
use swim::auth::PgKeys;
use swim::cluster::ClusterConfig;
use swim::db::PgUrl;

/// Runs both set-ups and prints each and their ratio.
pub fn run(
    clients: usize,
    flights: usize,
    speed: f64,
    seconds: u64,
    nats: &str,
    postgres: &str,
) -> anyhow::Result<()> {
    println!("{}", super::machine());
    println!(
        "{clients} clients, {flights} simulated flights, a snapshot every {:.1} s, {seconds} s of traffic per run",
        15.0 / speed
    );
    let mut reports = Vec::new();
    for members in [1, 2] {
        println!("\n== {members} gateway(s)");
        reports.push(one_run(
            members, clients, flights, speed, seconds, nats, postgres,
        )?);
    }
    let rate = |r: &ClientReport| r.messages as f64 / r.seconds;
    let (one, two) = (&reports[0], &reports[1]);
    println!(
        "\ntwo gateways against one: delivered {:.0} vs {:.0} messages/s ({:.2}x), p99 {:.1} vs {:.1} ms",
        rate(two),
        rate(one),
        rate(two) / rate(one).max(1.0),
        two.latency_ms_p99,
        one.latency_ms_p99
    );
    Ok(())
}

fn one_run(
    members: usize,
    clients: usize,
    flights: usize,
    speed: f64,
    seconds: u64,
    nats: &str,
    postgres: &str,
) -> anyhow::Result<ClientReport> {
    let tag = format!("{}_{members}", std::process::id());
    let stream = format!("SWIMBENCH_{tag}");
    let url: PgUrl = format!("{}/swimbench_{tag}", postgres.trim_end_matches('/'))
        .parse()
        .map_err(|e: String| anyhow::anyhow!(e))?;
    let dir = tempfile::tempdir()?;
    let keys = fanout::system_keys(&PgKeys::open(&url)?, clients)?;
    let mut config = fanout::sim_config(dir.path(), flights, speed);
    config.database = Some(url.clone());
    config.cluster = Some(ClusterConfig {
        instance_id: "bench-1".into(),
        stream: stream.clone(),
        ..ClusterConfig::new(nats)
    });
    let followers: Others = {
        let (nats, stream, url, dir) = (
            nats.to_string(),
            stream.clone(),
            url.clone(),
            dir.path().to_path_buf(),
        );
        Box::new(move || {
            let mut urls = Vec::new();
            let mut running = Vec::new();
            for i in 2..=members {
                let (address, child) =
                    follower(&nats, &stream, &url, &dir.join(format!("member-{i}")), i)?;
                urls.push(format!("ws://{address}/api/swim/v1/ws"));
                running.push(child);
            }
            // Followers catch up with the stream before clients arrive.
            std::thread::sleep(std::time::Duration::from_secs(3));
            Ok((urls, running))
        })
    };
    let run = fanout::Run {
        clients,
        seconds,
        mix: fanout::Mix::Mixed,
    };
    let report = fanout::measure(config, &keys, followers, run, None).map(|m| m.report);
    clean_up(nats, &stream, &url);
    report
}

/// `swim demo --cluster` in a child process as a follower (this process
/// leads already); its address.
fn follower(
    nats: &str,
    stream: &str,
    url: &PgUrl,
    dir: &std::path::Path,
    n: usize,
) -> anyhow::Result<(String, KillOnDrop)> {
    let exe = crate::exe::swim()?;
    let mut child = Command::new(exe)
        .args(["demo", "--port", "0", "--data-dir"])
        .arg(dir)
        .args([
            "--cluster",
            nats,
            "--stream",
            stream,
            "--instance-id",
            &format!("bench-{n}"),
        ])
        .env("SWIM_DATABASE_URL", url.expose())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("starting a follower")?;
    let stdout = child.stdout.take().context("piped")?;
    let mut lines = BufReader::new(stdout).lines();
    let first = lines.next().context("the follower printed nothing")??;
    let address = first
        .strip_prefix("listening on http://")
        .with_context(|| format!("the follower said {first:?}"))?
        .to_string();
    std::thread::spawn(move || for _ in lines {});
    Ok((address, KillOnDrop(child)))
}

fn clean_up(nats: &str, stream: &str, url: &PgUrl) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    if let Ok(runtime) = runtime {
        runtime.block_on(async {
            if let Ok(client) = swim::cluster::connect(nats, "bench").await {
                let js = async_nats::jetstream::new(client);
                let _ = js.delete_stream(stream).await;
                let _ = js.delete_key_value(format!("{stream}_LEADER")).await;
                let _ = js.delete_object_store(format!("{stream}_PLUGINS")).await;
            }
        });
    }
    if let Err(e) = url.drop_database() {
        println!("the bench's database was not dropped: {e}");
    }
}
