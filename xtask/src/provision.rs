//! `cargo xtask provision`: the tutorial's prerequisites and steps 1-2.
//!
//! Each resource is looked up by the run's tags first and created only when
//! missing, so a rerun after a failure continues where it stopped and a rerun after
//! success changes nothing. A resource that has the run's name but not its tags is
//! never adopted: provision stops and says so, since cleanup could not delete it.
//!
//! Two places differ between AWS and the emulator, and both are decided by what the
//! account says, not by where we run: the database's port is read from the instance
//! (the emulator serves each instance on its own port), and the database is reached
//! directly when a TCP connection to it opens (see [`crate::database`]).

use std::net::IpAddr;

use anyhow::{Result, anyhow, bail};
use aws_config::SdkConfig;

use crate::names::Names;
use crate::resources::context::Provisioner;
use crate::state::State;

pub use crate::resources::context::ProvisionOptions;
// The integration tests name it here.
pub use crate::tags::run_filters;

/// What a provision did.
#[derive(Debug, Clone)]
pub struct Provisioned {
    pub state: State,
    /// The resources created by this call (empty on a rerun that found everything).
    pub created: Vec<String>,
}

/// Checks `--my-ip` and returns it as a CIDR: one address, unless `allow_wide`.
pub fn validate_my_ip(text: &str, allow_wide: bool) -> Result<String> {
    let (address, prefix) = match text.split_once('/') {
        Some((address, prefix)) => (address, Some(prefix)),
        None => (text, None),
    };
    let address: IpAddr = address.trim().parse().map_err(|_| {
        anyhow!("--my-ip {text:?} is not an IP address or CIDR; pass your public address, e.g. 203.0.113.10/32")
    })?;
    let full = if address.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix {
        None => full,
        Some(p) => p
            .parse::<u8>()
            .ok()
            .filter(|p| *p <= full)
            .ok_or_else(|| anyhow!("--my-ip {text:?}: the prefix must be 0-{full}"))?,
    };
    if prefix < full && !allow_wide {
        bail!(
            "--my-ip {text}: admits {} addresses to SSH; the tutorial admits one (/{full}). Pass your own address, or --allow-wide-ssh if you mean it",
            if prefix == 0 {
                "every".to_owned()
            } else {
                format!("2^{}", full - prefix)
            }
        );
    }
    Ok(format!("{address}/{prefix}"))
}

/// Provision's plan, made without a write: for each kind it makes, in the order it
/// makes them, what the run's tags already find and what provision would do.
pub async fn plan(config: &SdkConfig, names: &Names) -> Result<String> {
    let found = crate::discovery::discover(config, names).await?;
    let kinds: Vec<crate::resources::Kind> = crate::resources::creation_order()
        .into_iter()
        .filter(|k| k.spec().made_by() == crate::resources::MadeBy::Provision)
        .collect();
    Ok(crate::resources::plan(
        &crate::discovery::planned(&found, &kinds),
        false,
    ))
}

/// Provisions (or completes) the run's resources; see the module documentation.
pub async fn provision(config: &SdkConfig, options: &ProvisionOptions) -> Result<Provisioned> {
    let my_ip = validate_my_ip(&options.my_ip, options.allow_wide_ssh)?;
    let names = &options.names;
    let mut p = Provisioner::new(config, options, my_ip);
    let state_file = names.state_file(&options.state_dir);
    let result = p.run().await;
    // The ids found so far are recorded even when a step failed.
    p.state.save(&state_file)?;
    result?;
    Ok(Provisioned {
        state: p.state,
        created: p.created,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn my_ip_must_be_one_address_unless_wide_ssh_is_allowed() {
        let cases = [
            ("203.0.113.10/32", false, Some("203.0.113.10/32")),
            ("203.0.113.10", false, Some("203.0.113.10/32")),
            ("2001:db8::1", false, Some("2001:db8::1/128")),
            ("2001:db8::1/128", false, Some("2001:db8::1/128")),
            ("203.0.113.0/24", false, None),
            ("0.0.0.0/0", false, None),
            ("2001:db8::/64", false, None),
            ("203.0.113.0/24", true, Some("203.0.113.0/24")),
            ("203.0.113.10/33", true, None),
            ("not-an-ip", false, None),
            ("", false, None),
        ];
        for (input, wide, expected) in cases {
            let result = validate_my_ip(input, wide).ok();
            assert_eq!(result.as_deref(), expected, "{input} wide={wide}");
        }
    }
}
