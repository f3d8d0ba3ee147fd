//! The media server as the sync sees it, through the gateway's proxy listener: who the user
//! is, their playlists and entries, and the writes (create, add, remove, move) in each
//! server's own API.

use super::*;

/// The media server, reached through the gateway's proxy listener as the user.
pub(super) struct Server {
    pub(super) client: reqwest::Client,
    pub(super) base: String,
    pub(super) kind: Kind,
    pub(super) token: String,
    pub(super) reads: usize,
    pub(super) writes: usize,
}

/// A JSON value as text (Plex sends some ids as numbers).
pub(super) fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A JSON value as a flag (`true`, `1`, `"1"`).
pub(super) fn flag(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_u64() == Some(1),
        Value::String(s) => s == "1" || s == "true",
        _ => false,
    }
}

pub(super) fn array(v: &Value) -> &[Value] {
    v.as_array().map(Vec::as_slice).unwrap_or(&[])
}

impl Server {
    pub(super) fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .header("accept", "application/json");
        // The token travels in a header, never in the URL (URLs end up in logs).
        match self.kind {
            Kind::Plex => request
                .header("x-plex-token", &self.token)
                .header("x-plex-product", "cachearr")
                .header("x-plex-client-identifier", "cachearr-playlist-sync"),
            Kind::Jellyfin => request.header(
                "authorization",
                format!(
                    "MediaBrowser Client=\"cachearr\", Device=\"cli\", \
                     DeviceId=\"cachearr-playlist-sync\", Version=\"{}\", Token=\"{}\"",
                    env!("CARGO_PKG_VERSION"),
                    self.token
                ),
            ),
        }
    }

    pub(super) async fn send(
        &mut self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let write = method != reqwest::Method::GET;
        let mut request = self.request(method.clone(), path);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("cannot reach the server through {}", self.base))?;
        if write {
            self.writes += 1;
        } else {
            self.reads += 1;
        }
        let status = response.status();
        let route = path.split('?').next().unwrap_or(path);
        if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
            bail!("the server refused the user token ({method} {route} answered {status})");
        }
        if !status.is_success() {
            bail!("{method} {route} answered {status}");
        }
        let bytes = response
            .bytes()
            .await
            .context("reading the server's answer")?;
        if bytes.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&bytes)
            .with_context(|| format!("{method} {route} answered something that is not JSON"))
    }

    pub(super) async fn get(&mut self, path: &str) -> anyhow::Result<Value> {
        self.send(reqwest::Method::GET, path, None).await
    }

    /// The id of the user's playlist named `name`, if there is one.
    pub(super) async fn find(&mut self, name: &str) -> anyhow::Result<Option<String>> {
        let found: Vec<(String, String)> = match self.kind {
            Kind::Plex => {
                let v = self.get("/playlists?playlistType=audio").await?;
                array(&v["MediaContainer"]["Metadata"])
                    .iter()
                    .filter(|p| !flag(&p["smart"]))
                    .filter_map(|p| Some((text(&p["ratingKey"])?, text(&p["title"])?)))
                    .collect()
            }
            Kind::Jellyfin => {
                let v = self
                    .get("/Items?IncludeItemTypes=Playlist&Recursive=true")
                    .await?;
                array(&v["Items"])
                    .iter()
                    .filter_map(|p| Some((text(&p["Id"])?, text(&p["Name"])?)))
                    .collect()
            }
        };
        let exact: Vec<&(String, String)> = found.iter().filter(|(_, t)| t == name).collect();
        if exact.len() > 1 {
            tracing::warn!(
                "{} playlists are named {name:?}; updating the first",
                exact.len()
            );
        }
        Ok(exact.first().map(|(id, _)| id.clone()))
    }

    /// The playlist's entries in order.
    pub(super) async fn entries(&mut self, id: &str) -> anyhow::Result<Vec<Entry>> {
        Ok(match self.kind {
            Kind::Plex => {
                let v = self.get(&format!("/playlists/{id}/items")).await?;
                array(&v["MediaContainer"]["Metadata"])
                    .iter()
                    .filter_map(|e| {
                        Some(Entry {
                            entry: text(&e["playlistItemID"])?,
                            item: text(&e["ratingKey"])?,
                        })
                    })
                    .collect()
            }
            Kind::Jellyfin => {
                let v = self.get(&format!("/Playlists/{id}/Items")).await?;
                array(&v["Items"])
                    .iter()
                    .filter_map(|e| {
                        Some(Entry {
                            entry: text(&e["PlaylistItemId"])?,
                            item: text(&e["Id"])?,
                        })
                    })
                    .collect()
            }
        })
    }

    /// Plex: `server://{machine}/com.plexapp.plugins.library/library/metadata/{ids}`.
    pub(super) async fn plex_uri(
        &mut self,
        machine: &mut Option<String>,
        ids: &[String],
    ) -> anyhow::Result<String> {
        if machine.is_none() {
            let v = self.get("/identity").await?;
            *machine = Some(
                text(&v["MediaContainer"]["machineIdentifier"])
                    .context("the server's /identity has no machineIdentifier")?,
            );
        }
        let machine = machine.as_deref().unwrap_or_default();
        Ok(format!(
            "server://{machine}/com.plexapp.plugins.library/library/metadata/{}",
            ids.join(",")
        ))
    }
}

/// `a=1&b=2`, percent-encoded.
pub(super) fn query(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Percent-encodes everything but unreserved characters.
pub(super) fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char);
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
