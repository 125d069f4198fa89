//! Stripe's form encoding: `application/x-www-form-urlencoded` pairs whose keys use bracket notation to express
//! nested hashes and arrays (`metadata[orderId]=7`, `line_items[0][quantity]=2`, `expand[]=latest_charge`).
//!
//! [`pairs`] decodes a body or query string into `(key, value)` pairs as sent; [`decode`] folds them into a
//! [`Node`] tree. Arrays are hashes whose keys are indexes: `a[0]`, `a[1]` and `a[]`, `a[]` give the same tree.

use std::fmt;

/// Decodes a form body or query string into its pairs, in order, keys as sent (`%5B` becomes `[`, `+` a space).
pub fn pairs(raw: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(raw).into_owned().collect()
}

/// A decoded form value: a string, or a hash of further nodes in order of first appearance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Value(String),
    Hash(Vec<(String, Node)>),
}

/// A form that cannot be decoded, e.g. `metadata=x&metadata[a]=y` or an unbalanced `a[b`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormError {
    /// The key as sent.
    pub param: String,
    pub message: String,
}

impl fmt::Display for FormError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.param)
    }
}

impl std::error::Error for FormError {}

/// Folds pairs into a tree rooted at a hash. A repeated scalar key keeps its last value.
pub fn decode(pairs: &[(String, String)]) -> Result<Node, FormError> {
    let mut root = Node::Hash(Vec::new());
    for (key, value) in pairs {
        let path = split_key(key).ok_or_else(|| FormError {
            param: key.clone(),
            message: format!("Invalid parameter name: {key}"),
        })?;
        insert(&mut root, &path, value, key)?;
    }
    Ok(root)
}

/// `a[b][0][]` → `["a", "b", "0", ""]`; `None` when the brackets are unbalanced or the name is empty.
pub fn split_key(key: &str) -> Option<Vec<String>> {
    let (head, mut rest) = match key.find('[') {
        Some(i) => (&key[..i], &key[i..]),
        None => (key, ""),
    };
    if head.is_empty() || head.contains(']') {
        return None;
    }
    let mut path = vec![head.to_owned()];
    while !rest.is_empty() {
        let inner = rest.strip_prefix('[')?;
        let close = inner.find(']')?;
        let segment = &inner[..close];
        if segment.contains('[') {
            return None;
        }
        path.push(segment.to_owned());
        rest = &inner[close + 1..];
    }
    Some(path)
}

fn insert(node: &mut Node, path: &[String], value: &str, key: &str) -> Result<(), FormError> {
    let Node::Hash(entries) = node else {
        return Err(conflict(key));
    };
    let (first, rest) = path.split_first().expect("paths are never empty");
    let name = if first.is_empty() {
        entries.len().to_string()
    } else {
        first.clone()
    };
    let position = entries.iter().position(|(k, _)| *k == name);
    if rest.is_empty() {
        let leaf = Node::Value(value.to_owned());
        match position {
            Some(i) if matches!(entries[i].1, Node::Value(_)) => entries[i].1 = leaf,
            Some(_) => return Err(conflict(key)),
            None => entries.push((name, leaf)),
        }
        return Ok(());
    }
    let i = match position {
        Some(i) => i,
        None => {
            entries.push((name, Node::Hash(Vec::new())));
            entries.len() - 1
        }
    };
    // An empty string for a hash (`metadata=`) is Stripe's way to unset it: later keys may fill it again.
    if entries[i].1 == Node::Value(String::new()) {
        entries[i].1 = Node::Hash(Vec::new());
    }
    insert(&mut entries[i].1, rest, value, key)
}

fn conflict(key: &str) -> FormError {
    FormError {
        param: key.to_owned(),
        message: format!("Invalid hash: {key} is given both as a value and as a hash"),
    }
}

