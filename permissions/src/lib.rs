//! The AWS calls the rotation function makes, as one table.
//!
//! Three hand-kept copies of this list drifted apart: the rotator's code, the role
//! policy `cargo xtask deploy` writes, and what the audit's
//! `secret.rotation.function-role` check requires of a role (the audit did not
//! require `secretsmanager:GetRandomPassword`, which every `createSecret` calls, nor
//! `rds:DescribeDBClusters`, which an Aurora admin secret needs). Now deploy builds
//! its policy statements from [`CALLS`], the audit builds the permissions it
//! requires from it, the rotator names its actions with the constants below, and a
//! unit test of the rotator fails when its code names an action this table lacks.
//!
//! Each row says which action, on which [`Resource`], [`When`] the rotator calls it,
//! and whether a rotation fails without it ([`Need`]). Consumers `match` on
//! `Resource` and `When` exhaustively, so a new kind of row makes each decide.
//!
//! A crate of its own with no dependencies, so that the audit and xtask read the
//! list without linking the rotator's Lambda runtime and database driver; the
//! rotator re-exports it as `rotator::permissions`.
//!
//! Not here: what Lambda itself needs of the role to run the function in a VPC
//! (`ec2:*NetworkInterface*`) and to write its logs (`logs:*`). The rotator makes
//! none of those calls; deploy's policy adds them beside these rows.

pub mod grants;

pub const DESCRIBE_SECRET: &str = "secretsmanager:DescribeSecret";
pub const GET_SECRET_VALUE: &str = "secretsmanager:GetSecretValue";
pub const PUT_SECRET_VALUE: &str = "secretsmanager:PutSecretValue";
pub const UPDATE_SECRET_VERSION_STAGE: &str = "secretsmanager:UpdateSecretVersionStage";
pub const LIST_SECRET_VERSION_IDS: &str = "secretsmanager:ListSecretVersionIds";
pub const GET_RANDOM_PASSWORD: &str = "secretsmanager:GetRandomPassword";
pub const DESCRIBE_DB_INSTANCES: &str = "rds:DescribeDBInstances";
pub const DESCRIBE_DB_CLUSTERS: &str = "rds:DescribeDBClusters";
pub const KMS_DECRYPT: &str = "kms:Decrypt";
pub const KMS_GENERATE_DATA_KEY: &str = "kms:GenerateDataKey";

/// What a call is made on, as an IAM policy's `Resource` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    /// The secret being rotated (the event's `SecretId`).
    ApplicationSecret,
    /// The admin secret the application secret's `masterarn` names.
    AdminSecret,
    /// No resource: the action takes only `*` (`GetRandomPassword`).
    Any,
    /// The KMS key of the application secret.
    ApplicationSecretKey,
    /// The KMS key of the admin secret.
    AdminSecretKey,
    /// The DB instances of the admin secret's database: the instance its
    /// `aws:rds:primaryDBInstanceArn` tag names and that instance's read replicas,
    /// or the member instances of the cluster its `aws:rds:primaryDBClusterArn` names.
    AdminDbInstances,
    /// The Aurora cluster the admin secret's `aws:rds:primaryDBClusterArn` tag names.
    AdminDbCluster,
    /// The RDS instances and clusters the application secret's `host` and the admin
    /// secret's `host` name (an RDS endpoint name's first label: an instance's or a
    /// cluster's identifier), and the cluster of either host's instance.
    ApplicationDatabase,
}

/// When the rotator makes a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// Every rotation, either strategy.
    Always,
    /// Alternating users: the admin secret is read and the clone's ownership proved.
    AlternatingUsers,
    /// Alternating users with an admin secret that has no `host`, as RDS-managed
    /// (`rds!...`) secrets have none: the admin's endpoint comes from RDS, by the
    /// secret's tags.
    AdminFromRds,
    /// As [`When::AdminFromRds`], and the admin secret's tag names an Aurora
    /// cluster (`aws:rds:primaryDBClusterArn`) rather than an instance.
    AdminCluster,
    /// Alternating users with a `host` in the admin secret, and an application
    /// secret whose host is another RDS endpoint: RDS is asked whether it is a read
    /// replica of the admin's database or an endpoint or instance of its cluster, as
    /// AWS's reference does.
    ApplicationOnReplica,
    /// The secret whose key it is is encrypted with a customer-managed key (the AWS
    /// managed `aws/secretsmanager` key needs no permission of the role).
    CustomerManagedKey,
}

