//! Every integration test in one binary: the AWS SDK, sqlx and the xtask library
//! are linked once instead of once per area, and the areas share the process's
//! emulators (`tests/src/lib.rs`). One module per area; run one area with
//! `cargo test -p tests --test it -- iam::`, one test with
//! `cargo test -p tests --test it -- --exact iam::<test>`.
//!
//! The tests of every area run in parallel threads of this one process: each uses
//! resource names of its own (`unique_name`), and an area whose tests change what
//! is global to an emulator has one of its own (`emulator_of_own`).

mod audit;
mod credentials;
mod emulator;
mod html_report;
mod iam;
mod interrupted;
mod org;
mod rotator;
mod rotator_checks;
mod rotator_clusters;
mod rotator_iam;
mod tunnel;
mod xtask;
