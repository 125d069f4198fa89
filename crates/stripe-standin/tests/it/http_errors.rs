//! Stripe's error bodies over raw HTTP: validation, authentication, missing objects and unknown URLs.

use crate::support::raw::{get, post, status_json, without, T_SHIRTS};
use reqwest::Client;
use serde_json::{json, Map};
use stripe_standin::{objects, StandIn};

#[tokio::test]
async fn validation_errors_are_stripe_shaped() {
    let standin = StandIn::start().await;
    let (status, body) = status_json(post(&standin, &without("mode"), None).await).await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({ "error": {
            "type": "invalid_request_error", "message": "Missing required param: mode.", "param": "mode",
            "code": "parameter_missing", "doc_url": "https://stripe.com/docs/error-codes/parameter-missing"
        }})
    );
    let cases = [
        (
            without("line_items"),
            "line_items",
            "Missing required param: line_items.",
        ),
        (
            without("success_url"),
            "success_url",
            "Missing required param: success_url.",
        ),
        (
            T_SHIRTS.replace("unit_amount]=2050", "unit_amount]=20.50"),
            "line_items[0][price_data][unit_amount]",
            "Invalid integer: 20.50",
        ),
        (
            T_SHIRTS.replace("unit_amount]=2050", "unit_amount]=-1"),
            "line_items[0][price_data][unit_amount]",
            "Invalid non-negative integer",
        ),
        (
            without("line_items[0][quantity]"),
            "line_items[0][quantity]",
            "Missing required param: line_items[0][quantity].",
        ),
        (
            T_SHIRTS.replace("[quantity]=3", "[quantity]=0"),
            "line_items[1][quantity]",
            "Invalid positive integer",
        ),
        (
            T_SHIRTS.replace("[quantity]=3", "[quantity]=x"),
            "line_items[1][quantity]",
            "Invalid integer: x",
        ),
        (
            T_SHIRTS.replacen("=usd", "=dollars", 1),
            "line_items[0][price_data][currency]",
            "Invalid currency: dollars.",
        ),
        (
            T_SHIRTS.replacen("=usd", "=abc", 1),
            "line_items[0][price_data][currency]",
            "Invalid currency: abc.",
        ),
        (
            T_SHIRTS.replace("unit_amount]=2050", "unit_amount]=100000000"),
            "line_items[0][price_data][unit_amount]",
            "Amount must be no more than 999999.99 USD.",
        ),
        (
            without("line_items[1][price_data][product_data]"),
            "line_items[1][price_data][product_data]",
            "Missing required param: line_items[1][price_data][product_data].",
        ),
        (
            format!("{}&line_items[2][price]=price_9", T_SHIRTS),
            "line_items[2][price]",
            "No such price: 'price_9'",
        ),
        (
            format!("{}&metadata=x", T_SHIRTS),
            "metadata",
            "Invalid hash: metadata is given both as a value and as a hash",
        ),
        (
            T_SHIRTS.replace("mode=payment", "mode=pay"),
            "mode",
            "Invalid mode: must be one of payment, setup, subscription",
        ),
        (
            T_SHIRTS.replace("mode=payment", "mode=subscription"),
            "line_items",
            "You must provide at least one recurring price in `subscription` mode when using prices.",
        ),
        (
            format!("{}&expand[]=nothing", T_SHIRTS),
            "expand",
            "This property cannot be expanded (nothing).",
        ),
    ];
    for (body, param, message) in cases {
        let (status, error) = status_json(post(&standin, &body, None).await).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(error["error"]["type"], "invalid_request_error");
        assert_eq!(error["error"]["param"], param, "{body}");
        assert_eq!(error["error"]["message"], message, "{body}");
    }
    assert_eq!(standin.sessions_created(), 0);
    assert!(standin.session("nothing").is_none());
}

#[tokio::test]
async fn authentication() {
    let standin = StandIn::start().await;
    let url = format!("{}/v1/charges/ch_1", standin.base_url());
    for authorization in [
        None,
        Some("Token sk_test_1"),
        Some("Bearer "),
        Some("Basic c2tfdGVzdDo="),
    ] {
        let mut request = Client::new().get(&url);
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        let response = request.send().await.unwrap();
        assert!(response.headers().contains_key("www-authenticate"));
        let (status, body) = status_json(response).await;
        assert_eq!(status, 401);
        assert_eq!(body["error"]["type"], "invalid_request_error");
        assert!(body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("You did not provide an API key."));
    }
    let response = Client::new()
        .get(&url)
        .bearer_auth("pk_test_1")
        .send()
        .await
        .unwrap();
    let (status, body) = status_json(response).await;
    assert_eq!(status, 401);
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("publishable API key"));

    let keyed = StandIn::with_api_key("sk_test_secret").await;
    let url = format!("{}/v1/charges/ch_1", keyed.base_url());
    let response = Client::new()
        .get(&url)
        .bearer_auth("sk_test_fake")
        .send()
        .await
        .unwrap();
    let (status, body) = status_json(response).await;
    assert_eq!(status, 401);
    assert_eq!(
        body["error"]["message"],
        "Invalid API Key provided: sk_test_****"
    );
    let response = Client::new()
        .get(&url)
        .bearer_auth("sk_test_secret")
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        404,
        "authenticated: on to the missing charge"
    );
}

#[tokio::test]
async fn expands_with_empty_brackets_and_reports_missing_objects() {
    let standin = StandIn::start().await;
    let mut metadata = Map::new();
    metadata.insert("orderId".into(), json!("ord_1"));
    standin.insert_payment_intent(objects::payment_intent("pi_1", Some("ch_1"), &metadata));
    standin.insert_charge(objects::charge(
        "ch_1",
        "pi_1",
        &metadata,
        "https://pay.stripe.com/r/1",
    ));
    let (_, pi) =
        status_json(get(&standin, "/v1/payment_intents/pi_1?expand[]=latest_charge").await).await;
    assert_eq!(pi["latest_charge"]["object"], "charge");
    assert_eq!(
        pi["latest_charge"]["receipt_url"],
        "https://pay.stripe.com/r/1"
    );
    let request = &standin.requests()[0];
    assert_eq!(
        request.query,
        [("expand[]".to_owned(), "latest_charge".to_owned())]
    );
    let (_, charge) = status_json(
        get(
            &standin,
            "/v1/charges/ch_1?expand%5B0%5D=payment_intent.latest_charge",
        )
        .await,
    )
    .await;
    assert_eq!(charge["payment_intent"]["latest_charge"]["id"], "ch_1");

    for (path, message) in [
        ("/v1/payment_intents/pi_x", "No such payment_intent: 'pi_x'"),
        ("/v1/charges/ch_x", "No such charge: 'ch_x'"),
        (
            "/v1/checkout/sessions/cs_x",
            "No such checkout.session: 'cs_x'",
        ),
    ] {
        let (status, body) = status_json(get(&standin, path).await).await;
        assert_eq!(status, 404);
        assert_eq!(body["error"]["code"], "resource_missing");
        assert_eq!(body["error"]["param"], "id");
        assert_eq!(body["error"]["message"], message);
    }
    let (status, body) = status_json(get(&standin, "/v1/customers").await).await;
    assert_eq!(status, 404);
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("Unrecognized request URL (GET: /v1/customers)."));
    let (status, _) = status_json(get(&standin, "/v1/checkout/sessions").await).await;
    assert_eq!(
        status, 404,
        "method not allowed is Stripe's unrecognized URL too"
    );
}
