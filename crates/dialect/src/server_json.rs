//! Reading the servers' JSON leniently, for each dialect's reading of its library
//! (`plex/crawl.rs`, `jellyfin/crawl.rs`): fields that come as strings on one server or
//! version and as numbers on another, and a listing's array of items.

use cachearr_library::ItemRecord;
use serde_json::Value;

/// A field of a server's JSON as text, whether it came as a string or a number (Plex is not
/// consistent across versions, and ids are numbers on one server, strings on the other); an
/// empty string is no value.
pub(crate) fn json_text(item: &Value, key: &str) -> Option<String> {
    match item.get(key)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A field of a server's JSON as a whole number, whether it came as a number or a string.
pub(crate) fn json_number(item: &Value, key: &str) -> Option<i64> {
    match item.get(key)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The items of a listing's array (`None` or not an array: an empty page): how many the page
/// held, and the records `record` makes of those the index keeps.
pub(crate) fn records_of(
    list: Option<&Value>,
    record: impl Fn(&Value) -> Option<ItemRecord>,
) -> (u64, Vec<ItemRecord>) {
    let Some(list) = list.and_then(Value::as_array) else {
        return (0, Vec::new());
    };
    let records = list.iter().filter_map(record).collect();
    (list.len() as u64, records)
}
