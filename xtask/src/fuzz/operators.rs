//! The differential test's mutations: each one real configuration change of the
//! tutorial's setup, made through the AWS SDK as an operator (or an attacker, or a
//! hurried colleague) would make it.
//!
//! An operator never says whether the rotation survives it: the emulator decides
//! that by rotating. It says only what no rotation can show: the verdicts it must
//! draw from checks about safety (a public rule, a schedule), which checks of the
//! rotation path it fails for such a reason ([`Operator::fails_for_safety`]), and
//! whether it hides the secret's value from the auditor ([`Operator::hides_secret_values`]).

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use anyhow::Result;
use audit::Status;
use serde_json::json;

use crate::fuzz::Setup;
use crate::fuzz::changes::access::PairUser;
use crate::fuzz::changes::{access, ingress, network, settings, tcp};

/// What an operator's change does, as a future borrowing the setup.
pub type Change<'a> = Pin<Box<dyn Future<Output = Result<String>> + Send + 'a>>;

/// One mutation of the catalogue: the change and what it means for the audit.
#[derive(Clone, Copy)]
pub struct Operator {
    pub name: &'static str,
    /// What it changes, for the table.
    pub family: &'static str,
    /// The setting it changes: a case draws at most one operator per slot, so that
    /// no mutation undoes or breaks another (two revokes of one rule, two policies
    /// under one name).
    pub slot: &'static str,
    /// Makes the change and says what it did.
    pub apply: for<'a> fn(&'a Setup) -> Change<'a>,
    /// Verdicts of checks no rotation can confirm that must follow.
    pub expect: &'static [(&'static str, Status)],
    /// Rotation-path checks this mutation fails for a reason of safety, not of the
    /// rotation (a database open to the world still admits the function): their FAIL
    /// is no prediction about the rotation. Each is also in `expect` as a FAIL.
    pub fails_for_safety: &'static [&'static str],
    /// The call AWS refuses the auditor, as the audit names it, when it reads the
    /// secret's value after this change. The oracle holds the audit's record of the
    /// read to it: a refusal no operator of the case declares is an artefact of the
    /// emulator or the harness (it would turn an expected FAIL into ERROR and hide
    /// itself), and a declared refusal the audit did not meet is a wrong declaration.
    /// None for every operator today: `secret-key-not-delegated`'s key policy names
    /// the auditor, who may still decrypt.
    pub hides_secret_values: Option<&'static str>,
}

/// Slots whose change needs the setup still working, so a case makes it before
/// the mutations that break things, as a user would: a new schedule (AWS's
/// RotateSecret runs the function's testSecret step even with
/// RotateImmediately=false, and refuses once it cannot invoke it; API reference,
/// RotateSecret,
/// https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_RotateSecret.html)
/// and the application user's grants (made with the secret's value, which a key
/// no longer delegated to IAM refuses to decrypt).
const SET_WHILE_WORKING: &[&str] = &["schedule", "appuser-grants"];

impl Operator {
    /// Its change needs the setup still working (see [`SET_WHILE_WORKING`]).
    pub fn set_while_working(&self) -> bool {
        SET_WHILE_WORKING.contains(&self.slot)
    }
}

impl fmt::Debug for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

const fn op(
    name: &'static str,
    family: &'static str,
    slot: &'static str,
    apply: for<'a> fn(&'a Setup) -> Change<'a>,
) -> Operator {
    Operator {
        name,
        family,
        slot,
        apply,
        expect: &[],
        fails_for_safety: &[],
        hides_secret_values: None,
    }
}

const DB_INGRESS: &str = "database security group";
const EGRESS: &str = "function security group";
const ENDPOINT_INGRESS: &str = "endpoint security group";
const ENDPOINTS: &str = "interface endpoints";
const NACL: &str = "network ACLs";
const FUNCTION: &str = "function";
const ROLE: &str = "role";
const SECRET: &str = "secret";
const VPC_DNS: &str = "VPC DNS";
const SCHEDULE: &str = "schedule";
const DATABASE: &str = "database";

/// The families in the order the report prints them. The catalogue keeps the order
/// operators were added in, since a seed draws cases by position in it.
pub const FAMILIES: [&str; 11] = [
    DB_INGRESS,
    EGRESS,
    ENDPOINT_INGRESS,
    ENDPOINTS,
    VPC_DNS,
    NACL,
    FUNCTION,
    ROLE,
    SECRET,
    SCHEDULE,
    DATABASE,
];
const BASTION_ONLY_FAILS: &[(&str, Status)] = &[("rds.ingress.bastion-only", Status::Fail)];

