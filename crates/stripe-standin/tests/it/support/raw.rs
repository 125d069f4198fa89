//! Helpers for tests that drive the stand-in over raw HTTP (reqwest).

use reqwest::{Client, Response};
use serde_json::Value;
use stripe_standin::StandIn;

use super::API_KEY;

/// Two T-shirts at 20.50 and three pairs of socks at 0.995 (`unit_amount_decimal`), partly percent-encoded.
pub const T_SHIRTS: &str = "mode=payment&success_url=https%3A%2F%2Fshop.example%2Fok&cancel_url=https://shop.example/no\
    &line_items%5B0%5D%5Bprice_data%5D%5Bcurrency%5D=usd\
    &line_items[0][price_data][product_data][name]=T-Shirt&line_items[0][price_data][unit_amount]=2050\
    &line_items[0][quantity]=2&line_items[1][price_data][currency]=usd\
    &line_items[1][price_data][product_data][name]=Socks&line_items[1][price_data][unit_amount_decimal]=99.5\
    &line_items[1][quantity]=3&metadata[orderId]=ord_7&client_reference_id=ord_7";

pub async fn post(standin: &StandIn, body: &str, idempotency_key: Option<&str>) -> Response {
    let mut request = Client::new()
        .post(format!("{}/v1/checkout/sessions", standin.base_url()))
        .bearer_auth(API_KEY)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.to_owned());
    if let Some(key) = idempotency_key {
        request = request.header("Idempotency-Key", key);
    }
    request.send().await.unwrap()
}

pub async fn get(standin: &StandIn, path_and_query: &str) -> Response {
    let url = format!("{}{path_and_query}", standin.base_url());
    Client::new()
        .get(url)
        .bearer_auth(API_KEY)
        .send()
        .await
        .unwrap()
}

pub async fn status_json(response: Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(content_type, "application/json");
    assert!(response.headers()["request-id"]
        .to_str()
        .unwrap()
        .starts_with("req_"));
    (status, response.json().await.unwrap())
}

pub fn without(param: &str) -> String {
    T_SHIRTS
        .split('&')
        .filter(|pair| !form_key(pair).starts_with(param))
        .collect::<Vec<_>>()
        .join("&")
}

pub fn form_key(pair: &str) -> String {
    pair.split('=')
        .next()
        .unwrap()
        .replace("%5B", "[")
        .replace("%5D", "]")
}

/// Posts `body` as JSON to a route of the stand-in (an `/_emulator/…` admin route); the status and the JSON answer
/// (`null` when the answer is not JSON).
pub async fn admin(standin: &StandIn, path: &str, body: &Value) -> (u16, Value) {
    let response = Client::new()
        .post(format!("{}{path}", standin.base_url()))
        .json(body)
        .send()
        .await
        .unwrap();
    answer(response).await
}

/// GETs `path` (API or emulator) with a test key; the status and the JSON answer (`null` when not JSON).
pub async fn get_json(standin: &StandIn, path_and_query: &str) -> (u16, Value) {
    answer(get(standin, path_and_query).await).await
}

async fn answer(response: Response) -> (u16, Value) {
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}
