//! The one HTTP client every callback attempt uses (pooled, so a receiver's connection is reused): it follows no
//! redirect, never takes a proxy from `HTTP_PROXY`/`HTTPS_PROXY`/`ALL_PROXY` (only `CALLBACK_PROXY`, when set), and
//! resolves names through [`GuardedResolver`], which looks up with a timeout and refuses every non-public address
//! it finds, so the address connected to is the address that was checked.

use std::{error::Error as StdError, sync::Arc, time::Duration};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use secrecy::ExposeSecret;

use super::guard::{self, GuardError};
use crate::config::CallbackConfig;

/// Builds the callback client. Fails only for a proxy URL reqwest cannot use.
pub fn build(config: &CallbackConfig) -> reqwest::Result<reqwest::Client> {
    let proxy_host = config
        .proxy
        .as_ref()
        .and_then(|p| url::Url::parse(p.expose_secret()).ok())
        .and_then(|u| u.host_str().map(str::to_owned));
    let resolver = GuardedResolver {
        allow_private: config.allow_private,
        timeout: config.timeout,
        trusted: proxy_host,
    };
    let mut builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(config.timeout)
        .connect_timeout(config.timeout)
        .user_agent(concat!("payments-callbacks/", env!("CARGO_PKG_VERSION")))
        // Before `proxy`: clears the proxies reqwest would read from the environment.
        .no_proxy()
        .dns_resolver(Arc::new(resolver));
    if let Some(proxy) = &config.proxy {
        builder = builder.proxy(reqwest::Proxy::all(proxy.expose_secret())?);
    }
    builder.build()
}

/// DNS for callbacks: a look-up with a timeout, then the SSRF check on every address.
#[derive(Clone)]
pub struct GuardedResolver {
    allow_private: bool,
    timeout: Duration,
    /// The operator's own `CALLBACK_PROXY` host, which may well be private.
    trusted: Option<String>,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let this = self.clone();
        Box::pin(async move {
            let host = name.as_str();
            // Port 0: the connector puts the URL's port on every address.
            let addrs = guard::lookup(host, 0, this.timeout).await?;
            let trusted = this.trusted.as_deref() == Some(host);
            guard::check(&addrs, this.allow_private || trusted)?;
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// The guard's refusal inside a failed request, if that is why it failed (found by type along the source chain).
pub fn refusal(error: &reqwest::Error) -> Option<&GuardError> {
    let mut source: Option<&(dyn StdError + 'static)> = error.source();
    while let Some(e) = source {
        if let Some(refused) = e.downcast_ref::<GuardError>() {
            return Some(refused);
        }
        source = e.source();
    }
    None
}

#[cfg(test)]
mod tests;
