//! `cargo xtask demo`: the main job end to end on the embedded emulator.
//!
//! Until provisioning and deployment exist, the demo starts the emulator, shows the
//! environment and says which stages follow.

use std::process::ExitCode;
use std::time::Instant;

use anyhow::Result;

use crate::emulator::{self, Emulator, EmulatorOptions};

/// Runs the demo.
pub fn run() -> Result<ExitCode> {
    let options = EmulatorOptions {
        dir: crate::paths::target_dir().join("emulator").join("demo"),
        parent_pid: Some(std::process::id()),
    };
    emulator::stop(&options.dir)?;
    let started = Instant::now();
    let emulator = Emulator::start(&options)?;
    println!(
        "[{:>5.1}s] emulator up: moto at {}, MariaDB with TLS on port {}",
        started.elapsed().as_secs_f64(),
        emulator.state.endpoint_url,
        emulator.state.database.port
    );
    println!(
        "stages still to come: provision, deploy, rotate twice, audit, break SSH, audit, cleanup"
    );
    emulator::stop(&options.dir)?;
    println!(
        "[{:>5.1}s] emulator stopped",
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}
