//! The simulator's integration tests, one test binary (`cargo nextest run -p cachearr-sim
//! --test sim`): one module per file, so the simulator is linked once; nextest still runs each
//! test in its own process. What the files share is in [`common`].

mod common;

mod jellyfin_activity;
mod jellyfin_api;
mod jellyfin_events;
mod jellyfin_python;
mod plex_core;
mod plex_events;
mod plex_faults;
mod plex_hostile;
mod plex_objects;
mod plex_state;
mod plextv;
mod restrictions;
mod serial_python_plexapi;
