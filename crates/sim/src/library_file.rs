//! Libraries described in a file instead of generated: `cachearr sim --library-file FILE`
//! (JSON or CSV) and the built-in `--library plexapi-bootstrap`.
//!
//! A generated library is right for scale; matching, index and security tests often need a
//! real-world one instead — the exact titles, years, track artists, MusicBrainz ids and files
//! of a library someone owns, or the fixed library python-plexapi's own test suite expects.
//! Both formats build the same [`Library`] through [`Library::add_item_with`], so every field
//! of [`ItemFields`] can be given; what is left out is derived as for generated items.
//!
//! JSON: `{"sections": [{"type": "movie"|"show"|"artist"|"photo", "title", "location"?, "items": [
//! {"title", "children": […], …ItemFields}]}]}` — shows hold seasons hold episodes, artists
//! hold albums hold tracks, photo albums hold photos and albums. CSV: one row per movie, episode or track with the columns
//! `section, kind, grandparent, parent, parentIndex, title` and any of the [`CSV_FIELDS`];
//! artists, albums, shows and seasons are made from the names the rows give. The format is
//! documented with examples in docs/simulator.md.

use std::collections::HashMap;

use serde::Deserialize;

use crate::library::{ItemFields, ItemId, ItemKind, Library, LibraryError, NewItem, SectionKind};

/// The library python-plexapi's test suite expects (from its `tools/plex-bootstraptest.py`,
/// with the media details its tests check).
pub const PLEXAPI_BOOTSTRAP: &str = include_str!("../data/plexapi-bootstrap.json");

/// A described library: sections with their item trees.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LibrarySpec {
    /// Sections, in id order (the first is section 1).
    pub sections: Vec<SectionSpec>,
}

/// One section of a [`LibrarySpec`].
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SectionSpec {
    /// Plex's section type: `movie`, `show` or `artist`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Display name.
    pub title: String,
    /// The folder the section scans (default `/data/<title>`).
    #[serde(default)]
    pub location: Option<String>,
    /// Top-level items (movies, shows or artists).
    #[serde(default)]
    pub items: Vec<ItemSpec>,
}

/// One item of a [`SectionSpec`], with its children.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(try_from = "serde_json::Map<String, serde_json::Value>")]
pub struct ItemSpec {
    /// Title.
    pub title: String,
    /// Seasons of a show, episodes of a season, albums of an artist, tracks of an album.
    pub children: Vec<ItemSpec>,
    /// Everything else a real item has.
    pub fields: ItemFields,
}

impl TryFrom<serde_json::Map<String, serde_json::Value>> for ItemSpec {
    type Error = String;

    // By hand rather than `#[serde(flatten)]`, which would let unknown names through: a
    // misspelt field must be refused, not silently dropped.
    fn try_from(mut map: serde_json::Map<String, serde_json::Value>) -> Result<Self, String> {
        let title = match map.remove("title") {
            Some(serde_json::Value::String(t)) => t,
            Some(_) => return Err("title must be a string".into()),
            None => return Err("an item needs a title".into()),
        };
        let children = match map.remove("children") {
            Some(v) => serde_json::from_value(v).map_err(|e| format!("{title:?}: {e}"))?,
            None => Vec::new(),
        };
        let fields = serde_json::from_value(serde_json::Value::Object(map))
            .map_err(|e| format!("{title:?}: {e}"))?;
        Ok(Self {
            title,
            children,
            fields,
        })
    }
}

/// Errors of reading a library file.
#[derive(Debug, thiserror::Error)]
pub enum LibraryFileError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// JSON that does not describe a library.
    #[error("bad library JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// CSV that does not describe a library.
    #[error("bad library CSV: {0}")]
    Csv(String),
    /// A shape the library cannot hold.
    #[error(transparent)]
    Library(#[from] LibraryError),
}

/// The optional CSV columns (besides `section, kind, grandparent, parent, parentIndex,
/// title`): the [`ItemFields`] that fit in one cell. Lists (`guids`, `labels`, `genres`) are
/// separated by `;`. `parentYear` sets the year of an album made from the rows.
pub const CSV_FIELDS: &[&str] = &[
    "duration",
    "originalTitle",
    "year",
    "index",
    "disc",
    "musicbrainzId",
    "musicbrainzReleaseGroup",
    "isrc",
    "guid",
    "guids",
    "labels",
    "genres",
    "contentRating",
    "studio",
    "summary",
    "file",
    "addedAt",
    "originallyAvailableAt",
    "parentYear",
    "container",
    "videoCodec",
    "audioCodec",
    "videoResolution",
    "width",
    "height",
    "bitrate",
];

