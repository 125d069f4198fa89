//! `payments replay`: re-processes stored events with the service's own configuration (NATS and Stripe).

use crate::{
    config::Config,
    nats::connection::Nats,
    pipeline::replay::{describe, Replayer, Selection},
};

pub async fn run(selection: Selection, force: bool) -> i32 {
    if selection.event_ids.is_empty() && selection.since.is_none() && selection.until.is_none() {
        eprintln!("payments replay: name events with --event, or a range with --since/--until");
        return 2;
    }
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("payments: {e}");
            return 2;
        }
    };
    let result = async {
        let nats = Nats::connect(&config)
            .await
            .map_err(crate::error::Error::unavailable)?;
        let replayer = Replayer::connect(&config, nats.client.clone()).await?;
        let mut failed = 0;
        let summary = replayer
            .run(&selection, force, |replayed| {
                failed += usize::from(replayed.result.is_err());
                println!("{}", describe(replayed, force));
            })
            .await?;
        nats.client
            .flush()
            .await
            .map_err(|e| crate::error::Unavailable::because("flushing NATS", e))?;
        Ok::<_, crate::error::Error>((summary, failed))
    };
    match tokio::time::timeout(std::time::Duration::from_secs(600), result).await {
        Ok(Ok((summary, failed))) => {
            for id in &summary.not_found {
                eprintln!("{id}: not found in the events stream");
            }
            let missing = match summary.not_found.len() {
                0 => String::new(),
                n => format!(" ({n} of the named ids not found)"),
            };
            println!(
                "replayed {} event(s), {failed} failed{missing}",
                summary.replayed
            );
            i32::from(failed > 0 || !summary.not_found.is_empty())
        }
        Ok(Err(e)) => {
            eprintln!("payments replay: {e}");
            1
        }
        Err(_) => {
            eprintln!("payments replay: timed out");
            1
        }
    }
}
