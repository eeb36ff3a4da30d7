//! The project's tasks as a library, so that the integration tests start the
//! emulator through the same code as `cargo xtask emulator up`.

pub mod aws;
pub mod bench;
pub mod build;
pub mod cleanup;
pub mod commands;
pub mod database;
pub mod demo;
pub mod deploy;
pub mod discovery;
pub mod emulator;
pub mod fidelity;
pub mod fuzz;
pub mod libtest;
pub mod names;
pub mod paths;
pub mod pending;
pub mod placement;
pub mod prerequisites;
pub mod provision;
pub mod resources;
pub mod rotate;
pub mod rotation_status;
pub mod state;
pub mod tags;
pub mod test;
pub mod tls;
pub mod tunnel;
