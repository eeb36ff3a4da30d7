//! The tutorial's resources, declared once.
//!
//! Provision, deploy and cleanup used to enumerate the same resources each in its own
//! hand-written order, so a fix such as "find it by its tags" or "retry `NotFound`
//! after a create" had to be made in many places, and some were missed. Here each
//! kind says, once: which command makes it (by the steps it has), what it depends on, how it is found,
//! created, made ready and deleted. The retries on AWS's documented transient errors
//! live in one place, [`crate::aws`]: [`crate::aws::after_create`] (`*.NotFound` after
//! a create), [`crate::aws::retry_transient`] and [`crate::aws::retry_while`]
//! (`DependencyViolation`, role and permission propagation, updates in progress,
//! throttling) and [`crate::aws::patiently`] (a deletion's dependencies being released). Provision and deploy walk
//! the table forward ([`creation_order`]), cleanup walks it backward ([`deletion_rank`]),
//! and provision's and cleanup's dry runs print their plan from it ([`plan`]).
//!
//! Everything a kind does lives in a file of its own below this module (`vpc.rs`,
//! `subnet.rs`, `security_group.rs`, `function.rs`, ...), and its row of the table,
//! [`Spec`] (the file's `SPEC`), points at it: how it is found by the run's tags
//! (`discover`), provision's or deploy's step (found, created when missing, repaired,
//! waited for until ready) and how it is deleted (`delete`, every write gated on the
//! dry run through `Deletion::write`, `deletion.rs`), each step beside what the plans
//! say of it ([`Plan`]). Which command makes a kind is derived from the
//! steps it has ([`Spec::made_by`]), so the plan and the walk agree. [`engine`] walks
//! the table without matching on kinds; `context.rs` holds what each walk hands a
//! step (`Provisioner`, whose writes are made at once; `Deployer`, whose `Calls` is
//! deploy's dry-run policy: each write announced, none made). The commands keep only
//! their options, pure checks and the walk they start.
//!
//! The kinds are listed once, a line each (`Vpc => vpc,`), in `kind.rs`'s
//! `with_kinds!`; the [`Kind`] enum, the kinds' `mod` lines and [`TABLE`] are all
//! expanded from that list, so adding a kind is its file (with its `SPEC`) and its
//! line there, and the compiler checks that each file declares the kind of its line.
//! The list sits in `kind.rs`, below the kinds' files, because they use [`Kind`] and
//! this module uses them. What several kinds share sits below them too: `ec2.rs`
//! (how an EC2 kind is found by the run's tags), `deletion.rs`, `context.rs`.
//! `cargo fmt` does not follow `mod` lines a macro writes (rust-lang/rustfmt#3253),
//! so `cargo xtask test` names the kinds' files to it.
//!
//! Pattern: aws-nuke's resource registry (one type per resource kind, with its lister
//! and remover) and Terraform's dependency graph (create in topological order, destroy
//! in reverse); see style.md.

use std::fmt;
use std::sync::LazyLock;

use comfy_table::Table;

pub(crate) mod context;
pub(crate) mod deletion;
pub(crate) mod ec2;
pub(crate) mod engine;
pub(crate) mod kind;
pub(crate) mod spec;

pub use deletion::Outcome;
pub(crate) use kind::Clients;
pub use kind::{Kind, Resource};
pub use security_group::authorize_tcp;
pub use spec::{MadeBy, Plan, Spec};

