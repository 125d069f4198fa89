//! `payments healthcheck`: exit 0 if the local service answers `GET /health` with a 200 (container images carry
//! no curl, so the image's `HEALTHCHECK` runs this).

use std::time::Duration;

use crate::causes::chain;

/// Longer than any healthy answer takes; shorter than the image's `HEALTHCHECK --timeout` (5 s).
const TIMEOUT: Duration = Duration::from_secs(3);

pub async fn run(port: u16) -> i32 {
    // Loopback only: a proxy from the environment must not take the probe elsewhere.
    let client = match reqwest::Client::builder()
        .no_proxy()
        .timeout(TIMEOUT)
        .build()
    {
        Ok(client) => client,
        Err(e) => {
            eprintln!("payments healthcheck: cannot build an HTTP client: {e}");
            return 1;
        }
    };
    match client
        .get(format!("http://127.0.0.1:{port}/health"))
        .send()
        .await
    {
        Ok(response) if response.status() == reqwest::StatusCode::OK => 0,
        Ok(response) => {
            eprintln!(
                "payments healthcheck: /health answered {}",
                response.status()
            );
            1
        }
        Err(e) => {
            eprintln!("payments healthcheck: 127.0.0.1:{port}: {}", chain(&e));
            1
        }
    }
}
