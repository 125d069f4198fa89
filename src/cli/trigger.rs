//! `payments trigger <event-type>`: like `stripe trigger`, offline. Builds a realistic event of that type (the
//! Checkout emulator's samples), registers the objects it refers to with the emulator so the service's Stripe
//! look-ups find them, signs it with the endpoint secret, posts it to the webhook, and prints the answer.

use std::time::{SystemTime, UNIX_EPOCH};

use stripe_standin::events::{try_sample, SAMPLE_TYPES};

use crate::stripe::signature;

pub struct Trigger {
    pub event_type: String,
    pub order_id: Option<String>,
    pub url: String,
    pub secret: Option<String>,
    pub api: Option<String>,
}

pub async fn run(args: Trigger) -> i32 {
    let order_id = args
        .order_id
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let Some(sample) = try_sample(&args.event_type, &order_id) else {
        eprintln!(
            "payments trigger: unsupported event type {:?}; one of:\n  {}",
            args.event_type,
            SAMPLE_TYPES.join("\n  ")
        );
        return 2;
    };
    let Some(secret) = args.secret.or_else(first_endpoint_secret) else {
        eprintln!("payments trigger: no signing secret: pass --secret whsec_… or set STRIPE_ENDPOINT_SECRET");
        return 2;
    };
    let http = reqwest::Client::new();
    if let Some(api) = args.api.filter(|api| !api.contains("api.stripe.com")) {
        let registered = http
            .post(format!("{}/_emulator/objects", api.trim_end_matches('/')))
            .json(&sample.objects)
            .send()
            .await;
        match registered {
            Ok(r) if r.status().is_success() => {
                eprintln!("registered {} object(s) with the emulator at {api}", sample.objects.len())
            }
            _ => eprintln!(
                "note: {api} did not take the event's objects (not the emulator?); events that need a Stripe look-up will be reported unusable"
            ),
        }
    }
    // Stripe sends pretty-printed JSON; the signature covers exactly these bytes.
    let body = serde_json::to_string_pretty(&sample.event).expect("event serialises");
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs() as i64;
    let sent = http
        .post(&args.url)
        .header("content-type", "application/json")
        .header(
            "stripe-signature",
            signature::sign(&secret, now, body.as_bytes()),
        )
        .body(body)
        .send()
        .await;
    let event_id = sample.event["id"].as_str().unwrap_or_default();
    match sent {
        Ok(response) => {
            let status = response.status();
            let text = response.text().await.unwrap_or_default();
            println!(
                "{} {event_id} (order {order_id}) → {status}",
                args.event_type
            );
            println!("{text}");
            i32::from(!status.is_success())
        }
        Err(e) => {
            eprintln!("payments trigger: cannot reach {}: {e}", args.url);
            1
        }
    }
}

fn first_endpoint_secret() -> Option<String> {
    let secrets = std::env::var("STRIPE_ENDPOINT_SECRET").ok()?;
    secrets
        .split(',')
        .map(str::trim)
        .find(|s| !s.is_empty())
        .map(str::to_owned)
}
