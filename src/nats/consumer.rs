//! A durable pull consumer shared by all replicas, run until shutdown: created (or updated to this configuration),
//! its messages handled concurrently, and set up again after a pause when it fails or ends (NATS restarting).
//! On shutdown no new message is taken; those in flight finish, unstarted ones are redelivered elsewhere.

use std::{future::Future, time::Duration};

use async_nats::jetstream::{self, consumer::pull};
use futures::StreamExt;
use tokio_util::sync::CancellationToken;

pub async fn run_durable<F, Fut>(
    js: &jetstream::Context,
    stream: &str,
    config: pull::Config,
    concurrency: usize,
    shutdown: CancellationToken,
    handle: F,
) where
    F: Fn(jetstream::Message) -> Fut,
    Fut: Future<Output = ()>,
{
    let name = config.durable_name.clone().unwrap_or_default();
    while !shutdown.is_cancelled() {
        match messages(js, stream, config.clone()).await {
            Ok(messages) => {
                messages
                    .take_until(shutdown.cancelled())
                    .for_each_concurrent(concurrency, |message| async {
                        match message {
                            Ok(message) => handle(message).await,
                            Err(e) => tracing::warn!(consumer = %name, error = %e, "consumer"),
                        }
                    })
                    .await
            }
            Err(e) => {
                tracing::warn!(consumer = %name, error = %e, "consumer unavailable; retrying")
            }
        }
        tokio::select! {
            _ = shutdown.cancelled() => {}
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

async fn messages(
    js: &jetstream::Context,
    stream: &str,
    config: pull::Config,
) -> Result<pull::Stream, async_nats::Error> {
    let stream = js.get_stream(stream).await?;
    let consumer = match stream.create_consumer(config.clone()).await {
        Ok(consumer) => consumer,
        // Replicas agree on one configuration: an existing consumer is brought up to this one.
        Err(_) => stream.update_consumer(config).await?,
    };
    Ok(consumer.messages().await?)
}
