//! Server preferences (`GET`/`PUT /:/prefs`) and section preferences
//! (`GET`/`PUT /library/sections/{id}/prefs`), as Plex lists them: `Setting` elements with
//! `id`, `label`, `summary`, `type` (`bool`, `int`, `double`, `text`), `default`, `value`,
//! `hidden`, `advanced`, `group` and `enumValues` (`value:label|…`). Only the owner may read
//! or change them (401 otherwise); an unknown id or a value of the wrong type is a 400 and
//! changes nothing. Changed values live in [`super::objects::Objects`].

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::{Ctx, plex_error, reply};
use crate::Sim;
use crate::library::SectionKind;
use cachearr_serverfmt::tree::El;

/// One setting's definition.
struct Def {
    id: &'static str,
    label: &'static str,
    summary: &'static str,
    kind: &'static str,
    default: &'static str,
    group: &'static str,
    advanced: bool,
    enum_values: &'static str,
}

const fn def(
    id: &'static str,
    label: &'static str,
    kind: &'static str,
    default: &'static str,
    group: &'static str,
) -> Def {
    Def {
        id,
        label,
        summary: "",
        kind,
        default,
        group,
        advanced: false,
        enum_values: "",
    }
}

/// A representative subset of a Plex Media Server's settings (the ones clients read and
/// write most), with Plex's ids, types, defaults and groups.
const SERVER: &[Def] = &[
    Def {
        summary: "This name will be used to identify this media server to other computers on your network. If you leave it blank, your computer's name will be used instead.",
        ..def("FriendlyName", "Friendly name", "text", "", "general")
    },
    Def {
        summary: "This helps us improve your experience.",
        ..def(
            "sendCrashReports",
            "Send crash reports to Plex",
            "bool",
            "true",
            "general",
        )
    },
    Def {
        advanced: true,
        ..def(
            "logDebug",
            "Enable Plex Media Server debug logging",
            "bool",
            "true",
            "general",
        )
    },
    Def {
        advanced: true,
        ..def(
            "LogVerbose",
            "Enable Plex Media Server verbose logging",
            "bool",
            "false",
            "general",
        )
    },
    Def {
        enum_values: "16:public|8:beta",
        ..def(
            "ButlerUpdateChannel",
            "Server update channel",
            "int",
            "16",
            "general",
        )
    },
    Def {
        summary: "Automatically empty the trash after every scan.",
        ..def(
            "autoEmptyTrash",
            "Empty trash automatically after every scan",
            "bool",
            "true",
            "library",
        )
    },
    Def {
        summary: "Maximum number of weeks since an item was last watched for it to appear on deck.",
        advanced: true,
        ..def(
            "OnDeckWindow",
            "Weeks to consider for Continue Watching",
            "int",
            "16",
            "library",
        )
    },
    def(
        "FSEventLibraryUpdatesEnabled",
        "Scan my library automatically",
        "bool",
        "false",
        "library",
    ),
    def(
        "FSEventLibraryPartialScanEnabled",
        "Run a partial scan when changes are detected",
        "bool",
        "false",
        "library",
    ),
    Def {
        enum_values: "0:never|1:every 15 minutes|2:every 30 minutes|3:hourly|4:every 2 hours|5:every 6 hours|6:every 12 hours|7:daily",
        ..def(
            "ScheduledLibraryUpdateInterval",
            "Library scan interval",
            "int",
            "3600",
            "library",
        )
    },
    def(
        "ScannerLowPriority",
        "Run scanner tasks at a lower priority",
        "bool",
        "false",
        "library",
    ),
    Def {
        enum_values: "0:Required|1:Preferred|2:Disabled",
        ..def(
            "secureConnections",
            "Secure connections",
            "int",
            "1",
            "network",
        )
    },
    def(
        "LanNetworksBandwidth",
        "LAN Networks",
        "text",
        "",
        "network",
    ),
    def(
        "customConnections",
        "Custom server access URLs",
        "text",
        "",
        "network",
    ),
    Def {
        enum_values: "0:Automatic|1:Prefer higher speed encoding|2:Prefer higher quality encoding|3:Make my CPU hurt",
        ..def(
            "TranscoderQuality",
            "Transcoder quality",
            "int",
            "0",
            "transcoder",
        )
    },
    def(
        "TranscoderTempDirectory",
        "Transcoder temporary directory",
        "text",
        "",
        "transcoder",
    ),
    def(
        "TranscoderThrottleBuffer",
        "Transcoder default throttle buffer",
        "int",
        "60",
        "transcoder",
    ),
    def(
        "ButlerStartHour",
        "Time at which tasks start to run",
        "int",
        "2",
        "butler",
    ),
    def(
        "ButlerEndHour",
        "Time at which tasks stop running",
        "int",
        "5",
        "butler",
    ),
    def(
        "ButlerTaskBackupDatabase",
        "Backup database every three days",
        "bool",
        "true",
        "butler",
    ),
    def(
        "ButlerTaskOptimizeDatabase",
        "Optimize database every week",
        "bool",
        "true",
        "butler",
    ),
    def(
        "ButlerTaskCleanOldBundles",
        "Remove old bundles every week",
        "bool",
        "true",
        "butler",
    ),
    def(
        "ButlerTaskRefreshLibraries",
        "Update all libraries during maintenance",
        "bool",
        "false",
        "butler",
    ),
    def(
        "DlnaEnabled",
        "Enable the DLNA server",
        "bool",
        "true",
        "dlna",
    ),
    Def {
        summary: "The owner of the server will be allowed to delete media files from disk.",
        ..def(
            "allowMediaDeletion",
            "Allow media deletion",
            "bool",
            "false",
            "library",
        )
    },
    def(
        "GenerateBIFBehavior",
        "Generate video preview thumbnails",
        "text",
        "never",
        "library",
    ),
];

