//! TEMPORARY stand-in for gwcore's tag scheme (replaced when theirs lands).
#![allow(missing_docs)]
pub fn sections(up: &str) -> String {
    format!("{up}:sections")
}
pub fn section(up: &str, id: &str) -> String {
    format!("{up}:section:{id}")
}
pub fn item(up: &str, id: &str) -> String {
    format!("{up}:item:{id}")
}
pub fn recent(up: &str) -> String {
    format!("{up}:recent")
}
pub fn ondeck(up: &str) -> String {
    format!("{up}:ondeck")
}
pub fn history(up: &str) -> String {
    format!("{up}:history")
}
pub fn sessions(up: &str) -> String {
    format!("{up}:sessions")
}
pub fn playlists(up: &str) -> String {
    format!("{up}:playlists")
}
pub fn library(up: &str) -> String {
    format!("{up}:library")
}