/// The kinds' files and [`TABLE`] from the one list of kinds (`kind.rs`'s
/// `with_kinds!`): a `mod` line and a row per kind, in the list's order. Each file's
/// `SPEC` is checked at compile time to declare the kind of its line.
macro_rules! declare_table {
    ($($(#[$doc:meta])* $variant:ident => $module:ident,)*) => {
        $(pub(crate) mod $module;)*

        /// Every kind, each declared in its own file, in the order of the list of
        /// kinds (ties in [`creation_order`] keep this order); indexed by [`Kind`].
        pub static TABLE: [Spec; [$(stringify!($module)),*].len()] = [$($module::SPEC),*];

        /// The kinds' files, in the list's order.
        #[cfg(test)]
        const FILES: &[&str] = &[$(concat!(stringify!($module), ".rs")),*];

        $(const _: () = assert!(
            matches!($module::SPEC.kind, Kind::$variant),
            concat!(
                stringify!($module),
                "::SPEC declares another kind than ",
                stringify!($variant)
            ),
        );)*
    };
}
kind::with_kinds!(declare_table);

impl Kind {
    /// This kind's declaration: its row of [`TABLE`], which lists the kinds in the
    /// order [`Kind`] does (both are the list of kinds).
    pub fn spec(self) -> &'static Spec {
        &TABLE[self as usize]
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.spec().label)
    }
}

/// Every kind, each after all it depends on; ties keep the table's order (Kahn's
/// algorithm, taking the first ready kind of the table each time). Derived once.
pub fn creation_order() -> Vec<Kind> {
    static ORDER: LazyLock<Vec<Kind>> = LazyLock::new(|| {
        let mut placed: Vec<Kind> = Vec::new();
        while placed.len() < TABLE.len() {
            let next = TABLE
                .iter()
                .find(|s| {
                    !placed.contains(&s.kind) && s.depends_on.iter().all(|d| placed.contains(d))
                })
                .unwrap_or_else(|| unreachable!("TABLE's dependencies have a cycle"));
            placed.push(next.kind);
        }
        placed
    });
    ORDER.clone()
}

/// The order cleanup takes the kinds in: the reverse of [`creation_order`], so
/// everything that depends on a resource is gone before it.
pub fn deletion_order() -> Vec<Kind> {
    let mut order = creation_order();
    order.reverse();
    order
}

/// Where a kind goes in [`deletion_order`].
pub fn deletion_rank(kind: Kind) -> usize {
    deletion_order()
        .iter()
        .position(|k| *k == kind)
        .unwrap_or_else(|| unreachable!("every kind is in TABLE"))
}

/// A kind in a plan, and what is known of it: the ids found (empty: none yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    pub kind: Kind,
    pub found: Vec<String>,
}