/// Section preferences every section has, then those of movie and show sections.
const SECTION_COMMON: &[Def] = &[
    Def {
        enum_values: "0:Library default|1:Enabled|2:Disabled",
        ..def("enableCinemaTrailers", "Enable trailers", "int", "1", "")
    },
    Def {
        enum_values: "0:Disabled|1:Enabled",
        ..def("includeInGlobal", "Include in dashboard", "bool", "1", "")
    },
    def("hidden", "Visibility", "int", "0", ""),
];

const SECTION_VIDEO: &[Def] = &[
    Def {
        enum_values: "0:Disabled|1:Hide collection, show items|2:Show collection and items",
        ..def("collectionMode", "Collections", "int", "2", "")
    },
    def(
        "enableBIFGeneration",
        "Enable video preview thumbnails",
        "bool",
        "true",
        "",
    ),
    def(
        "enableCreditsMarkerGeneration",
        "Enable credits detection",
        "int",
        "-1",
        "",
    ),
    def(
        "enableAdMarkerGeneration",
        "Enable ad detection",
        "int",
        "-1",
        "",
    ),
];

const SECTION_MUSIC: &[Def] = &[
    def("respectTags", "Prefer local metadata", "bool", "false", ""),
    def(
        "augmentWithProviderContent",
        "Find lyrics",
        "bool",
        "true",
        "",
    ),
];

/// The value `raw` in the canonical form of a setting of type `kind`; `None` if it is not one.
fn normalise(kind: &str, raw: &str) -> Option<String> {
    match kind {
        "bool" => match raw {
            "1" | "true" | "True" => Some("true".into()),
            "0" | "false" | "False" => Some("false".into()),
            _ => None,
        },
        "int" => raw.trim().parse::<i64>().ok().map(|n| n.to_string()),
        "double" => raw.trim().parse::<f64>().ok().map(|n| n.to_string()),
        _ => Some(raw.to_string()),
    }
}

fn setting_el(d: &Def, value: &str) -> El {
    El::new("Setting")
        .a("id", d.id)
        .a("label", d.label)
        .a("summary", d.summary)
        .a("type", d.kind)
        .a("default", d.default)
        .a("value", value)
        .a("hidden", false)
        .a("advanced", d.advanced)
        .a("group", d.group)
        .a("enumValues", d.enum_values)
}

fn server_value(sim: &Sim, d: &Def) -> String {
    if let Some(v) = sim.objects().prefs.get(d.id) {
        return v.clone();
    }
    if d.id == "FriendlyName" {
        return sim.identity().friendly_name.clone();
    }
    d.default.to_string()
}

