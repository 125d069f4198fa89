//! The HTTP transport under async-stripe's request types: one pooled, keep-alive connection set to the Stripe
//! API. async-stripe's own client turns pooling off (`), so every call paid a fresh
//! TCP and TLS handshake with api.stripe.com; this one reuses connections and sends each request exactly once
//! (retrying is the caller's job, made safe by the idempotency key).

use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION, CONTENT_TYPE, USER_AGENT};
use stripe_client_core::{
    CustomizedStripeRequest, RequestBuilder, StripeClient, StripeClientErr, StripeMethod,
};

use secrecy::{ExposeSecret, SecretString};
use tracing::Instrument;

use crate::telemetry::{propagation, spans};

/// Why a Stripe call failed, before it is mapped to the service's `Error`.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// Stripe answered with an error status; `message` is Stripe's own, when its body had one.
    #[error("Stripe answered HTTP {status}")]
    Api {
        status: u16,
        message: Option<String>,
    },
    #[error("Stripe did not answer in time")]
    Timeout,
    /// No answer: DNS, connection, TLS or proxy failed. `url` is where the call went, without query or
    /// credentials; the line names every cause, the key never (reqwest's errors carry no headers).
    #[error("Stripe could not be reached: {}{}", url.as_deref().map(|u| format!("{u}: ")).unwrap_or_default(), crate::causes::chain(source))]
    Unreachable {
        url: Option<String>,
        #[source]
        source: reqwest::Error,
    },
    #[error("unexpected response from Stripe: {0}")]
    Unexpected(String),
}

impl StripeClientErr for TransportError {
    fn deserialize_err(msg: impl std::fmt::Display) -> Self {
        TransportError::Unexpected(msg.to_string())
    }
}

#[derive(Clone)]
pub struct Transport {
    http: reqwest::Client,
    /// The API base, e.g. `https://api.stripe.com`, parsed once: parsing a URL string per call (host, IDNA)
    /// was 5 % of a session's CPU.
    base: reqwest::Url,
    timeout: Duration,
}

impl Transport {
    pub fn new(secret: &SecretString, api_base: &str, timeout: Duration) -> Result<Self, String> {
        let mut auth = HeaderValue::try_from(format!("Bearer {}", secret.expose_secret()))
            .map_err(|_| "STRIPE_SECRET is not usable as an HTTP header".to_owned())?;
        auth.set_sensitive(true);
        let version = HeaderValue::from_str(stripe_shared::version::VERSION.as_str())
            .map_err(|_| "the Stripe API version is not a header value".to_owned())?;
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, auth);
        headers.insert("stripe-version", version);
        headers.insert(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE));
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(timeout)
            .pool_idle_timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| format!("building the Stripe HTTP client: {e}"))?;
        let base = reqwest::Url::parse(api_base)
            .map_err(|e| format!("STRIPE_API_BASE is not a URL: {e}"))?;
        Ok(Self {
            http,
            base,
            timeout,
        })
    }
}

const USER_AGENT_VALUE: &str = concat!("payments/", env!("CARGO_PKG_VERSION"));

impl StripeClient for Transport {
    type Err = TransportError;

    async fn execute(&self, request: CustomizedStripeRequest) -> Result<Bytes, TransportError> {
        let (request, config) = request.into_pieces();
        let key = config.request_strategy.as_ref().and_then(|s| s.get_key());
        let options = Options {
            timeout: config.timeout,
            idempotency_key: key.as_ref().map(|k| k.as_str()),
            account: config.account_id.as_ref().map(|a| a.as_str()),
        };
        let answer = self.send(request, options).await?;
        if (200..300).contains(&answer.status) {
            Ok(answer.body)
        } else {
            Err(TransportError::Api {
                status: answer.status,
                message: error_message(&answer.body),
            })
        }
    }
}

/// Per-request settings of async-stripe's `ConfigOverride` (which cannot be built outside its crate).
#[derive(Default)]
struct Options<'a> {
    timeout: Option<Duration>,
    idempotency_key: Option<&'a str>,
    account: Option<&'a str>,
}

/// Stripe's answer as it came: for callers that read the body leniently and act on the status themselves
/// (reconciliation honours `Retry-After` on a 429).
#[derive(Debug)]
pub struct RawAnswer {
    pub status: u16,
    /// `Retry-After` in seconds, when Stripe sent one.
    pub retry_after: Option<Duration>,
    pub body: Bytes,
}