/// Whether a rotation fails without the permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Denied, the step stops with AccessDenied naming the action.
    Required,
    /// Denied, the rotator goes on with less; `without` says what degrades.
    Optional { without: &'static str },
}

/// One AWS call of the rotator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Call {
    pub action: &'static str,
    pub resource: Resource,
    pub when: When,
    pub need: Need,
    /// What the rotator calls it for.
    pub why: &'static str,
}

impl Call {
    /// The service prefix of the action (`secretsmanager`, `rds`, `kms`).
    pub fn service(&self) -> &'static str {
        self.action.split(':').next().unwrap_or(self.action)
    }

    pub fn is_required(&self) -> bool {
        self.need == Need::Required
    }
}

/// Every AWS call of the rotator, in the order of a rotation.
pub const CALLS: &[Call] = &[
    Call {
        action: DESCRIBE_SECRET,
        resource: Resource::ApplicationSecret,
        when: When::Always,
        need: Need::Required,
        why: "every step reads the rotation state and the versions' labels",
    },
    Call {
        action: GET_SECRET_VALUE,
        resource: Resource::ApplicationSecret,
        when: When::Always,
        need: Need::Required,
        why: "the AWSCURRENT and AWSPENDING values (AWSPREVIOUS for single user, earlier versions for the ownership proof)",
    },
    Call {
        action: GET_RANDOM_PASSWORD,
        resource: Resource::Any,
        when: When::Always,
        need: Need::Required,
        why: "createSecret's new password",
    },
    Call {
        action: PUT_SECRET_VALUE,
        resource: Resource::ApplicationSecret,
        when: When::Always,
        need: Need::Required,
        why: "createSecret stores the pending version",
    },
    Call {
        action: UPDATE_SECRET_VERSION_STAGE,
        resource: Resource::ApplicationSecret,
        when: When::Always,
        need: Need::Required,
        why: "finishSecret moves AWSCURRENT to the new version",
    },
    Call {
        action: LIST_SECRET_VERSION_IDS,
        resource: Resource::ApplicationSecret,
        when: When::AlternatingUsers,
        need: Need::Optional {
            without: "setSecret proves an existing alternate user this secret's with the labelled versions only, so a clone an abandoned attempt left (its password in an unlabelled version) is refused instead of reused",
        },
        why: "setSecret's proof that an existing alternate user is this secret's reads the unlabelled versions too",
    },
    Call {
        action: KMS_DECRYPT,
        resource: Resource::ApplicationSecretKey,
        when: When::CustomerManagedKey,
        need: Need::Required,
        why: "Secrets Manager decrypts the secret's values for GetSecretValue",
    },
    Call {
        action: KMS_GENERATE_DATA_KEY,
        resource: Resource::ApplicationSecretKey,
        when: When::CustomerManagedKey,
        need: Need::Required,
        why: "Secrets Manager encrypts the pending version for PutSecretValue",
    },
    Call {
        action: GET_SECRET_VALUE,
        resource: Resource::AdminSecret,
        when: When::AlternatingUsers,
        need: Need::Required,
        why: "createSecret logs in as the admin to read the password policy where the password is set; setSecret, to clone the user",
    },
    Call {
        action: KMS_DECRYPT,
        resource: Resource::AdminSecretKey,
        when: When::CustomerManagedKey,
        need: Need::Required,
        why: "Secrets Manager decrypts the admin secret for GetSecretValue",
    },
    Call {
        action: DESCRIBE_SECRET,
        resource: Resource::AdminSecret,
        when: When::AdminFromRds,
        need: Need::Required,
        why: "its aws:rds:primaryDBInstanceArn or aws:rds:primaryDBClusterArn tag names the admin's database",
    },
    Call {
        action: DESCRIBE_DB_INSTANCES,
        resource: Resource::AdminDbInstances,
        when: When::AdminFromRds,
        need: Need::Required,
        why: "the admin's endpoint, and those of the read replicas or cluster instances the application secret may name",
    },
    Call {
        action: DESCRIBE_DB_CLUSTERS,
        resource: Resource::AdminDbCluster,
        when: When::AdminCluster,
        need: Need::Required,
        why: "the Aurora cluster's writer and reader endpoints and its members",
    },
    Call {
        action: DESCRIBE_DB_INSTANCES,
        resource: Resource::ApplicationDatabase,
        when: When::ApplicationOnReplica,
        need: Need::Required,
        why: "which database the application's and the admin's hosts are endpoints of: an instance, its read replica, a cluster's member",
    },
    Call {
        action: DESCRIBE_DB_CLUSTERS,
        resource: Resource::ApplicationDatabase,
        when: When::ApplicationOnReplica,
        need: Need::Required,
        why: "a cluster's writer, reader and custom endpoints, for a host that is one of them or a member instance",
    },
];

