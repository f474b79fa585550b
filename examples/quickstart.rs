//! Event Keeper in one minute, with no cluster and no AWS account.
//!
//! Run: `cargo run --example quickstart`
//!
//! Starts a simulated Kubernetes API server whose events expire after a few seconds (as they do
//! after 60 minutes on EKS), plays an incident on it, and runs the real pipeline — watch,
//! filter, checkpoint — into stdout and a rolling file archive. Then it waits for the events to
//! expire from the API, reads the archive back and shows that every occurrence was kept, once.

use std::collections::HashSet;
use std::error::Error;
use std::process::ExitCode;
use std::time::Duration;

use event_core::checkpoint::FileCheckpointStore;
use event_core::{
    EventStreamConfig, EventStreamExt, FilterConfig, FilterRule, Keeper, PipelineConfig,
};
use sink_file::{FileArchiveHistory, FileSink, FileSinkConfig, Rotation};
use sink_stdout::{Format, StdoutSink};
use testkit::{SimCluster, SimConfig};
use tokio_util::sync::CancellationToken;

const TTL: Duration = Duration::from_secs(4);

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // One line, whatever the cause: the chain joined, control characters escaped.
            let mut message = error.to_string();
            let mut cause = error.source();
            while let Some(inner) = cause {
                let more = inner.to_string();
                if !message.contains(&more) {
                    message = format!("{message}: {more}");
                }
                cause = inner.source();
            }
            let line: String = message
                .chars()
                .flat_map(|c| {
                    let escaped: Vec<char> = if c.is_control() {
                        c.escape_default().collect()
                    } else {
                        vec![c]
                    };
                    escaped
                })
                .collect();
            eprintln!("quickstart: {line}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();

    let cluster = SimCluster::start(SimConfig::default().event_ttl(Some(TTL))).await?;
    let workdir = tempfile_dir()?;
    eprintln!(
        "simulated API server at {} (event TTL {TTL:?})",
        cluster.url()
    );

    // The same filter a config file would hold: drop routine image pulls from kube-system.
    let filter = FilterConfig::default()
        .exclude(
            FilterRule::default()
                .namespaces(["kube-system"])
                .reasons(["Pulled"]),
        )
        .compile()?;

    let keeper = Keeper::load(FileCheckpointStore::new(workdir.join("checkpoint.json"))).await?;
    let stream = keeper
        .watch(cluster.client(), EventStreamConfig::default())
        .await?
        .filter_with(filter);
    let archive = FileSinkConfig::new(workdir.join("archive"))
        .rotation(Rotation::HOURLY)
        .compress(true);
    let shutdown = CancellationToken::new();
    let pipeline = keeper
        .pipeline(stream)
        .config(PipelineConfig::default().max_batch_wait(Duration::from_millis(200)))
        .sink(StdoutSink::new(Format::Text))
        .sink(FileSink::new(archive.clone())?)
        .run(shutdown.clone());
    let running = tokio::spawn(pipeline);
    while keeper.metrics().established() == 0 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    eprintln!(
        "\n--- an incident unfolds: scale-up, an unschedulable pod, an image pull back-off, a node NotReady ---\n"
    );
    let incident = testkit::incident::play(&cluster, Duration::from_millis(400)).await;

    eprintln!("\n--- waiting for the API server to expire the events (TTL {TTL:?}) ---");
    let deadline = tokio::time::Instant::now() + TTL * 4;
    while cluster.event_count() > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(250)).await;
        cluster.expire_events();
    }
    shutdown.cancel();
    let report = running.await??;

    // Check the claim rather than print it: every occurrence the filter lets through, once.
    let wanted: HashSet<(String, String)> = incident
        .occurrences
        .iter()
        .filter(|o| o.namespace != "kube-system")
        .map(|o| (o.uid.clone(), o.resource_version.clone()))
        .collect();
    let stored: Vec<(String, String)> = FileArchiveHistory::from_config(&archive)?
        .blocking_read()
        .map(|event| event.map(|e| (e.uid, e.resource_version)))
        .collect::<Result<_, _>>()?;
    let unique: HashSet<_> = stored.iter().cloned().collect();
    let missing = wanted.difference(&unique).count();
    let duplicated = stored.len() - unique.len();
    eprintln!(
        "\nThe API server now holds {} events: kubectl get events shows nothing.",
        cluster.event_count()
    );
    eprintln!(
        "Event Keeper kept {} of the {} occurrences ({} filtered out on purpose) in {}: \
         {missing} missing, {duplicated} duplicated; checkpoint saved: {}.",
        unique.len(),
        incident.occurrences.len(),
        incident.occurrences.len() - wanted.len(),
        archive.directory.display(),
        report.checkpoint_saved,
    );
    if missing > 0 || duplicated > 0 {
        return Err(
            "an occurrence was lost or duplicated; this is a bug: please report it with this output"
                .into(),
        );
    }
    eprintln!("Next: deploy it to EKS with CloudWatch Logs as the sink (see the README).");
    Ok(())
}

fn tempfile_dir() -> std::io::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("event-keeper-quickstart-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