fn section_kind(name: &str) -> Result<SectionKind, LibraryError> {
    match name {
        "movie" => Ok(SectionKind::Movies),
        "show" => Ok(SectionKind::Shows),
        "artist" => Ok(SectionKind::Music),
        "photo" => Ok(SectionKind::Photos),
        other => Err(LibraryError::BadShape(format!(
            "unknown section type {other:?} (movie, show, artist or photo)"
        ))),
    }
}

impl LibrarySpec {
    /// Parses JSON.
    pub fn from_json(text: &str) -> Result<Self, LibraryFileError> {
        Ok(serde_json::from_str(text)?)
    }

    /// Parses CSV (see the module docs).
    pub fn from_csv(text: &str) -> Result<Self, LibraryFileError> {
        let mut rd = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_reader(text.as_bytes());
        let headers = rd
            .headers()
            .map_err(|e| LibraryFileError::Csv(e.to_string()))?
            .clone();
        const BASE: &[&str] = &[
            "section",
            "kind",
            "grandparent",
            "parent",
            "parentIndex",
            "title",
        ];
        for h in &headers {
            if !BASE.contains(&h) && !CSV_FIELDS.contains(&h) {
                return Err(LibraryFileError::Csv(format!("unknown column {h:?}")));
            }
        }
        let mut spec = LibrarySpec {
            sections: Vec::new(),
        };
        for (n, row) in rd.records().enumerate() {
            let row = row.map_err(|e| LibraryFileError::Csv(e.to_string()))?;
            let row = CsvRow {
                headers: &headers,
                row: &row,
                line: n + 2,
            };
            let kind = row.cell("kind");
            let section_type = match kind {
                "movie" => "movie",
                "episode" => "show",
                "track" => "artist",
                other => {
                    return Err(row.bad(format!("kind {other:?} is not movie, episode or track")));
                }
            };
            let title = row.cell("title");
            if title.is_empty() {
                return Err(row.bad("no title".into()));
            }
            let leaf = ItemSpec {
                title: title.to_string(),
                children: Vec::new(),
                fields: row.fields()?,
            };
            let sidx = spec.section_for(&row, section_type)?;
            let items = &mut spec.sections[sidx].items;
            if kind == "movie" {
                items.push(leaf);
            } else {
                row.place_under_parents(items, kind == "episode", leaf)?;
            }
        }
        Ok(spec)
    }

    /// The index of the section a CSV row's item goes in (its `section` column, else the
    /// kind's usual name), added when it is the first.
    fn section_for(
        &mut self,
        row: &CsvRow<'_>,
        section_type: &str,
    ) -> Result<usize, LibraryFileError> {
        let section_title = match row.cell("section") {
            "" => match section_type {
                "movie" => "Movies",
                "show" => "TV Shows",
                _ => "Music",
            },
            s => s,
        };
        match self.sections.iter().position(|s| s.title == section_title) {
            Some(i) if self.sections[i].kind == section_type => Ok(i),
            Some(_) => Err(row.bad(format!(
                "section {section_title:?} already holds another kind"
            ))),
            None => {
                self.sections.push(SectionSpec {
                    kind: section_type.to_string(),
                    title: section_title.to_string(),
                    location: None,
                    items: Vec::new(),
                });
                Ok(self.sections.len() - 1)
            }
        }
    }

    /// Reads `path`: CSV when it ends in `.csv`, else JSON.
    pub fn read(path: &std::path::Path) -> Result<Self, LibraryFileError> {
        let text = std::fs::read_to_string(path).map_err(|source| LibraryFileError::Io {
            path: path.display().to_string(),
            source,
        })?;
        if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
        {
            Self::from_csv(&text)
        } else {
            Self::from_json(&text)
        }
    }

    /// The built-in library python-plexapi's test suite expects.
    pub fn plexapi_bootstrap() -> Self {
        // The file is part of the crate and tested below: it always parses.
        Self::from_json(PLEXAPI_BOOTSTRAP).expect("the built-in plexapi-bootstrap library parses")
    }

