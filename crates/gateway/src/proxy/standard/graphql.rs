//! GraphQL `POST` bodies on a route marked `graphql = true`: which operation a body runs and,
//! for a query, the text its key is made from.
//!
//! Two bodies ask the same thing when their documents differ only in what GraphQL ignores
//! (white space, commas, comments: the "ignored tokens" of the GraphQL specification,
//! §2.1.7) and their operation name, variables and extensions are equal. The key text is the
//! document's tokens joined by one space, then the operation name, then the variables and
//! extensions as JSON with their members sorted (`serde_json`'s map is ordered by key).
//!
//! Why a lexer here rather than a GraphQL crate: a cache needs the token stream and the kind
//! of the selected operation, not a syntax tree; `graphql-parser` would add its parser
//! combinator library and an allocation per node to every cached query's read, and a
//! document it rejects is one the server rejects too (such a body is passed through).

/// What a body asks.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Operation {
    /// A query: `text` is what its key is made from, `name` its operation name.
    Query {
        /// The normalised document, operation name, variables and extensions.
        text: String,
        /// The selected operation's name, if it has one.
        name: Option<String>,
    },
    /// A mutation or subscription, a batch, or a body not read with certainty: passed
    /// through, and a success invalidates the route.
    Other,
}

/// Reads a `POST` body.
pub(super) fn read(body: &[u8]) -> Operation {
    let Ok(serde_json::Value::Object(fields)) = serde_json::from_slice(body) else {
        return Operation::Other;
    };
    let Some(serde_json::Value::String(query)) = fields.get("query") else {
        // Persisted queries by hash alone, batches and the like: not read.
        return Operation::Other;
    };
    let wanted = match fields.get("operationName") {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(n)) => Some(n.as_str()),
        Some(_) => return Operation::Other,
    };
    let Some(tokens) = tokens(query) else {
        return Operation::Other;
    };
    let Some((kind, name)) = selected(&tokens, wanted) else {
        return Operation::Other;
    };
    if kind != "query" {
        return Operation::Other;
    }
    let json = |k: &str| {
        fields
            .get(k)
            .filter(|v| !v.is_null())
            .map_or_else(String::new, serde_json::Value::to_string)
    };
    let text = format!(
        "{}\n{}\n{}\n{}",
        tokens.join(" "),
        wanted.unwrap_or(""),
        json("variables"),
        json("extensions")
    );
    Operation::Query { text, name }
}

/// The document's tokens, without the ignored ones; `None` for an unterminated string.
fn tokens(doc: &str) -> Option<Vec<&str>> {
    let bytes = doc.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b' ' | b'\t' | b'\n' | b'\r' | b',' => i += 1,
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
            }
            b'"' => {
                let start = i;
                if bytes[i..].starts_with(b"\"\"\"") {
                    i += 3;
                    loop {
                        if i >= bytes.len() {
                            return None;
                        }
                        if bytes[i..].starts_with(b"\\\"\"\"") {
                            i += 4;
                        } else if bytes[i..].starts_with(b"\"\"\"") {
                            i += 3;
                            break;
                        } else {
                            i += 1;
                        }
                    }
                } else {
                    i += 1;
                    loop {
                        match bytes.get(i) {
                            None | Some(b'\n' | b'\r') => return None,
                            Some(b'\\') => i += 2,
                            Some(b'"') => {
                                i += 1;
                                break;
                            }
                            Some(_) => i += 1,
                        }
                    }
                }
                out.push(doc.get(start..i)?);
            }
            b'.' if bytes[i..].starts_with(b"...") => {
                out.push("...");
                i += 3;
            }
            b'!' | b'$' | b'&' | b'(' | b')' | b':' | b'=' | b'@' | b'[' | b']' | b'{' | b'|'
            | b'}' => {
                out.push(doc.get(i..=i)?);
                i += 1;
            }
            _ => {
                let start = i;
                while i < bytes.len() && !ends_word(bytes[i]) {
                    i += 1;
                }
                if i == start {
                    // A byte no token starts with (a lone `.`): step over it as written.
                    i += 1;
                }
                out.push(doc.get(start..i)?);
            }
        }
    }
    Some(out)
}

fn ends_word(b: u8) -> bool {
    matches!(
        b,
        b' ' | b'\t'
            | b'\n'
            | b'\r'
            | b','
            | b'#'
            | b'"'
            | b'!'
            | b'$'
            | b'&'
            | b'('
            | b')'
            | b':'
            | b'='
            | b'@'
            | b'['
            | b']'
            | b'{'
            | b'|'
            | b'}'
    )
}