/// Whether the table has a call of `action` (as the rotator's messages name it).
pub fn has_action(action: &str) -> bool {
    CALLS.iter().any(|c| c.action == action)
}

/// The distinct actions of the rows `keep` selects, in table order.
pub fn actions(keep: impl Fn(&Call) -> bool) -> Vec<&'static str> {
    let mut actions: Vec<&'static str> = Vec::new();
    for call in CALLS.iter().filter(|c| keep(c)) {
        if !actions.contains(&call.action) {
            actions.push(call.action);
        }
    }
    actions
}

/// Which of an RDS instance's read replicas (or a cluster's member instances) the
/// rotator describes, so which the role must allow `rds:DescribeDBInstances` on:
/// none when the application's host is the primary's own endpoint (`on_primary`);
/// else the one the host's first label names (an RDS instance endpoint starts with
/// the instance identifier: `<id>.<hash>.<region>.rds.amazonaws.com`; a replica in
/// another region is named by its ARN), else, for a name RDS did not give (a CNAME),
/// all of them. The rotator describes exactly these and the audit requires exactly
/// these: one rule, so a role allowing only the named replica is neither denied nor
/// failed.
pub fn replicas_described<'a>(
    host: &str,
    on_primary: bool,
    replicas: &'a [String],
) -> Vec<&'a String> {
    if on_primary {
        return Vec::new();
    }
    let label = host.split('.').next().unwrap_or_default();
    let identifier = |id: &str| id.rsplit(':').next().unwrap_or(id).to_owned();
    let named: Vec<&String> = replicas
        .iter()
        .filter(|id| !label.is_empty() && identifier(id).eq_ignore_ascii_case(label))
        .collect();
    if named.is_empty() {
        replicas.iter().collect()
    } else {
        named
    }
}

/// The other user of an alternating pair: `name` ↔ `name_clone`. The rotator
/// derives its next pending user from `AWSCURRENT` with it, and the audit judges
/// the pair by it: one rule, so the two never disagree on who the pair is.
pub fn alternate_user(name: &str) -> String {
    match name.strip_suffix("_clone") {
        Some(base) if !base.is_empty() => base.to_owned(),
        _ => format!("{name}_clone"),
    }
}