/// The plan of a command as a table: for each kind, in the order the command takes
/// them, what exists and what it would do.
pub fn plan(steps: &[Planned], deleting: bool) -> String {
    let mut table = Table::new();
    table.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
    table.set_header(["resource", "found (by tags)", "would", "then"]);
    for step in steps {
        let spec = step.kind.spec();
        let found = if step.found.is_empty() {
            "none".to_owned()
        } else {
            step.found.join("\n")
        };
        let (would, then) = match (deleting, step.found.is_empty()) {
            (true, true) => ("nothing", ""),
            (true, false) => (spec.plan.delete, ""),
            (false, true) => (spec.plan.create, spec.plan.ready),
            (false, false) => ("check and repair its settings", ""),
        };
        table.add_row([spec.label, &found, would, then]);
    }
    table.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use Kind as K;

    #[test]
    fn every_kind_is_declared_once_in_its_row() {
        for (i, spec) in TABLE.iter().enumerate() {
            assert!(
                TABLE[i + 1..].iter().all(|other| other.kind != spec.kind),
                "{:?} twice",
                spec.kind
            );
            // `Kind::spec` indexes the table by kind: each kind finds its own row.
            assert!(std::ptr::eq(spec.kind.spec(), spec), "{:?}", spec.kind);
            assert!(
                !spec.plan.found_by.is_empty()
                    && !spec.plan.create.is_empty()
                    && !spec.plan.delete.is_empty()
            );
        }
    }

    #[test]
    fn every_file_that_declares_a_kind_is_in_the_list_of_kinds() {
        // A file below resources/ whose line is missing from the list is not compiled
        // at all (its `mod` line is the list's): nothing else would say so.
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/resources");
        let mut declaring: Vec<String> = std::fs::read_dir(&dir)
            .expect("listing src/resources")
            .map(|entry| entry.expect("a directory entry").path())
            .filter(|path| {
                std::fs::read_to_string(path)
                    .is_ok_and(|text| text.contains("pub(crate) const SPEC: Spec"))
            })
            .filter_map(|path| Some(path.file_name()?.to_str()?.to_owned()))
            .collect();
        declaring.sort();
        let mut listed: Vec<String> = FILES.iter().map(ToString::to_string).collect();
        listed.sort();
        assert_eq!(
            declaring, listed,
            "a file declaring a SPEC needs its line in kind.rs's with_kinds!"
        );
    }

    #[test]
    fn every_kind_is_made_by_a_step_and_found_by_a_discover() {
        // A kind with no step would be planned and never made; a kind without its
        // own `discover` must be found with another (a rotation, by its secret's).
        for spec in &TABLE {
            assert!(
                spec.provision.is_some() || spec.deploy.is_some(),
                "{:?} has no step",
                spec.kind
            );
            assert_eq!(
                spec.discover.is_none(),
                spec.kind == K::Rotation,
                "{:?}",
                spec.kind
            );
        }
        // The one kind both make: provision the bastion's and database's groups,
        // deploy the function's.
        let both: Vec<Kind> = TABLE
            .iter()
            .filter(|s| s.provision.is_some() && s.deploy.is_some())
            .map(|s| s.kind)
            .collect();
        assert_eq!(both, [K::SecurityGroup]);
    }

    #[test]
    fn each_kind_is_created_after_and_deleted_before_what_it_depends_on() {
        let order = creation_order();
        assert_eq!(order.len(), TABLE.len());
        for spec in &TABLE {
            let at = order.iter().position(|k| *k == spec.kind).unwrap();
            for dependency in spec.depends_on {
                let before = order.iter().position(|k| k == dependency).unwrap();
                assert!(before < at, "{:?} before {:?}", dependency, spec.kind);
                assert!(
                    deletion_rank(*dependency) > deletion_rank(spec.kind),
                    "{:?} deleted after {:?}",
                    dependency,
                    spec.kind
                );
            }
        }
    }

    #[test]
    fn the_orders_are_the_ones_the_commands_take() {
        // Provision's kinds first (deploy's need them), then deploy's.
        let provision: Vec<Kind> = creation_order()
            .into_iter()
            .filter(|k| k.spec().made_by() == MadeBy::Provision)
            .collect();
        assert_eq!(
            provision,
            [
                K::Vpc,
                K::InternetGateway,
                K::Subnet,
                K::RouteTable,
                K::SecurityGroup,
                K::VpcEndpoint,
                K::KeyPair,
                K::Instance,
                K::DbSubnetGroup,
                K::DbParameterGroup,
                K::DbInstance,
                K::KmsKey,
                K::Secret
            ]
        );
        assert_eq!(
            deletion_order(),
            [
                K::Rotation,
                K::Function,
                K::LogGroup,
                K::Role,
                K::Secret,
                K::KmsKey,
                K::DbInstance,
                K::DbParameterGroup,
                K::DbSubnetGroup,
                K::Instance,
                K::KeyPair,
                K::VpcEndpoint,
                K::SecurityGroup,
                K::RouteTable,
                K::Subnet,
                K::InternetGateway,
                K::Vpc
            ]
        );
    }

    #[test]
    fn a_plan_says_what_exists_and_what_would_be_done() {
        let steps = [
            Planned {
                kind: K::Vpc,
                found: vec!["vpc-1".to_owned()],
            },
            Planned {
                kind: K::Subnet,
                found: Vec::new(),
            },
        ];
        let creating = plan(&steps, false);
        assert!(
            creating.contains("vpc-1") && creating.contains("check and repair"),
            "{creating}"
        );
        assert!(creating.contains("ec2:CreateSubnet"), "{creating}");
        let deleting = plan(&steps, true);
        assert!(
            deleting.contains("ec2:DeleteVpc") && deleting.contains("nothing"),
            "{deleting}"
        );
    }
}