    /// Builds the library; items added at `now` unless they give `addedAt`.
    pub fn build(&self, seed: u64, now: u32) -> Result<Library, LibraryError> {
        let mut lib = Library::empty(seed);
        for s in &self.sections {
            let kind = section_kind(&s.kind)?;
            let location = s
                .location
                .clone()
                .unwrap_or_else(|| format!("/data/{}", s.title.replace('/', "_")));
            let sid = lib.add_section(kind, &s.title, &location, now)?;
            let kinds = kind.kinds();
            for item in &s.items {
                if kind == SectionKind::Photos {
                    add_photo_tree(&mut lib, item, Some(sid), None, now)?;
                } else {
                    add_tree(&mut lib, item, kinds, Some(sid), None, now)?;
                }
            }
        }
        lib.sort_naturally();
        Ok(lib)
    }
}

/// One row of a CSV library file, read by column name.
struct CsvRow<'a> {
    headers: &'a csv::StringRecord,
    row: &'a csv::StringRecord,
    /// Its line in the file, for errors.
    line: usize,
}

impl<'a> CsvRow<'a> {
    fn cell(&self, name: &str) -> &'a str {
        self.headers
            .iter()
            .position(|h| h == name)
            .and_then(|i| self.row.get(i))
            .unwrap_or("")
    }

    fn bad(&self, what: String) -> LibraryFileError {
        LibraryFileError::Csv(format!("line {}: {what}", self.line))
    }

    fn num(&self, name: &str) -> Result<Option<u64>, LibraryFileError> {
        match self.cell(name) {
            "" => Ok(None),
            v => v
                .parse::<u64>()
                .map(Some)
                .map_err(|_| self.bad(format!("{name} {v:?} is not a number"))),
        }
    }

    fn small(&self, name: &str) -> Result<Option<u16>, LibraryFileError> {
        self.num(name)?
            .map(|v| u16::try_from(v).map_err(|_| self.bad(format!("{name} {v} is too big"))))
            .transpose()
    }

    fn big(&self, name: &str) -> Result<Option<u32>, LibraryFileError> {
        self.num(name)?
            .map(|v| u32::try_from(v).map_err(|_| self.bad(format!("{name} {v} is too big"))))
            .transpose()
    }

    fn text(&self, name: &str) -> Option<String> {
        Some(self.cell(name).to_string()).filter(|s| !s.is_empty())
    }

    fn list(&self, name: &str) -> Vec<String> {
        self.cell(name)
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    }

    /// The item's fields, its media's when any media column is given.
    fn fields(&self) -> Result<ItemFields, LibraryFileError> {
        let media_cols = [
            "container",
            "videoCodec",
            "audioCodec",
            "videoResolution",
            "width",
            "height",
            "bitrate",
        ];
        let media = media_cols
            .iter()
            .any(|c| !self.cell(c).is_empty())
            .then(|| -> Result<_, LibraryFileError> {
                Ok(crate::library::MediaFields {
                    container: self.text("container"),
                    video_codec: self.text("videoCodec"),
                    audio_codec: self.text("audioCodec"),
                    video_resolution: self.text("videoResolution"),
                    width: self.big("width")?,
                    height: self.big("height")?,
                    bitrate: self.big("bitrate")?,
                    ..Default::default()
                })
            })
            .transpose()?;
        Ok(ItemFields {
            duration: self.big("duration")?,
            original_title: self.text("originalTitle"),
            year: self.small("year")?,
            index: self.small("index")?,
            disc: self.small("disc")?,
            musicbrainz_id: self.text("musicbrainzId"),
            musicbrainz_release_group: None,
            isrc: self.text("isrc"),
            guid: self.text("guid"),
            guids: self.list("guids"),
            labels: self.list("labels"),
            genres: self.list("genres"),
            content_rating: self.text("contentRating"),
            studio: self.text("studio"),
            summary: self.text("summary"),
            file: self.text("file"),
            added_at: self.big("addedAt")?,
            originally_available_at: self.text("originallyAvailableAt"),
            media,
            ..Default::default()
        })
    }

    /// Puts a track or an episode (`episode`) under its parent and grandparent (album and
    /// artist, season and show), made when they are not yet there.
    fn place_under_parents(
        &self,
        items: &mut Vec<ItemSpec>,
        episode: bool,
        leaf: ItemSpec,
    ) -> Result<(), LibraryFileError> {
        let (gp_default, p_default) = if episode {
            ("Unknown Show", "Season 1")
        } else {
            ("Unknown Artist", "Unknown Album")
        };
        let gp_title = self
            .text("grandparent")
            .unwrap_or_else(|| gp_default.to_string());
        let parent_index = self.small("parentIndex")?;
        let p_title = self.text("parent").unwrap_or_else(|| match parent_index {
            Some(i) if episode => format!("Season {i}"),
            _ => p_default.to_string(),
        });
        let gp = find_or_push(items, &gp_title);
        let p = find_or_push(&mut gp.children, &p_title);
        if let Some(i) = parent_index {
            p.fields.index = Some(i);
        }
        if episode && p.fields.index.is_none() {
            p.fields.index = p_title
                .strip_prefix("Season ")
                .and_then(|n| n.trim().parse().ok());
        }
        if let Some(y) = self.small("parentYear")? {
            p.fields.year = Some(y);
        } else if p.fields.year.is_none() {
            p.fields.year = leaf.fields.year;
        }
        p.children.push(leaf);
        Ok(())
    }
}