/// Whether two database host names are one: DNS names compare without case (RFC
/// 4343, <https://www.rfc-editor.org/rfc/rfc4343>) and without a final dot (the
/// root label; `db.example.com.` is `db.example.com`, RFC 1034 section 3.1).
pub fn same_host(a: &str, b: &str) -> bool {
    a.trim_end_matches('.')
        .eq_ignore_ascii_case(b.trim_end_matches('.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_alternate_of_a_user_and_of_its_clone() {
        let table = [
            ("appuser", "appuser_clone"),
            ("appuser_clone", "appuser"),
            ("_clone", "_clone_clone"),
            ("a_clone_clone", "a_clone"),
        ];
        for (name, other) in table {
            assert_eq!(alternate_user(name), other, "{name}");
        }
    }

    #[test]
    fn host_names_compare_without_case_or_a_final_dot() {
        let table = [
            (
                "db.abc.rds.amazonaws.com",
                "DB.abc.rds.amazonaws.com.",
                true,
            ),
            (
                "db.abc.rds.amazonaws.com..",
                "db.abc.rds.amazonaws.com",
                true,
            ),
            (
                "db.abc.rds.amazonaws.com",
                "db2.abc.rds.amazonaws.com",
                false,
            ),
            ("", ".", true),
        ];
        for (a, b, same) in table {
            assert_eq!(same_host(a, b), same, "{a} {b}");
        }
    }

    #[test]
    fn only_the_replica_the_host_names_is_described() {
        let replicas = vec![
            "db-r1".to_owned(),
            "arn:aws:rds:eu-west-1:1:db:db-r2".to_owned(),
        ];
        let cases: [(&str, bool, &[&str]); 5] = [
            ("db-r1.abc.us-east-1.rds.amazonaws.com", false, &["db-r1"]),
            (
                "DB-R2.abc.eu-west-1.rds.amazonaws.com",
                false,
                &["arn:aws:rds:eu-west-1:1:db:db-r2"],
            ),
            // A name RDS did not give (a CNAME): every replica.
            (
                "db.example.com",
                false,
                &["db-r1", "arn:aws:rds:eu-west-1:1:db:db-r2"],
            ),
            ("", false, &["db-r1", "arn:aws:rds:eu-west-1:1:db:db-r2"]),
            // On the primary: none.
            ("db-r1.abc.us-east-1.rds.amazonaws.com", true, &[]),
        ];
        for (host, on_primary, expected) in cases {
            let got: Vec<&str> = replicas_described(host, on_primary, &replicas)
                .into_iter()
                .map(String::as_str)
                .collect();
            assert_eq!(got, expected, "{host}");
        }
        assert!(replicas_described("db-r1.x", false, &[]).is_empty());
    }

    #[test]
    fn every_row_is_well_formed() {
        for call in CALLS {
            let (service, name) = call.action.split_once(':').expect("service:Action");
            assert!(
                ["secretsmanager", "rds", "kms"].contains(&service),
                "{call:?}"
            );
            assert!(name.starts_with(char::is_uppercase), "{call:?}");
            assert_eq!(call.service(), service);
            // Keys only under their own condition, and the condition only on keys.
            let on_key = matches!(
                call.resource,
                Resource::ApplicationSecretKey | Resource::AdminSecretKey
            );
            assert_eq!(on_key, call.when == When::CustomerManagedKey, "{call:?}");
            assert_eq!(on_key, service == "kms", "{call:?}");
            assert!(!call.why.is_empty());
        }
        // No row twice.
        for (i, a) in CALLS.iter().enumerate() {
            assert!(
                CALLS[i + 1..]
                    .iter()
                    .all(|b| (a.action, a.resource) != (b.action, b.resource)),
                "{a:?} twice"
            );
        }
    }

    #[test]
    fn the_calls_the_issues_named_are_listed_as_they_are_made() {
        let find = |action, resource| {
            CALLS
                .iter()
                .find(|c| c.action == action && c.resource == resource)
                .copied()
        };
        let cases = [
            (GET_RANDOM_PASSWORD, Resource::Any, When::Always, true),
            (
                LIST_SECRET_VERSION_IDS,
                Resource::ApplicationSecret,
                When::AlternatingUsers,
                false,
            ),
            (
                DESCRIBE_DB_INSTANCES,
                Resource::AdminDbInstances,
                When::AdminFromRds,
                true,
            ),
            (
                DESCRIBE_DB_CLUSTERS,
                Resource::AdminDbCluster,
                When::AdminCluster,
                true,
            ),
            (
                DESCRIBE_SECRET,
                Resource::AdminSecret,
                When::AdminFromRds,
                true,
            ),
        ];
        for (action, resource, when, required) in cases {
            let call = find(action, resource).unwrap_or_else(|| panic!("{action}"));
            assert_eq!(call.when, when, "{action}");
            assert_eq!(call.is_required(), required, "{action}");
        }
        assert!(has_action(GET_RANDOM_PASSWORD) && !has_action("secretsmanager:DeleteSecret"));
        assert_eq!(
            actions(|c| c.resource == Resource::ApplicationSecret && c.is_required()),
            [
                DESCRIBE_SECRET,
                GET_SECRET_VALUE,
                PUT_SECRET_VALUE,
                UPDATE_SECRET_VERSION_STAGE
            ]
        );
    }
}
