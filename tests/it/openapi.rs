//! `GET /openapi.json` describes every route the router serves, with request and error bodies.

use serde_json::Value;

use crate::support::TestApp;

/// CONTRACT §2, independently of the code.
const CONTRACT_ROUTES: &[(&str, &str)] = &[
    ("post", "/payments/create-session"),
    ("post", "/payments/create-payment-session"),
    ("get", "/payments/success"),
    ("get", "/payments/cancel"),
    ("post", "/payments/webhook"),
    ("get", "/health"),
    ("get", "/ready"),
    ("get", "/metrics"),
    ("get", "/openapi.json"),
];

#[tokio::test]
async fn every_route_is_documented_and_every_documented_route_is_served() {
    let app = TestApp::spawn().await;
    let response = app.http.get(app.url("/openapi.json")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let doc: Value = response.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();

    for (method, path) in CONTRACT_ROUTES {
        assert!(
            paths.get(*path).and_then(|p| p.get(*method)).is_some(),
            "{method} {path} not documented"
        );
    }
    let mut operations = 0;
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            operations += 1;
            let request = app
                .http
                .request(method.to_uppercase().parse().unwrap(), app.url(path));
            let reply = request.send().await.unwrap();
            let status = reply.status().as_u16();
            let body = reply.text().await.unwrap();
            assert!(
                status != 405 && !(status == 404 && body.contains("Cannot")),
                "{method} {path} is documented but not routed ({status})"
            );
        }
    }
    assert_eq!(
        operations,
        CONTRACT_ROUTES.len(),
        "no undocumented extras, no missing ones"
    );

    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for name in [
        "CreateSessionRequest",
        "CreateSessionItem",
        "SessionCreated",
        "ErrorBody",
        "Received",
        "Page",
        "Probe",
    ] {
        assert!(schemas.contains_key(name), "schema {name} missing");
    }
    let create = &paths["/payments/create-session"]["post"];
    assert_eq!(
        create["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/CreateSessionRequest"
    );
    for status in ["400", "413", "415", "502", "503"] {
        assert_eq!(
            create["responses"][status]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/ErrorBody",
            "create-session {status}"
        );
    }
    let price = &schemas["CreateSessionItem"]["properties"]["price"];
    assert_eq!(price["type"], "number");
}
