//! An error with its causes on one line, for messages to people: `error sending request: client error (Connect):
//! tcp connect error: Connection refused (os error 111)`. Many errors (reqwest's, async-nats') print only their
//! own level, and the cause that tells an operator what to fix sits in their `source()` chain.

use std::error::Error;

/// `error: cause: cause of the cause …`, skipping a cause whose text the line already holds (some errors print
/// their source, or their whole chain, themselves).
pub fn chain(error: &dyn Error) -> String {
    let mut line = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !text.is_empty() && !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        source = cause.source();
    }
    line
}

#[cfg(test)]
mod tests {
    use super::chain;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] Middle);

    #[derive(Debug, thiserror::Error)]
    #[error("middle: {0}")]
    struct Middle(#[source] std::io::Error);

    #[test]
    fn joins_every_cause_once() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        assert_eq!(chain(&Outer(Middle(io))), "outer: middle: refused");
    }
}