/// Every mutation, in the order the table prints them.
pub const CATALOGUE: &[Operator] = &[
    op(
        "db-ingress-revoke-function",
        DB_INGRESS,
        "db-ingress",
        |s| Box::pin(network::revoke_db_from_function(s)),
    ),
    Operator {
        expect: BASTION_ONLY_FAILS,
        fails_for_safety: &["rds.ingress.bastion-only"],
        ..op(
            "db-ingress-open-world",
            DB_INGRESS,
            "db-ingress-world",
            |s| {
                Box::pin(ingress(
                    s,
                    &s.state.database_group,
                    tcp(s.db_port(), "0.0.0.0/0"),
                ))
            },
        )
    },
    op(
        "db-ingress-function-wrong-port",
        DB_INGRESS,
        "db-ingress",
        |s| {
            Box::pin(network::db_from_function_instead(
                s,
                network::DbRule::WrongPort,
            ))
        },
    ),
    op(
        "db-ingress-function-all-traffic",
        DB_INGRESS,
        "db-ingress",
        |s| {
            Box::pin(network::db_from_function_instead(
                s,
                network::DbRule::AllTraffic,
            ))
        },
    ),
    Operator {
        // The VPC's whole range may reach the database: not the bastion only.
        expect: BASTION_ONLY_FAILS,
        fails_for_safety: &["rds.ingress.bastion-only"],
        ..op(
            "db-ingress-function-subnet-cidr",
            DB_INGRESS,
            "db-ingress",
            |s| {
                Box::pin(network::db_from_function_instead(
                    s,
                    network::DbRule::VpcRange,
                ))
            },
        )
    },
    op(
        "db-ingress-function-port-range",
        DB_INGRESS,
        "db-ingress",
        |s| {
            Box::pin(network::db_from_function_instead(
                s,
                network::DbRule::PortRange,
            ))
        },
    ),
    op("function-egress-none", EGRESS, "function-egress", |s| {
        Box::pin(network::revoke_all_egress(s))
    }),
    op(
        "function-egress-https-only",
        EGRESS,
        "function-egress",
        |s| Box::pin(network::egress_only(s, 443, "0.0.0.0/0")),
    ),
    op(
        "function-egress-database-only",
        EGRESS,
        "function-egress",
        |s| Box::pin(network::egress_only(s, s.db_port(), &s.vpc_cidr)),
    ),
    op(
        "endpoint-ingress-revoke-https",
        ENDPOINT_INGRESS,
        "endpoint-ingress",
        |s| Box::pin(network::revoke_endpoint_https(s)),
    ),
    op(
        "endpoint-ingress-vpc-cidr",
        ENDPOINT_INGRESS,
        "endpoint-ingress",
        |s| Box::pin(network::endpoint_https_from_vpc(s)),
    ),
    op(
        "endpoint-delete-secretsmanager",
        ENDPOINTS,
        "secretsmanager-endpoint",
        |s| Box::pin(network::delete_endpoint(s, "secretsmanager")),
    ),
    op("endpoint-delete-rds", ENDPOINTS, "rds-endpoint", |s| {
        Box::pin(network::delete_endpoint(s, "rds"))
    }),
    op(
        "endpoint-private-dns-off",
        ENDPOINTS,
        "secretsmanager-endpoint",
        |s| Box::pin(network::private_dns_off(s)),
    ),
    op(
        "endpoint-policy-deny-put-secret-value",
        ENDPOINTS,
        "secretsmanager-endpoint",
        |s| {
            Box::pin(network::endpoint_policy(
                s,
                json!({"Statement": [
                    {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"},
                    {"Effect": "Deny", "Principal": "*", "Action": "secretsmanager:PutSecretValue", "Resource": "*"}
                ]}),
            ))
        },
    ),
    op(
        "endpoint-policy-other-secret-only",
        ENDPOINTS,
        "secretsmanager-endpoint",
        |s| Box::pin(network::endpoint_policy_other_secret(s)),
    ),
    Operator {
        expect: &[("vpc.endpoint-policy", Status::Fail)],
        fails_for_safety: &["vpc.endpoint-policy"],
        ..op(
            "endpoint-policy-other-account",
            ENDPOINTS,
            "secretsmanager-endpoint",
            |s| {
                Box::pin(network::endpoint_policy(
                    s,
                    json!({"Statement": [
                        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999999999999:root"}, "Action": "*", "Resource": "*"},
                        {"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{}:root", s.account)}, "Action": "*", "Resource": "*"}
                    ]}),
                ))
            },
        )
    },
    op("vpc-dns-support-off", VPC_DNS, "vpc-dns-support", |s| {
        Box::pin(network::vpc_dns_off(s, network::VpcDns::Support))
    }),
    op("vpc-dns-hostnames-off", VPC_DNS, "vpc-dns-hostnames", |s| {
        Box::pin(network::vpc_dns_off(s, network::VpcDns::Hostnames))
    }),
    op(
        "nacl-deny-database-port-in",
        NACL,
        "nacl-ingress-rule-1",
        |s| {
            Box::pin(network::nacl_deny(
                s,
                false,
                network::Denied::Tcp(s.db_port(), s.db_port()),
            ))
        },
    ),
    op("nacl-deny-ephemeral-out", NACL, "nacl-egress-rule-1", |s| {
        Box::pin(network::nacl_deny(
            s,
            true,
            network::Denied::Tcp(1024, 65535),
        ))
    }),
    op("nacl-deny-https-out", NACL, "nacl-egress-rule-1", |s| {
        Box::pin(network::nacl_deny(s, true, network::Denied::Tcp(443, 443)))
    }),
    op("function-outside-vpc", FUNCTION, "function-network", |s| {
        Box::pin(settings::function_network(s, Vec::new(), Vec::new()))
    }),
    Operator {
        // The database still admits the function's former group, now no one's.
        expect: BASTION_ONLY_FAILS,
        fails_for_safety: &["rds.ingress.bastion-only"],
        ..op(
            "function-bastion-group",
            FUNCTION,
            "function-network",
            |s| {
                Box::pin(settings::function_network(
                    s,
                    s.state.private_subnets.clone(),
                    vec![s.state.bastion_group.clone()],
                ))
            },
        )
    },
    op(
        "lambda-permission-removed",
        FUNCTION,
        "invoke-permission",
        |s| Box::pin(access::remove_invoke_permission(s)),
    ),
    op(
        "lambda-permission-wrong-account",
        FUNCTION,
        "invoke-permission",
        |s| Box::pin(access::invoke_from_other_account(s)),
    ),
    op(
        "role-deny-get-secret-value",
        ROLE,
        "role-extra-policy",
        |s| {
            Box::pin(access::role_inline(
                s,
                json!({"Effect": "Deny", "Action": "secretsmanager:GetSecretValue", "Resource": s.state.secret_arn}),
            ))
        },
    ),
    op("role-policy-deleted", ROLE, "role-policy", |s| {
        Box::pin(access::delete_role_policy(s))
    }),
    op(
        "role-boundary-without-put-secret-value",
        ROLE,
        "role-boundary",
        |s| Box::pin(access::boundary(s)),
    ),
    op("role-deny-not-action", ROLE, "role-extra-policy", |s| {
        Box::pin(access::role_inline(
            s,
            json!({"Effect": "Deny", "NotAction": ["secretsmanager:*", "logs:*", "ec2:*"], "Resource": "*"}),
        ))
    }),
    op("role-wrong-secret-resource", ROLE, "role-policy", |s| {
        Box::pin(access::role_policy_names_another_secret(s))
    }),
    op("secret-policy-deny-role", SECRET, "secret-policy", |s| {
        Box::pin(access::secret_policy(
            s,
            json!({"Effect": "Deny", "Principal": {"AWS": s.role_arn}, "Action": "secretsmanager:PutSecretValue", "Resource": "*"}),
        ))
    }),
    Operator {
        expect: &[("secret.policy.not-public", Status::Fail)],
        ..op("secret-policy-public-read", SECRET, "secret-policy", |s| {
            Box::pin(access::secret_policy(
                s,
                json!({"Effect": "Allow", "Principal": "*", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}),
            ))
        })
    },
    op(
        "secret-key-not-delegated",
        SECRET,
        "role-extra-policy",
        |s| Box::pin(access::key_not_delegated(s)),
    ),
    Operator {
        expect: &[("secret.rotation.schedule", Status::Fail)],
        ..op("schedule-monthly", SCHEDULE, "schedule", |s| {
            Box::pin(settings::schedule(s, "rate(30 days)", None))
        })
    },
    Operator {
        expect: &[("rds.not-public", Status::Fail)],
        ..op("database-public", DATABASE, "database-access", |s| {
            Box::pin(settings::database_public(s))
        })
    },
    Operator {
        // The function's subnets, not the function alone, may reach the database.
        expect: BASTION_ONLY_FAILS,
        fails_for_safety: &["rds.ingress.bastion-only"],
        ..op(
            "db-ingress-function-prefix-list",
            DB_INGRESS,
            "db-ingress",
            |s| Box::pin(network::db_from_prefix_list(s)),
        )
    },
    op("db-ingress-function-ipv6", DB_INGRESS, "db-ingress", |s| {
        Box::pin(network::db_from_ipv6(s))
    }),
    op(
        "function-egress-prefix-list-vpc",
        EGRESS,
        "function-egress",
        |s| Box::pin(network::egress_to_prefix_list(s, vec![s.vpc_cidr.clone()])),
    ),
    op(
        "function-egress-prefix-list-elsewhere",
        EGRESS,
        "function-egress",
        |s| {
            Box::pin(network::egress_to_prefix_list(
                s,
                vec!["192.0.2.0/24".to_owned()],
            ))
        },
    ),
    op(
        "function-egress-ipv6-only",
        EGRESS,
        "function-egress",
        |s| Box::pin(network::egress_ipv6_only(s)),
    ),
    op(
        "endpoint-closed-group",
        ENDPOINTS,
        "secretsmanager-endpoint",
        |s| Box::pin(network::endpoint_in_closed_group(s)),
    ),
    op(
        "function-concurrency-zero",
        FUNCTION,
        "function-concurrency",
        |s| Box::pin(settings::concurrency_zero(s)),
    ),
    op(
        "lambda-permission-other-secret",
        FUNCTION,
        "invoke-permission",
        |s| Box::pin(access::invoke_for_other_secret(s)),
    ),
    op("role-managed-deny", ROLE, "role-managed-policy", |s| {
        Box::pin(access::managed_deny(s))
    }),
    op("role-policy-as-managed", ROLE, "role-policy", |s| {
        Box::pin(access::policy_as_managed(s))
    }),
    Operator {
        expect: &[("secret.rotation.schedule", Status::Fail)],
        ..op("rotation-off", SCHEDULE, "schedule", |s| {
            Box::pin(settings::rotation_off(s))
        })
    },
    Operator {
        expect: &[("secret.rotation.schedule", Status::Fail)],
        ..op("schedule-window-4h", SCHEDULE, "schedule", |s| {
            Box::pin(settings::schedule(s, "rate(2 days)", Some("4h")))
        })
    },
    Operator {
        // Daily within one hour: more often, and a narrower window, than required.
        expect: &[("secret.rotation.schedule", Status::Pass)],
        ..op("schedule-daily-1h", SCHEDULE, "schedule", |s| {
            Box::pin(settings::schedule(s, "rate(1 day)", Some("1h")))
        })
    },
    Operator {
        // The master may grant PROCESS (it holds it WITH GRANT OPTION): the
        // rotation copies it, and only least privilege fails.
        expect: &[
            ("db.appuser.least-privilege", Status::Fail),
            ("secret.rotation.admin-linked", Status::Pass),
        ],
        ..op("appuser-grant-process", DATABASE, "appuser-grants", |s| {
            Box::pin(access::appuser_granted(s, "PROCESS", PairUser::Current))
        })
    },
    Operator {
        // RDS's master never holds FILE, so it cannot copy it to the clone: the
        // rotation stops in setSecret, which the admin link predicts.
        expect: &[("db.appuser.least-privilege", Status::Fail)],
        ..op("appuser-grant-file", DATABASE, "appuser-grants", |s| {
            Box::pin(access::appuser_granted(s, "FILE", PairUser::Current))
        })
    },
    op("nacl-deny-ipv6-out", NACL, "nacl-egress-rule-1", |s| {
        Box::pin(network::nacl_deny(s, true, network::Denied::AllIpv6))
    }),
    op("nacl-deny-ipv6-in", NACL, "nacl-ingress-rule-1", |s| {
        Box::pin(network::nacl_deny(s, false, network::Denied::AllIpv6))
    }),
    Operator {
        // One zone left: reachable across zones, so the rotation works; the audit
        // fails the endpoint for availability, which no rotation can show.
        expect: &[("vpc.endpoint", Status::Fail)],
        fails_for_safety: &["vpc.endpoint"],
        ..op(
            "endpoint-one-subnet",
            ENDPOINTS,
            "secretsmanager-endpoint",
            |s| Box::pin(network::endpoint_one_subnet(s)),
        )
    },
    Operator {
        // The other user of the pair (AWSPREVIOUS), whose grants the next
        // rotation gives on: the audit reads it with AWSPREVIOUS's credentials.
        expect: &[
            ("db.appuser.least-privilege", Status::Fail),
            ("secret.rotation.admin-linked", Status::Pass),
        ],
        ..op(
            "appuser-other-grant-process",
            DATABASE,
            "appuser-grants",
            |s| Box::pin(access::appuser_granted(s, "PROCESS", PairUser::Other)),
        )
    },
    Operator {
        // FILE on the other user: setSecret refuses it; once a false PASS.
        expect: &[("db.appuser.least-privilege", Status::Fail)],
        ..op(
            "appuser-other-grant-file",
            DATABASE,
            "appuser-grants",
            |s| Box::pin(access::appuser_granted(s, "FILE", PairUser::Other)),
        )
    },
];

/// The catalogue grouped by family, in [`FAMILIES`] order; within a family, in
/// catalogue order.
pub fn by_family() -> Vec<Operator> {
    let mut operators = CATALOGUE.to_vec();
    operators.sort_by_key(|o| FAMILIES.iter().position(|f| *f == o.family));
    operators
}

/// Finds an operator by name.
pub fn by_name(name: &str) -> Option<Operator> {
    CATALOGUE.iter().copied().find(|o| o.name == name)
}
