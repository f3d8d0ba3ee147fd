//! The server's bandwidth statistics (`GET /statistics/bandwidth`, the dashboard's, a Plex
//! Pass feature; python-plexapi's `PlexServer.bandwidth`): the bytes of media files the
//! server sent (`/library/parts/…`), recorded per transfer and summed per time bin, account,
//! device and network (every client of the simulator is on the local network).
//!
//! A transfer is counted for the device the request names by `X-Plex-Client-Identifier` when
//! it is one of the server's devices (`/devices`), else for device 1.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use super::{Ctx, plex_error, reply};
use crate::Sim;
use cachearr_serverfmt::tree::El;

/// Media bytes sent in one time bin to one account's device on one network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Transfer {
    /// Epoch seconds: the start of the bin.
    at: u32,
    /// The server account (`/accounts` id).
    account: u32,
    /// The server device (`/devices` id).
    device: u32,
    lan: bool,
    bytes: u64,
}

/// The device a client identifier is among the server's devices (see `server::devices`).
pub(crate) fn device_of(client_id: &str) -> u32 {
    if client_id == "plex-web-simulated" {
        2
    } else {
        1
    }
}

/// Records `bytes` sent to the caller of `ctx` now.
pub(crate) fn record(sim: &Sim, ctx: &Ctx, bytes: u64) {
    if bytes == 0 {
        return;
    }
    let key = (sim.now(), ctx.user.id, device_of(&ctx.client_id), true);
    *sim.objects().transfers.entry(key).or_default() += bytes;
}

/// The start of the bin of `timespan` (6 seconds, 4 hours, 3 days, 2 weeks, 1 months) that
/// holds `at`; None for another timespan.
fn bin(at: u32, timespan: u32) -> Option<u32> {
    const DAY: u32 = 86_400;
    Some(match timespan {
        6 => at,
        4 => at - at % 3_600,
        3 => at - at % DAY,
        // Weeks start on Monday; the epoch was a Thursday.
        2 => {
            let days = at / DAY;
            (days - (days + 3) % 7) * DAY
        }
        1 => month_start(at / DAY) * DAY,
        _ => return None,
    })
}

/// The first day of the month holding `days` (days since 1970-01-01), in days since then
/// (the proleptic Gregorian calendar, Howard Hinnant's civil-from-days).
fn month_start(days: u32) -> u32 {
    let z = i64::from(days) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day_of_month = doy - (153 * mp + 2) / 5;
    u32::try_from(i64::from(days) - day_of_month).unwrap_or(days)
}

/// A filter of the query: `accountID`, `deviceID`, `lan`, `at`, `bytes`, and `at`/`bytes`
/// with `<` or `>` (python-plexapi's names; both inclusive, as `<=` and `>=` are).
struct Filter {
    field: &'static str,
    /// Equal, or Less / Greater for an upper / lower bound.
    cmp: Ordering,
    value: u64,
}

fn parse_filters(ctx: &Ctx) -> Result<Vec<Filter>, StatusCode> {
    let mut out = Vec::new();
    for (k, v) in &ctx.query {
        if k.starts_with("X-Plex-") || k == "timespan" {
            continue;
        }
        let key = k.strip_suffix('=').unwrap_or(k);
        let (name, cmp) = if let Some(n) = key.strip_suffix('<') {
            (n, Ordering::Less)
        } else if let Some(n) = key.strip_suffix('>') {
            (n, Ordering::Greater)
        } else {
            (key, Ordering::Equal)
        };
        let field = match (name, cmp) {
            ("accountID", Ordering::Equal) => "accountID",
            ("deviceID", Ordering::Equal) => "deviceID",
            ("lan", Ordering::Equal) => "lan",
            ("at", _) => "at",
            ("bytes", _) => "bytes",
            _ => return Err(StatusCode::BAD_REQUEST),
        };
        let value = v
            .trim()
            .parse::<u64>()
            .map_err(|_| StatusCode::BAD_REQUEST)?;
        out.push(Filter { field, cmp, value });
    }
    Ok(out)
}

fn keeps(filters: &[Filter], row: &Transfer) -> bool {
    filters.iter().all(|f| {
        let have = match f.field {
            "accountID" => u64::from(row.account),
            "deviceID" => u64::from(row.device),
            "lan" => u64::from(row.lan),
            "at" => u64::from(row.at),
            _ => row.bytes,
        };
        let ord = have.cmp(&f.value);
        ord == f.cmp || ord == Ordering::Equal
    })
}

/// `GET /statistics/bandwidth?timespan=6&…filters`: the owner's view of the bytes sent, one
/// `StatisticsBandwidth` per bin, account, device and network, oldest first, after the
/// accounts and devices they name. A missing or unknown timespan, or an unknown filter, is a
/// 400.
pub(crate) async fn bandwidth(State(sim): State<Sim>, ctx: Ctx) -> Response {
    if !ctx.user.is_owner {
        return plex_error(StatusCode::UNAUTHORIZED);
    }
    let Some(timespan) = ctx.q("timespan").and_then(|t| t.parse::<u32>().ok()) else {
        return plex_error(StatusCode::BAD_REQUEST);
    };
    if bin(0, timespan).is_none() {
        return plex_error(StatusCode::BAD_REQUEST);
    }
    let filters = match parse_filters(&ctx) {
        Ok(f) => f,
        Err(status) => return plex_error(status),
    };
    let mut rows: BTreeMap<(u32, u32, u32, bool), u64> = BTreeMap::new();
    for (&(at, account, device, lan), &bytes) in &sim.objects().transfers {
        let at = bin(at, timespan).unwrap_or(at);
        *rows.entry((at, account, device, lan)).or_default() += bytes;
    }
    let rows: Vec<Transfer> = rows
        .into_iter()
        .map(|((at, account, device, lan), bytes)| Transfer {
            at,
            account,
            device,
            lan,
            bytes,
        })
        .filter(|r| keeps(&filters, r))
        .collect();
    let mut doc = El::container().a("size", rows.len());
    let accounts: BTreeSet<u32> = rows.iter().map(|r| r.account).collect();
    let names: Vec<(u32, String)> = {
        let state = sim.state();
        state
            .users()
            .iter()
            .filter(|u| accounts.contains(&u.id))
            .map(|u| (u.id, u.name.clone()))
            .collect()
    };
    for (id, name) in names {
        doc = doc.kid(
            El::new("Account")
                .a("id", id)
                .a("key", format!("/accounts/{id}"))
                .a("name", name),
        );
    }
    let devices: BTreeSet<u32> = rows.iter().map(|r| r.device).collect();
    for id in devices {
        doc = doc.kid(El::new("Device").a("id", id));
    }
    for r in rows {
        doc = doc.kid(
            El::new("StatisticsBandwidth")
                .a("accountID", r.account)
                .a("deviceID", r.device)
                .a("timespan", timespan)
                .a("at", r.at)
                .a("lan", r.lan)
                .a("bytes", r.bytes),
        );
    }
    sim.charge(0, 0).await;
    reply(ctx.json, &doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_start_at_the_hour_day_monday_and_month() {
        // 2026-11-28 (a Saturday) 15:42:50 UTC.
        let at = 1_795_880_570;
        assert_eq!(bin(at, 6), Some(at));
        assert_eq!(bin(at, 4), Some(1_795_878_000));
        assert_eq!(bin(at, 3), Some(1_795_824_000));
        assert_eq!(bin(at, 2), Some(1_795_392_000), "Monday 2026-11-23");
        assert_eq!(bin(at, 1), Some(1_793_491_200), "2026-11-01");
        assert_eq!(bin(at, 5), None);
    }
}
