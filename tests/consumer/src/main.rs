//! Keeps the next ten Warning events of the current kubeconfig context's cluster in
//! `./archive` (the checkpoint in `./checkpoint.json`), and says how many were stored.

use std::path::Path;
use std::process::ExitCode;

use event_keeper_consumer::{Collect, run};

#[tokio::main]
async fn main() -> ExitCode {
    let stored = async {
        let client = kube::Client::try_default().await?;
        run(client, Path::new("."), 10, Collect::default()).await
    };
    match stored.await {
        Ok(report) => {
            println!("{} Warning events stored in ./archive", report.acknowledged);
            ExitCode::SUCCESS
        }
        Err(error) => {
            // One line, with any control character from the cluster escaped.
            eprintln!("consumer: {}", error.to_string().escape_debug());
            ExitCode::FAILURE
        }
    }
}
