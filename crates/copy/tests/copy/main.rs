//! The library copy's end-to-end tests, one test binary (`cargo nextest run -p cachearr-copy
//! --test copy`; one file with `-E 'test(/^walk_answers::/)'`): a real gateway with the copy
//! attached (`cachearr_testkit::sim_gateway`) in front of the simulator, driven over HTTP.
//! Each file is a module named after what it tests. The copy's unit tests stay beside its code.

mod change_feed;
mod copy_counts;
mod index_answers;
mod index_answers_jellyfin;
mod index_e2e;
mod kinds_held;
mod match_api;
mod operator_start;
mod plextv_shares;
mod random_sorts;
mod redis_background;
mod restricted_policies;
mod restricted_users;
mod walk_answers;
