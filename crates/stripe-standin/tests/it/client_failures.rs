//! Errors, idempotency and faults as the real Stripe client (async-stripe 1.0.0-rc.10) sees them.

use std::time::Duration;

use crate::support::client::{api_error, client, t_shirts};
use stripe::{ClientBuilder, IdempotencyKey, RequestStrategy, StripeError, StripeRequest};
use stripe_core::payment_intent::RetrievePaymentIntent;
use stripe_standin::{Fault, StandIn};
use testkit::await_until;

#[tokio::test]
async fn unknown_ids_are_resource_missing() {
    let standin = StandIn::start().await;
    let (error, status) = api_error(
        RetrievePaymentIntent::new("pi_x")
            .send(&client(&standin))
            .await,
    );
    assert_eq!(status, 404);
    assert_eq!(
        error.message.as_deref(),
        Some("No such payment_intent: 'pi_x'")
    );
    assert_eq!(
        error.code.as_ref().map(|c| c.as_str()),
        Some("resource_missing")
    );
    assert_eq!(error.type_.as_str(), "invalid_request_error");
}

#[tokio::test]
async fn idempotent_replay_and_mismatch() {
    let standin = StandIn::start().await;
    let client = client(&standin);
    let key = || RequestStrategy::Idempotent(IdempotencyKey::new("order-42").unwrap());
    let send = || t_shirts().customize().request_strategy(key()).send(&client);
    let first = send().await.unwrap();
    let second = send().await.unwrap();
    assert_eq!(first.id, second.id);
    assert_eq!(standin.sessions_created(), 1);
    assert_eq!(
        standin.requests()[1].header("idempotency-key"),
        Some("order-42")
    );

    let different = t_shirts().client_reference_id("ord_43");
    let (error, status) = api_error(
        different
            .customize()
            .request_strategy(key())
            .send(&client)
            .await,
    );
    assert_eq!(status, 400);
    assert_eq!(error.type_.as_str(), "idempotency_error");
    assert!(error
        .message
        .unwrap()
        .contains("Try using a key other than 'order-42'"));
    assert_eq!(standin.sessions_created(), 1);
}

#[tokio::test]
async fn wrong_key_is_401() {
    let standin = StandIn::with_api_key("sk_test_right_one").await;
    let wrong = ClientBuilder::new("sk_test_wrong_key_1234")
        .url(standin.base_url())
        .build()
        .unwrap();
    let (error, status) = api_error(t_shirts().send(&wrong).await);
    assert_eq!(status, 401);
    assert_eq!(
        error.message.as_deref(),
        Some("Invalid API Key provided: sk_test_**********1234")
    );
    assert_eq!(standin.sessions_created(), 0);
    let right = ClientBuilder::new("sk_test_right_one")
        .url(standin.base_url())
        .build()
        .unwrap();
    t_shirts().send(&right).await.unwrap();
}

#[tokio::test]
async fn injected_500_then_normal_handling() {
    let standin = StandIn::start().await;
    let client = client(&standin);
    standin.inject(Fault::server_error(), 1);
    let (error, status) = api_error(t_shirts().send(&client).await);
    assert_eq!((status, error.type_.as_str()), (500, "api_error"));
    assert_eq!(standin.sessions_created(), 0);
    t_shirts().send(&client).await.unwrap();
    assert_eq!(standin.sessions_created(), 1);
    assert_eq!(standin.requests().len(), 2);

    // A faulted request did not execute, so its idempotency key stays free.
    standin.inject(Fault::server_error(), 1);
    let strategy = || RequestStrategy::Idempotent(IdempotencyKey::new("retry-1").unwrap());
    t_shirts()
        .customize()
        .request_strategy(strategy())
        .send(&client)
        .await
        .unwrap_err();
    t_shirts()
        .customize()
        .request_strategy(strategy())
        .send(&client)
        .await
        .unwrap();
    assert_eq!(standin.sessions_created(), 2);

    // The client's own retry strategy gets past one 500.
    let retrying = RequestStrategy::Retry(2);
    standin.inject(Fault::server_error(), 1);
    t_shirts()
        .customize()
        .request_strategy(retrying)
        .send(&client)
        .await
        .unwrap();
    assert_eq!(standin.sessions_created(), 3);
}

#[tokio::test]
async fn injected_delay_times_the_client_out_but_is_handled() {
    let standin = StandIn::start().await;
    let client = ClientBuilder::new("sk_test_x")
        .url(standin.base_url())
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    standin.inject(Fault::Delay(Duration::from_millis(600)), 1);
    let result = t_shirts().send(&client).await;
    assert!(matches!(result, Err(StripeError::Timeout)), "{result:?}");
    await_until(
        "the delayed request still goes through",
        Duration::from_secs(5),
        || async { standin.sessions_created() },
        |created| *created >= 1,
    )
    .await;
    assert_eq!(standin.sessions_created(), 1, "and only once");
    t_shirts().send(&client).await.unwrap();
    assert_eq!(standin.sessions_created(), 2);
}