/// Whether the owner let the server delete media files (the server's root then says
/// `allowMediaDeletion="1"`, and says nothing otherwise).
pub(crate) fn allows_media_deletion(sim: &Sim) -> bool {
    sim.objects()
        .prefs
        .get("allowMediaDeletion")
        .is_some_and(|v| v == "true")
}

/// Checks every `id=value` pair of the query against `defs`; the canonical pairs, or 400.
fn parse_changes(ctx: &Ctx, defs: &[&Def]) -> Result<Vec<(String, String)>, StatusCode> {
    let mut out = Vec::new();
    for (k, v) in &ctx.query {
        if k.starts_with("X-Plex-") {
            continue;
        }
        let d = defs
            .iter()
            .find(|d| d.id == k)
            .ok_or(StatusCode::BAD_REQUEST)?;
        let v = normalise(d.kind, v).ok_or(StatusCode::BAD_REQUEST)?;
        out.push((d.id.to_string(), v));
    }
    Ok(out)
}

/// `GET /:/prefs`.
pub(crate) async fn get_prefs(State(sim): State<Sim>, ctx: Ctx) -> Response {
    if !ctx.user.is_owner {
        return plex_error(StatusCode::UNAUTHORIZED);
    }
    let mut doc = El::container().a("size", SERVER.len());
    for d in SERVER {
        doc.kids.push(setting_el(d, &server_value(&sim, d)));
    }
    sim.charge(0, 0).await;
    reply(ctx.json, &doc)
}

/// `PUT /:/prefs?{id}={value}&…`: all or nothing.
pub(crate) async fn put_prefs(State(sim): State<Sim>, ctx: Ctx) -> Response {
    if !ctx.user.is_owner {
        return plex_error(StatusCode::UNAUTHORIZED);
    }
    let defs: Vec<&Def> = SERVER.iter().collect();
    let changes = match parse_changes(&ctx, &defs) {
        Ok(c) => c,
        Err(status) => return plex_error(status),
    };
    sim.objects().prefs.extend(changes);
    sim.charge(0, 0).await;
    super::empty(&ctx)
}

fn section_defs(kind: SectionKind) -> Vec<&'static Def> {
    let extra = match kind {
        SectionKind::Music => SECTION_MUSIC,
        _ => SECTION_VIDEO,
    };
    SECTION_COMMON.iter().chain(extra).collect()
}

fn section_kind(sim: &Sim, ctx: &Ctx, id: &str) -> Result<(u32, SectionKind), StatusCode> {
    let id: u32 = id.parse().map_err(|_| StatusCode::NOT_FOUND)?;
    let lib = sim.library();
    let s = lib
        .section(id)
        .filter(|s| ctx.user.can_see_section(s.id))
        .ok_or(StatusCode::NOT_FOUND)?;
    Ok((s.id, s.kind))
}

/// `GET /library/sections/{id}/prefs`.
pub(crate) async fn get_section_prefs(
    State(sim): State<Sim>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Response {
    let (section, kind) = match section_kind(&sim, &ctx, &id) {
        Ok(s) => s,
        Err(status) => return plex_error(status),
    };
    if !ctx.user.is_owner {
        return plex_error(StatusCode::UNAUTHORIZED);
    }
    let defs = section_defs(kind);
    let mut doc = El::container().a("size", defs.len());
    {
        let objects = sim.objects();
        for d in defs {
            let value = objects
                .section_prefs
                .get(&(section, d.id.to_string()))
                .map_or(d.default, String::as_str);
            doc.kids.push(setting_el(d, value));
        }
    }
    sim.charge(0, 0).await;
    reply(ctx.json, &doc)
}

/// `PUT /library/sections/{id}/prefs?{id}={value}&…`.
pub(crate) async fn put_section_prefs(
    State(sim): State<Sim>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Response {
    let (section, kind) = match section_kind(&sim, &ctx, &id) {
        Ok(s) => s,
        Err(status) => return plex_error(status),
    };
    if !ctx.user.is_owner {
        return plex_error(StatusCode::UNAUTHORIZED);
    }
    let changes = match parse_changes(&ctx, &section_defs(kind)) {
        Ok(c) => c,
        Err(status) => return plex_error(status),
    };
    sim.objects()
        .section_prefs
        .extend(changes.into_iter().map(|(k, v)| ((section, k), v)));
    sim.charge(0, 0).await;
    super::empty(&ctx)
}