impl Node {
    /// The child named `key` of a hash.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Hash(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            Node::Value(_) => None,
        }
    }

    /// The string of a value node.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Node::Value(v) => Some(v),
            Node::Hash(_) => None,
        }
    }

    /// The string at `key` of a hash.
    pub fn str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(Node::as_str)
    }

    /// The entries of a hash (an empty string counts as an empty hash); `None` for other values.
    pub fn entries(&self) -> Option<&[(String, Node)]> {
        match self {
            Node::Hash(entries) => Some(entries),
            Node::Value(v) if v.is_empty() => Some(&[]),
            Node::Value(_) => None,
        }
    }

    /// The elements of an array: a hash whose keys are all indexes, ordered by index; `None` otherwise.
    pub fn items(&self) -> Option<Vec<&Node>> {
        let mut indexed = self
            .entries()?
            .iter()
            .map(|(k, v)| k.parse::<usize>().ok().map(|i| (i, v)))
            .collect::<Option<Vec<_>>>()?;
        indexed.sort_by_key(|(i, _)| *i);
        Some(indexed.into_iter().map(|(_, v)| v).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(raw: &str) -> Node {
        decode(&pairs(raw.as_bytes())).unwrap()
    }

    fn v(s: &str) -> Node {
        Node::Value(s.into())
    }

    #[test]
    fn percent_encoded_brackets_and_plus_decode() {
        let p = pairs(b"line_items%5B0%5D%5Bquantity%5D=2&name=T+Shirt%21");
        assert_eq!(p[0], ("line_items[0][quantity]".into(), "2".into()));
        assert_eq!(p[1], ("name".into(), "T Shirt!".into()));
    }

    #[test]
    fn nested_hashes_and_arrays() {
        let t = tree(
            "mode=payment&line_items[0][price_data][currency]=usd\
             &line_items[0][price_data][product_data][name]=T-Shirt\
             &line_items[0][price_data][unit_amount]=2050&line_items[0][quantity]=2\
             &line_items[1][quantity]=1&metadata[orderId]=42",
        );
        assert_eq!(t.str("mode"), Some("payment"));
        let items = t.get("line_items").unwrap().items().unwrap();
        assert_eq!(items.len(), 2);
        let price = items[0].get("price_data").unwrap();
        assert_eq!(price.str("currency"), Some("usd"));
        assert_eq!(
            price.get("product_data").unwrap().str("name"),
            Some("T-Shirt")
        );
        assert_eq!(items[1].str("quantity"), Some("1"));
        assert_eq!(t.get("metadata").unwrap().str("orderId"), Some("42"));
    }

    #[test]
    fn empty_brackets_append_and_indexes_sort() {
        let a = tree("expand[]=a&expand[]=b");
        let b = tree("expand[1]=b&expand[0]=a");
        let strs = |n: &Node| -> Vec<String> {
            let items = n.get("expand").unwrap().items().unwrap();
            items
                .iter()
                .map(|i| i.as_str().unwrap().to_owned())
                .collect()
        };
        assert_eq!(strs(&a), ["a", "b"]);
        assert_eq!(strs(&b), ["a", "b"]);
        assert_eq!(a.get("metadata"), None);
        assert_eq!(tree("m[a]=1").get("m").unwrap().items(), None);
    }

    #[test]
    fn empty_string_is_an_empty_hash_and_last_scalar_wins() {
        let t = tree("metadata=&x=1&x=2");
        assert_eq!(t.get("metadata").unwrap().entries().unwrap().len(), 0);
        assert_eq!(t.str("x"), Some("2"));
        let t = tree("metadata=&metadata[a]=b");
        assert_eq!(t.get("metadata").unwrap().str("a"), Some("b"));
        assert_eq!(v("x").entries(), None);
    }

    #[test]
    fn conflicts_and_bad_keys_are_errors() {
        let err = decode(&pairs(b"metadata=x&metadata[a]=y")).unwrap_err();
        assert_eq!(err.param, "metadata[a]");
        assert!(decode(&pairs(b"metadata[a]=y&metadata=x")).is_err());
        assert!(decode(&pairs(b"a[b=1")).is_err());
        assert!(decode(&pairs(b"[a]=1")).is_err());
        assert!(decode(&pairs(b"a[b]c=1")).is_err());
        assert_eq!(split_key("a[b][][c]").unwrap(), ["a", "b", "", "c"]);
    }
}