/// The kind (`query`, `mutation`, `subscription`) and name of the operation a request runs:
/// the one named `wanted`, or the document's only operation. `None` when that cannot be
/// told (no such operation, several and none named, unbalanced braces).
fn selected(tokens: &[&str], wanted: Option<&str>) -> Option<(&'static str, Option<String>)> {
    let mut depth = 0usize;
    let mut operations: Vec<(&'static str, Option<String>)> = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let t = tokens[i];
        match t {
            "{" | "(" | "[" => {
                if depth == 0 && t == "{" {
                    // A selection set at the top level: the query shorthand.
                    operations.push(("query", None));
                }
                depth += 1;
            }
            "}" | ")" | "]" => depth = depth.checked_sub(1)?,
            "query" | "mutation" | "subscription" if depth == 0 => {
                let kind = match t {
                    "query" => "query",
                    "mutation" => "mutation",
                    _ => "subscription",
                };
                let name = tokens
                    .get(i + 1)
                    .filter(|n| n.bytes().all(|b| b == b'_' || b.is_ascii_alphanumeric()))
                    .map(|n| (*n).to_owned());
                if name.is_some() {
                    i += 1;
                }
                operations.push((kind, name));
                // Skip to the operation's selection set so it is not read as a shorthand.
                while i + 1 < tokens.len() && tokens[i + 1] != "{" {
                    i += 1;
                    match tokens[i] {
                        "(" | "[" => depth += 1,
                        ")" | "]" => depth = depth.checked_sub(1)?,
                        _ => {}
                    }
                }
                i += 1;
                depth += 1;
            }
            "fragment" if depth == 0 => {
                while i + 1 < tokens.len() && tokens[i + 1] != "{" {
                    i += 1;
                }
                i += 1;
                depth += 1;
            }
            _ => {}
        }
        i += 1;
    }
    if depth != 0 {
        return None;
    }
    match wanted {
        Some(w) => operations
            .into_iter()
            .find(|(_, n)| n.as_deref() == Some(w)),
        None if operations.len() == 1 => operations.pop(),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query_text(body: &str) -> String {
        match read(body.as_bytes()) {
            Operation::Query { text, .. } => text,
            Operation::Other => panic!("not read as a query: {body}"),
        }
    }

    #[test]
    fn ignored_tokens_do_not_change_the_key() {
        let a = query_text(r#"{"query":"query Stats { series(first: 10) { id, title } }"}"#);
        let b = query_text(
            r##"{"query":"# the dashboard's\nquery   Stats{\n  series(first:10){id title}\n}\n"}"##,
        );
        assert_eq!(a, b);
        let other = query_text(r#"{"query":"query Stats { series(first: 11) { id title } }"}"#);
        assert_ne!(a, other);
    }

    #[test]
    fn strings_are_kept_as_written() {
        let a = query_text(r#"{"query":"{ s(q: \"a  b, c\") { id } }"}"#);
        let b = query_text(r#"{"query":"{ s(q: \"a b c\") { id } }"}"#);
        assert_ne!(a, b);
        let block = query_text(r#"{"query":"{ s(q: \"\"\"x,  \\\"\"\" y\"\"\") { id } }"}"#);
        assert!(block.contains(r#""""x,  \""" y""""#), "{block}");
    }

    #[test]
    fn variables_are_compared_with_members_sorted() {
        let a = query_text(
            r#"{"query":"query Q($a: Int, $b: Int) { f(a: $a, b: $b) }","variables":{"a":1,"b":2}}"#,
        );
        let b = query_text(
            r#"{"variables":{"b":2,"a":1},"query":"query Q($a: Int, $b: Int) { f(a: $a, b: $b) }"}"#,
        );
        assert_eq!(a, b);
        let c = query_text(
            r#"{"query":"query Q($a: Int, $b: Int) { f(a: $a, b: $b) }","variables":{"a":1,"b":3}}"#,
        );
        assert_ne!(a, c);
    }

    #[test]
    fn the_selected_operation_decides() {
        let doc = "query List { a } mutation Add { add { id } }";
        let body = |name: &str| format!(r#"{{"query":"{doc}","operationName":"{name}"}}"#);
        assert!(matches!(
            read(body("List").as_bytes()),
            Operation::Query { name: Some(n), .. } if n == "List"
        ));
        assert_eq!(read(body("Add").as_bytes()), Operation::Other);
        assert_eq!(read(body("Missing").as_bytes()), Operation::Other);
        // Two operations and none named: the server refuses it, so does the cache.
        let unnamed = format!(r#"{{"query":"{doc}"}}"#);
        assert_eq!(read(unnamed.as_bytes()), Operation::Other);
    }

    #[test]
    fn mutations_subscriptions_and_unreadable_bodies_are_not_queries() {
        for body in [
            r#"{"query":"mutation { refresh }"}"#,
            r#"{"query":"subscription S { ticks }"}"#,
            r#"[{"query":"{ a }"}]"#,
            r#"{"extensions":{"persistedQuery":{"sha256Hash":"ab"}}}"#,
            r#"{"query":"{ a(s: \"open) }"}"#,
            r#"{"query":"{ a "}"#,
            r#"{"query":"{ a }","operationName":7}"#,
            "not json",
            "",
        ] {
            assert_eq!(read(body.as_bytes()), Operation::Other, "{body}");
        }
    }

    #[test]
    fn fragments_and_arguments_do_not_read_as_operations() {
        let body = r#"{"query":"query Q($id: ID = \"x\") { ...F } fragment F on Series { id }"}"#;
        assert!(matches!(
            read(body.as_bytes()),
            Operation::Query { name: Some(n), .. } if n == "Q"
        ));
        let shorthand = r#"{"query":"{ series { ...F } } fragment F on Series { id }"}"#;
        assert!(matches!(
            read(shorthand.as_bytes()),
            Operation::Query { name: None, .. }
        ));
    }
}