fn find_or_push<'a>(items: &'a mut Vec<ItemSpec>, title: &str) -> &'a mut ItemSpec {
    let pos = match items.iter().position(|i| i.title == title) {
        Some(p) => p,
        None => {
            items.push(ItemSpec {
                title: title.to_string(),
                children: Vec::new(),
                fields: ItemFields::default(),
            });
            items.len() - 1
        }
    };
    &mut items[pos]
}

fn add_tree(
    lib: &mut Library,
    item: &ItemSpec,
    kinds: &[ItemKind],
    section: Option<u32>,
    parent: Option<ItemId>,
    now: u32,
) -> Result<(), LibraryError> {
    let Some((&kind, rest)) = kinds.split_first() else {
        return Err(LibraryError::BadShape(format!(
            "{:?} has children, but a {} holds none",
            item.title, "leaf"
        )));
    };
    if !item.children.is_empty() && rest.is_empty() {
        return Err(LibraryError::BadShape(format!(
            "{:?} is a {} and cannot have children",
            item.title,
            kind.plex_name()
        )));
    }
    let id = lib.add_item_with(
        NewItem {
            kind,
            section,
            parent,
            title: item.title.clone(),
            added_at: now,
        },
        item.fields.clone(),
    )?;
    for child in &item.children {
        add_tree(lib, child, rest, None, Some(id), now)?;
    }
    Ok(())
}

/// A photo section's tree: top-level items and items with children are albums (folders),
/// the others photos — albums nest, as folders do.
fn add_photo_tree(
    lib: &mut Library,
    item: &ItemSpec,
    section: Option<u32>,
    parent: Option<ItemId>,
    now: u32,
) -> Result<(), LibraryError> {
    let kind = if parent.is_none() || !item.children.is_empty() {
        ItemKind::PhotoAlbum
    } else {
        ItemKind::Photo
    };
    let id = lib.add_item_with(
        NewItem {
            kind,
            section,
            parent,
            title: item.title.clone(),
            added_at: now,
        },
        item.fields.clone(),
    )?;
    for child in &item.children {
        add_photo_tree(lib, child, None, Some(id), now)?;
    }
    Ok(())
}

