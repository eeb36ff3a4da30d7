//! A kind's declaration ([`Spec`]): its description and its behaviour (the steps
//! the engine calls), with the types of those steps. Above `kind.rs`, `context.rs`
//! and `deletion.rs`, whose types the steps take, and below each kind's file, which
//! declares its row; so no file here imports another in a loop.

use std::future::Future;
use std::pin::Pin;

use anyhow::Result;

use super::context::{Deployer, Provisioner};
use super::deletion::{Deletion, Outcome};
use super::kind::{Clients, Kind, Resource};
use crate::names::Names;

/// The command that makes a kind: derived from the steps its [`Spec`] has
/// ([`Spec::made_by`]), so the plan and the walk cannot disagree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MadeBy {
    Provision,
    Deploy,
}

/// A kind's step as a future borrowing what it is handed: async functions are not
/// dyn-compatible, a boxed future behind a plain `fn` pointer is (the same shape as
/// the fuzzer's `Change`).
pub(crate) type Step<'a, T = ()> = Pin<Box<dyn Future<Output = Result<T>> + Send + 'a>>;

/// Finds the run's resources of one kind by their tags (read-only).
pub(crate) type Discover = for<'a> fn(&'a Clients, &'a Names, &'a mut Vec<Resource>) -> Step<'a>;

/// Deletes one resource; every write gated on the dry run by `Deletion::write`.
pub(crate) type Delete = for<'a, 'b> fn(&'a mut Deletion<'b>) -> Step<'a, Outcome>;

/// Provision's step for one kind: finds it, creates it when missing, repairs it and
/// waits until it is ready.
pub(crate) type Provision = for<'a, 'b> fn(&'a mut Provisioner<'b>) -> Step<'a>;

/// Deploy's step for one kind, every write through the `Deployer`'s `Calls`.
pub(crate) type Deploy = for<'a, 'b> fn(&'a mut Deployer<'b>) -> Step<'a>;

/// One kind's declaration, in its own file: what it is ([`Kind`], its label, what it
/// depends on), what the plans say of it ([`Plan`]) and its steps. A step and the
/// text that describes it share their verb: `plan.delete` says what `delete` does.
#[derive(Clone, Copy)]
pub struct Spec {
    pub kind: Kind,
    pub label: &'static str,
    /// Kinds that must exist before this one is made, and go only after it is gone.
    pub depends_on: &'static [Kind],
    pub plan: Plan,
    /// How the run's resources of this kind are found; `None` for a kind found with
    /// another (a rotation, with its secret: `secret::discover`).
    pub(crate) discover: Option<Discover>,
    pub(crate) delete: Delete,
    /// Provision's step, if provision makes (part of) this kind.
    pub(crate) provision: Option<Provision>,
    /// Deploy's step, if deploy makes (part of) this kind.
    pub(crate) deploy: Option<Deploy>,
}

/// What the dry runs' plans ([`super::plan`]) say of a kind, beside its steps.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// How `discover` finds the run's resources of the kind (documentation, and
    /// checked present for every kind; the plans print the other three).
    pub found_by: &'static str,
    /// What provision's or deploy's step makes when the kind is missing.
    pub create: &'static str,
    /// What "ready" means, and how it is waited for (empty: at once).
    pub ready: &'static str,
    /// What `delete` does.
    pub delete: &'static str,
}

impl Spec {
    /// The command whose plan lists this kind: provision when it has a provision
    /// step (a security group has both: provision makes the bastion's and the
    /// database's, deploy the function's), else deploy.
    pub fn made_by(&self) -> MadeBy {
        if self.provision.is_some() {
            MadeBy::Provision
        } else {
            MadeBy::Deploy
        }
    }
}

impl std::fmt::Debug for Spec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spec")
            .field("kind", &self.kind)
            .field("made_by", &self.made_by())
            .field("depends_on", &self.depends_on)
            .finish_non_exhaustive()
    }
}
