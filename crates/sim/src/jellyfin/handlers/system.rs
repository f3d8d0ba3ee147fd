//! The administrators' system pages a dashboard reads: `/System/Info/Storage` (10.11 on) and
//! `/ScheduledTasks`, shaped as the server's `SystemStorageDto` and `TaskInfo` are.

use super::*;

/// Bytes of the simulated disk every folder lives on.
const DISK_BYTES: i64 = 2_000_000_000_000;

/// Bytes used on it.
const USED_BYTES: i64 = 734_003_200_000;

/// One `FolderStorageDto` (`StorageHelper.GetFreeSpaceOf` reads `DriveInfo`: the format is
/// the file system's, the device id the mount point).
fn folder(path: &str) -> Value {
    serde_json::json!({
        "Path": path,
        "FreeSpace": DISK_BYTES - USED_BYTES,
        "UsedSpace": USED_BYTES,
        "StorageType": "ext4",
        "DeviceId": "/",
    })
}

/// `GET /System/Info/Storage` (administrators): the server's folders and each library's.
pub(super) fn system_storage(front: &Front, req: &Req, caller: &User) -> Result<Reply, ApiError> {
    if !caller.is_owner {
        return Err(ApiError::Forbidden);
    }
    let libraries: Vec<Value> = front
        .sim
        .library()
        .sections()
        .iter()
        .map(|section| {
            serde_json::json!({
                "Id": view_id(section.id),
                "Name": section.title,
                "Folders": [folder(&section.location)],
            })
        })
        .collect();
    let storage = serde_json::json!({
        "ProgramDataFolder": folder("/config"),
        "WebFolder": folder("/usr/share/jellyfin/web"),
        "ImageCacheFolder": folder("/cache/images"),
        "CacheFolder": folder("/cache"),
        "LogFolder": folder("/config/log"),
        "InternalMetadataFolder": folder("/config/metadata"),
        "TranscodingTempFolder": folder("/cache/transcodes"),
        "Libraries": libraries,
    });
    Ok(Reply::json(req.casing, &storage, Work::default()))
}

/// A scheduled task of the server: its id (`ScheduledTaskWorker.Id`, the MD5 of the task
/// class's full name read as a GUID), key, English name and description, category and
/// interval in hours.
struct Task {
    id: &'static str,
    key: &'static str,
    name: &'static str,
    description: &'static str,
    category: &'static str,
    interval_hours: i64,
}

/// Three of the server's tasks, the library scan first among them by name order below.
const TASKS: [Task; 3] = [
    Task {
        id: "241d4fcb19a1d557ee62428e411da609",
        key: "DeleteCacheFiles",
        name: "Clean Cache Directory",
        description: "Deletes cache files no longer needed by the system.",
        category: "Maintenance",
        interval_hours: 24,
    },
    Task {
        id: "1c8ede62c521bea0bf851344f5b8ca40",
        key: "CleanLogFiles",
        name: "Clean Log Directory",
        description: "Deletes log files that are more than 3 days old.",
        category: "Maintenance",
        interval_hours: 24,
    },
    Task {
        id: "7738148ffcd07979c7ceb148e06b3aed",
        key: "RefreshLibrary",
        name: "Scan Media Library",
        description: "Scans your media library for new files and refreshes metadata.",
        category: "Library",
        interval_hours: 12,
    },
];

/// Ticks (100 ns) per hour.
const TICKS_PER_HOUR: i64 = 36_000_000_000;

/// A task as `TaskInfo`: the library scan runs while any section is being scanned.
fn task_info(task: &Task, scanning: bool, now: u32) -> Value {
    let running = scanning && task.key == "RefreshLibrary";
    let mut info = serde_json::json!({
        "Name": task.name,
        "State": if running { "Running" } else { "Idle" },
        "Id": task.id,
        "LastExecutionResult": {
            "StartTimeUtc": iso8601(i64::from(now.saturating_sub(3_600))),
            "EndTimeUtc": iso8601(i64::from(now.saturating_sub(3_540))),
            "Status": "Completed",
            "Name": task.name,
            "Key": task.key,
            "Id": task.id,
        },
        "Triggers": [{
            "Type": "IntervalTrigger",
            "IntervalTicks": task.interval_hours * TICKS_PER_HOUR,
        }],
        "Description": task.description,
        "Category": task.category,
        "IsHidden": false,
        "Key": task.key,
    });
    if running {
        info["CurrentProgressPercentage"] = serde_json::json!(50.0);
    }
    info
}

/// `GET /ScheduledTasks` (administrators), by name; `isHidden` / `isEnabled` filter (every
/// task here is visible and enabled).
pub(super) fn scheduled_tasks(front: &Front, req: &Req, caller: &User) -> Result<Reply, ApiError> {
    if !caller.is_owner {
        return Err(ApiError::Forbidden);
    }
    let hidden = req.query.bool("isHidden")?;
    let enabled = req.query.bool("isEnabled")?;
    let scanning = !front.sim.state().scanning_sections().is_empty();
    let now = front.sim.now();
    let tasks: Vec<Value> = if hidden == Some(true) || enabled == Some(false) {
        Vec::new()
    } else {
        TASKS.iter().map(|t| task_info(t, scanning, now)).collect()
    };
    Ok(Reply::json(req.casing, &tasks, Work::default()))
}

/// `GET /ScheduledTasks/{taskId}` (administrators; the id in any case).
pub(super) fn scheduled_task(
    front: &Front,
    req: &Req,
    caller: &User,
    id: &str,
) -> Result<Reply, ApiError> {
    if !caller.is_owner {
        return Err(ApiError::Forbidden);
    }
    let task = TASKS
        .iter()
        .find(|t| t.id.eq_ignore_ascii_case(id))
        .ok_or(ApiError::NotFound)?;
    let scanning = !front.sim.state().scanning_sections().is_empty();
    let info = task_info(task, scanning, front.sim.now());
    Ok(Reply::json(req.casing, &info, Work::default()))
}
