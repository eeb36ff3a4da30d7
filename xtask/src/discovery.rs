//! What the run's tags find: every resource of the run, read-only.
//!
//! Cleanup deletes what this finds, and provision's dry run plans from it. A
//! resource counts only when it carries both the project's tag and the run's tag: a
//! name alone never qualifies (IAM roles and Lambda functions are looked up by name
//! and then kept only if their tags say they are ours). How each kind is found is
//! its own file's `discover` (below [`crate::resources`]); this walks the table.

use anyhow::Result;
use aws_config::SdkConfig;

use crate::names::Names;
pub use crate::resources::Resource;
use crate::resources::{Clients, Kind, Planned, TABLE, engine};

/// What `found` means for one command: for each kind of `kinds`, the ids found, as
/// [`crate::resources::plan`] prints them.
pub fn planned(found: &[Resource], kinds: &[Kind]) -> Vec<Planned> {
    kinds
        .iter()
        .map(|kind| Planned {
            kind: *kind,
            found: found
                .iter()
                .filter(|r| r.kind == *kind)
                .map(|r| {
                    if r.name.is_empty() || r.name == r.id {
                        r.id.clone()
                    } else {
                        format!("{} {}", r.id, r.name)
                    }
                })
                .collect(),
        })
        .collect()
}

/// Every resource carrying the run's tags (read-only).
pub async fn discover(config: &SdkConfig, names: &Names) -> Result<Vec<Resource>> {
    discover_with(&Clients::new(config), names).await
}

/// [`discover`] with the clients at hand: each kind of the table, found its own way.
pub(crate) async fn discover_with(clients: &Clients, names: &Names) -> Result<Vec<Resource>> {
    let mut found = Vec::new();
    for spec in &TABLE {
        engine::discover(spec.kind, clients, names, &mut found).await?;
    }
    Ok(found)
}