impl Transport {
    /// Sends a request built by async-stripe's typed request types and returns the raw answer, whatever its
    /// status; only a failure to get an answer is an error.
    pub async fn send_raw(&self, request: RequestBuilder) -> Result<RawAnswer, TransportError> {
        self.send(request, Options::default()).await
    }

    async fn send(
        &self,
        request: RequestBuilder,
        options: Options<'_>,
    ) -> Result<RawAnswer, TransportError> {
        let method = match request.method {
            StripeMethod::Get => reqwest::Method::GET,
            StripeMethod::Post => reqwest::Method::POST,
            StripeMethod::Delete => reqwest::Method::DELETE,
        };
        let span = spans::stripe_call(method.as_str(), &request.path);
        let mut url = self.base.clone();
        url.set_path(&format!("v1{}", request.path));
        url.set_query(request.query.as_deref());
        let mut builder = self
            .http
            .request(method, url)
            .timeout(options.timeout.unwrap_or(self.timeout));
        if let Some(key) = options.idempotency_key {
            builder = builder.header("idempotency-key", key);
        }
        if let Some(account) = options.account {
            builder = builder.header("stripe-account", account);
        }
        // Harmless to Stripe; a stand-in or proxy in between sees which trace the call belongs to.
        if let Some(traceparent) = propagation::traceparent(&span) {
            builder = builder.header(propagation::TRACEPARENT, traceparent);
        }
        if let Some(body) = request.body {
            builder = builder
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(body);
        }
        let answer = async {
            let response = builder.send().await.map_err(transport_error)?;
            let status = response.status().as_u16();
            tracing::Span::current().record("http.response.status_code", status);
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            let body = response.bytes().await.map_err(transport_error)?;
            Ok(RawAnswer {
                status,
                retry_after,
                body,
            })
        };
        answer.instrument(span).await
    }
}

fn transport_error(e: reqwest::Error) -> TransportError {
    if e.is_timeout() {
        TransportError::Timeout
    } else {
        // Where the call went and every cause: "error sending request" alone tells an operator neither where the
        // call went nor why it failed (DNS, refused, TLS, proxy).
        let url = e.url().map(|url| {
            let mut url = url.clone();
            url.set_query(None);
            let _ = url.set_username("");
            let _ = url.set_password(None);
            url.to_string()
        });
        TransportError::Unreachable {
            url,
            source: e.without_url(),
        }
    }
}

/// Stripe's error body is `{"error":{"message":…,"type":…}}`.
pub(crate) fn error_message(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Body {
        error: Inner,
    }
    #[derive(serde::Deserialize)]
    struct Inner {
        message: Option<String>,
    }
    serde_json::from_slice::<Body>(body).ok()?.error.message
}

#[cfg(test)]
mod tests {
    use super::{error_message, transport_error};

    #[tokio::test]
    async fn an_unreachable_stripe_is_named_with_its_url_and_the_cause() {
        // A port that was just free: nothing listens there.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("http://user:pw@127.0.0.1:{port}/v1/charges/ch_1?expand[]=x");
        let error = reqwest::get(url).await.unwrap_err();
        let error = transport_error(error);
        assert!(
            std::error::Error::source(&error).is_some(),
            "the cause is kept"
        );
        let message = error.to_string();
        // What a caller reads: each cause once.
        let shown =
            crate::causes::chain(&crate::stripe::error::StripeError::Unavailable { source: error });
        assert_eq!(shown, format!("Stripe is unavailable: {message}"));
        assert_eq!(shown.matches("error sending request").count(), 1, "{shown}");
        assert!(
            message.starts_with(&format!(
                "Stripe could not be reached: http://127.0.0.1:{port}/v1/charges/ch_1: error sending request"
            )),
            "{message}"
        );
        assert!(message.contains("Connection refused"), "{message}");
        assert!(
            !message.contains("pw") && !message.contains("expand"),
            "{message}"
        );
    }

    #[test]
    fn stripe_error_bodies_give_their_message() {
        let body =
            br#"{"error":{"message":"Invalid currency: zzz","type":"invalid_request_error"}}"#;
        assert_eq!(
            error_message(body).as_deref(),
            Some("Invalid currency: zzz")
        );
        assert_eq!(error_message(br#"{"error":{"type":"api_error"}}"#), None);
        assert_eq!(error_message(b"<html>bad gateway</html>"), None);
    }
}
