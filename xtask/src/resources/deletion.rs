//! What every kind's `delete` shares: the resource at hand with the clients, the
//! dependency timeout and the dry-run bookkeeping ([`Deletion`]), what came of it
//! ([`Outcome`]), and "not found means already gone" ([`gone_or`]).

use std::future::Future;
use std::time::Duration;

use anyhow::{Result, anyhow};

use super::kind::{Clients, Resource};
use crate::aws::{self, Calls};

/// What happened to one resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Deleted,
    AlreadyGone,
    /// A secret scheduled for deletion after the recovery window, or a KMS key after
    /// its waiting period.
    Scheduled,
    /// Only announced (dry run).
    WouldDelete,
    /// Left in place on purpose, and why (not a failure: e.g. a KMS key kept while
    /// the secret it encrypts can still be restored).
    Kept(String),
    Failed(String),
}

/// One resource being deleted, and what its kind's `delete` needs to do it.
pub(crate) struct Deletion<'a> {
    pub(crate) clients: &'a Clients,
    pub(crate) resource: &'a Resource,
    /// How long to keep retrying a deletion AWS refuses for now (a dependency
    /// still being released).
    pub(crate) wait: Duration,
    /// Delete secrets at once instead of after a 7-day recovery window.
    pub(crate) force_delete_secrets: bool,
    /// The run (whose resources are told apart from someone else's by its tags).
    pub(crate) names: &'a crate::names::Names,
    pub(crate) calls: &'a mut Calls,
}

impl Deletion<'_> {
    /// `call id (name)`: a write as the dry run prints it and the report records it.
    pub(crate) fn action(&self, call: &str) -> String {
        format!("{call} {} ({})", self.resource.id, self.resource.name)
    }

    /// Records the write `call` on this resource; whether to make it (false in a dry run).
    pub(crate) fn write(&mut self, call: &str) -> bool {
        let action = self.action(call);
        self.calls.write(action)
    }

    /// The last step of most kinds: records the delete `call` and, unless a dry run,
    /// makes it with `request`, retried while AWS says a dependency is still being
    /// released ([`aws::patiently`]); not found is already gone.
    pub(crate) async fn patiently<T, E, F, Fut>(
        &mut self,
        call: &str,
        request: F,
    ) -> Result<Outcome>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: std::error::Error + aws_sdk_ec2::error::ProvideErrorMetadata,
    {
        if !self.write(call) {
            return Ok(Outcome::WouldDelete);
        }
        gone_or(aws::patiently(self.wait, request).await, call)
    }
}

/// Maps an SDK result: not found means already gone.
pub(crate) fn gone_or<T, E>(result: Result<T, E>, call: &str) -> Result<Outcome>
where
    E: std::error::Error + aws_sdk_ec2::error::ProvideErrorMetadata,
{
    match result {
        Ok(_) => Ok(Outcome::Deleted),
        Err(e) if aws::is_not_found(&e) => Ok(Outcome::AlreadyGone),
        Err(e) => Err(anyhow!("{call}: {}", aws::describe(&e))),
    }
}
