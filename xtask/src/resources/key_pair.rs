//! The bastion's key pair.

use anyhow::Result;

use super::deletion::{Deletion, Outcome};

/// `ec2:DeleteKeyPair`, retried while AWS says a dependency is being released.
pub(crate) async fn delete(d: &mut Deletion<'_>) -> Result<Outcome> {
    let (ec2, id) = (&d.clients.ec2, d.resource.id.as_str());
    d.patiently("ec2:DeleteKeyPair", || {
        ec2.delete_key_pair().key_name(id).send()
    })
    .await
}
