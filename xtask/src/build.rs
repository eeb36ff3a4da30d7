//! `cargo xtask build`: the rotation Lambda's `bootstrap.zip`.

use anyhow::Result;

/// Options of `cargo xtask build`.
#[derive(Debug, Default, Clone)]
pub struct BuildOptions {
    /// Build for Graviton (aarch64) instead of x86-64.
    pub arm64: bool,
}

/// Builds the rotator; filled in with the rotator.
pub fn build_rotator(_options: &BuildOptions) -> Result<()> {
    Ok(())
}
