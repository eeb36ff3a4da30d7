//! The bastion's key pair.

use anyhow::Result;

use super::deletion::{Deletion, Outcome, gone_or};
use crate::aws;

/// `ec2:DeleteKeyPair`.
pub(crate) async fn delete(d: &mut Deletion<'_>) -> Result<Outcome> {
    let Deletion {
        clients,
        resource,
        wait,
        ..
    } = *d;
    let (ec2, id) = (&clients.ec2, resource.id.as_str());
    if !d.write("ec2:DeleteKeyPair") {
        return Ok(Outcome::WouldDelete);
    }
    gone_or(
        aws::patiently(wait, || ec2.delete_key_pair().key_name(id).send()).await,
        "ec2:DeleteKeyPair",
    )
}