/// Counts of items per kind, for banners and tests.
pub fn counts(lib: &Library) -> HashMap<ItemKind, usize> {
    let mut out = HashMap::new();
    for s in lib.sections() {
        for &k in s.kind.kinds() {
            *out.entry(k).or_default() += s.items(k).len();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plexapi_bootstrap_library_is_the_one_the_suite_expects() {
        let lib = LibrarySpec::plexapi_bootstrap()
            .build(1, 1_700_000_000)
            .expect("build");
        let titles: Vec<(&str, &str)> = lib
            .sections()
            .iter()
            .map(|s| (s.title.as_str(), s.kind.plex_type()))
            .collect();
        assert_eq!(
            titles,
            [
                ("Movies", "movie"),
                ("TV Shows", "show"),
                ("Music", "artist"),
                ("Photos", "photo")
            ]
        );
        let c = counts(&lib);
        assert_eq!(c[&ItemKind::Movie], 4);
        assert_eq!(c[&ItemKind::Show], 2);
        assert_eq!(c[&ItemKind::Season], 4);
        assert_eq!(c[&ItemKind::Episode], 49);
        assert_eq!(c[&ItemKind::Artist], 2);
        let movies = lib.sections()[0].items(ItemKind::Movie);
        let first: Vec<&str> = movies
            .iter()
            .filter_map(|&id| lib.item(id).map(|i| i.title()))
            .collect();
        assert_eq!(
            first,
            [
                "Big Buck Bunny",
                "Elephants Dream",
                "Sintel",
                "Sita Sings the Blues"
            ]
        );
        let sita = lib.item(movies[3]).expect("sita");
        assert_eq!(sita.plex_guid(), "plex://movie/5d776846880197001ec967c6");
        assert!(sita.guids().contains(&"imdb://tt1172203".to_string()));
        assert_eq!(sita.studio(), Some("Nina Paley"));
        assert_eq!(sita.container(), Some("mkv"));
        assert_eq!(
            sita.media_fields().and_then(|m| m.streams.len().into()),
            Some(2)
        );
        // "The 100" sorts as "100", before "Game of Thrones", as on Plex.
        let got = lib.sections()[1].items(ItemKind::Show)[1];
        let got = lib.item(got).expect("show");
        assert_eq!(got.title(), "Game of Thrones");
        let s1 = lib.item(got.children()[0]).expect("season 1");
        assert_eq!((s1.index(), s1.children().len()), (1, 10));
        let e1 = lib.item(s1.children()[0]).expect("episode 1");
        assert_eq!(e1.title(), "Winter Is Coming");
        assert_eq!(e1.file_path(), "/data/TV Shows/Game of Thrones/S01E01.mp4");
        let track = lib.sections()[2].items(ItemKind::Track)[0];
        let track = lib.item(track).expect("track");
        assert_eq!(track.title(), "As Colourful as Ever");
        assert_eq!(track.file_size(), 3_761_053);
        assert_eq!(track.isrc(), Some("USA2P1200001"));
        // Photos: the album "Cats" holds three photos and three albums (7, 1 and 1 photos),
        // as the suite's bootstrap folders do; only the top-level album is listed.
        let photos = &lib.sections()[3];
        assert_eq!(photos.items(ItemKind::PhotoAlbum).len(), 1);
        let cats = lib
            .item(photos.items(ItemKind::PhotoAlbum)[0])
            .expect("cats");
        assert_eq!(cats.title(), "Cats");
        let kids: Vec<(ItemKind, &str, usize)> = cats
            .children()
            .iter()
            .filter_map(|&id| lib.item(id))
            .map(|i| (i.kind(), i.title(), i.children().len()))
            .collect();
        assert_eq!(
            kids,
            [
                (ItemKind::PhotoAlbum, "Cats in bed", 7),
                (ItemKind::PhotoAlbum, "Cats not in bed", 1),
                (ItemKind::PhotoAlbum, "Not cats in bed", 1),
                (ItemKind::Photo, "photo1", 0),
                (ItemKind::Photo, "photo2", 0),
                (ItemKind::Photo, "photo3", 0),
            ]
        );
        let in_bed = lib.item(cats.children()[0]).expect("cats in bed");
        let photo7 = lib.item(in_bed.children()[6]).expect("photo7");
        assert_eq!(photo7.title(), "photo7");
        assert_eq!(
            photo7.file_path(),
            "/data/Photos/Cats/Cats in bed/photo7.jpg"
        );
        assert_eq!(photo7.container(), Some("jpeg"));
        assert_eq!(
            photo7.plex_guid(),
            format!("com.plexapp.agents.none://{}?lang=xn", photo7.id())
        );
        assert_eq!(c[&ItemKind::Photo], 12);
    }

    #[test]
    fn a_csv_library_makes_artists_albums_shows_and_seasons_from_the_rows() {
        let csv = "section,kind,grandparent,parent,parentIndex,title,year,index,disc,duration,\
                   originalTitle,musicbrainzId,isrc,guids,labels,contentRating,file,container\n\
                   Films,movie,,,,Heat,1995,,,10200000,,,,imdb://tt0113277,Crime;Classic,R,/m/Heat (1995).mp4,mp4\n\
                   Music,track,Daft Punk,Discovery,,One More Time,2001,1,1,320000,,\
                   6a1d1e43-5bb8-44ad-91cd-4e1c0a8b31d7,GBDUW0000053,,,,,\n\
                   Music,track,Daft Punk,Discovery,,Aerodynamic,2001,2,1,212000,Daft Punk feat. Nobody,,,,,,,\n\
                   Shows,episode,Severance,,2,Hello Ms. Cobel,2025,1,,3000000,,,,,,TV-MA,,\n";
        let spec = LibrarySpec::from_csv(csv).expect("csv");
        let lib = spec.build(3, 1_700_000_000).expect("build");
        let heat = lib
            .item(lib.sections()[0].items(ItemKind::Movie)[0])
            .expect("heat");
        assert_eq!((heat.title(), heat.year()), ("Heat", 1995));
        assert_eq!(heat.labels(), ["Crime", "Classic"]);
        assert_eq!(heat.content_rating(), Some("R"));
        assert_eq!(heat.container(), Some("mp4"));
        assert_eq!(heat.guids(), ["imdb://tt0113277"]);
        let music = &lib.sections()[1];
        assert_eq!(music.items(ItemKind::Artist).len(), 1);
        assert_eq!(music.items(ItemKind::Album).len(), 1);
        let album = lib.item(music.items(ItemKind::Album)[0]).expect("album");
        assert_eq!((album.title(), album.year()), ("Discovery", 2001));
        let tracks: Vec<_> = album
            .children()
            .iter()
            .filter_map(|&t| lib.item(t))
            .collect();
        assert_eq!(tracks[0].isrc(), Some("GBDUW0000053"));
        assert_eq!(
            tracks[0].musicbrainz_id().as_deref(),
            Some("6a1d1e43-5bb8-44ad-91cd-4e1c0a8b31d7")
        );
        assert_eq!(tracks[1].original_title(), Some("Daft Punk feat. Nobody"));
        assert_eq!(tracks[1].index(), 2);
        let season = lib
            .item(lib.sections()[2].items(ItemKind::Season)[0])
            .expect("season");
        assert_eq!((season.title(), season.index()), ("Season 2", 2));
        let ep = lib.item(season.children()[0]).expect("episode");
        assert_eq!(ep.effective_content_rating(), Some("TV-MA"));
    }

    #[test]
    fn bad_library_files_are_refused_with_the_reason() {
        let err = |r: Result<LibrarySpec, LibraryFileError>| r.expect_err("refused").to_string();
        assert!(
            err(LibrarySpec::from_csv(
                "section,kind,title,colour\nM,movie,X,red\n"
            ))
            .contains("unknown column \"colour\"")
        );
        assert!(err(LibrarySpec::from_csv("kind,title\nphoto,X\n")).contains("line 2"));
        assert!(err(LibrarySpec::from_csv("kind,title,year\nmovie,X,1e9\n")).contains("year"));
        assert!(
            err(LibrarySpec::from_json(
                r#"{"sections":[{"type":"movie","title":"M","items":[{"title":"X","colour":1}]}]}"#
            ))
            .contains("colour")
        );
        let nested = LibrarySpec::from_json(
            r#"{"sections":[{"type":"movie","title":"M","items":[{"title":"X","children":[{"title":"Y"}]}]}]}"#,
        )
        .expect("parses");
        assert!(nested.build(1, 1).is_err(), "a movie holds no children");
        let attrs = LibrarySpec::from_json(
            r#"{"sections":[{"type":"movie","title":"M","items":[{"title":"X","attrs":{"evil":1}}]}]}"#,
        )
        .expect("parses");
        assert!(attrs.build(1, 1).is_err(), "only known Plex attributes");
        let clips = LibrarySpec::from_json(r#"{"sections":[{"type":"clip","title":"C"}]}"#)
            .expect("parses");
        let why = clips
            .build(1, 1)
            .expect_err("no such section type")
            .to_string();
        assert!(why.contains("unknown section type \"clip\""), "{why}");
    }
}
