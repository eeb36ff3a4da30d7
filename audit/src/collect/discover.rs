//! The calls of `--discover` (the rule and the matching are in [`crate::discover`]).
//!
//! Per region: one `ListSecrets` listing (100 secrets a page); deleted and
//! service-managed secrets are excluded without a call; each rotation function
//! named by a candidate is read once; with `--read-secrets` each candidate's value
//! (for its keys; the value is never kept), the admin secret its `masterarn` names
//! (for the RDS tag), and the region's instances once, only when a host has to be
//! matched. Each setup is then collected as the tutorial's is, with its secret, its
//! function's VPC and its database as the scope. With `--all-secrets` the first
//! setup is collected with every secret of the region (each checked once).

use std::collections::{BTreeMap, BTreeSet};

use super::{CollectRequest, RegionCollector, calls, collection_error, endpoint_of};
use crate::discover::{
    ClusterEndpoints, Discovered, Endpoint, ExcludedSecret, Verdict, classify, database_of,
    excluded_outright,
};
use crate::inventory::{
    Collected, CollectionError, FunctionConfiguration, RegionInventory, Scope, Secret, SecretFacts,
};

/// A setup found, with what its collection needs to be told.
struct Found {
    setup: Discovered,
    /// Why the region's instances could not be listed, when that left its
    /// database unknown.
    endpoints_error: Option<CollectionError>,
    /// Why its VPC is unknown, when it is.
    no_vpc: String,
}

impl RegionCollector<'_> {
    /// One region inventory per rotation setup of the region (with
    /// `--all-secrets`, the first also holds every other secret of the region), and
    /// the secrets looked at and excluded, each with its reason. When the secrets
    /// cannot be listed, one inventory whose secrets carry the failure (its checks
    /// say why).
    pub(super) async fn discover(&self) -> (Vec<RegionInventory>, Vec<ExcludedSecret>) {
        let (listed, _) = self.list_secrets().await;
        let mut secrets = match listed {
            Collected::Ok(secrets) => secrets,
            other => {
                let mut region = RegionInventory::empty(&self.region);
                region.vpc = Collected::Skipped("no setup discovered".to_owned());
                region.database = Collected::Skipped("no setup discovered".to_owned());
                region.secrets = other;
                region.discovered = Some(Discovered {
                    secret_name: "(discovery)".to_owned(),
                    secret_arn: String::new(),
                    function_arn: String::new(),
                    reason: "the region's secrets could not be listed".to_owned(),
                    database: "unknown".to_owned(),
                    scope: self.setup_scope(None, String::new(), String::new(), false),
                });
                return (vec![region], Vec::new());
            }
        };
        // By ARN, not ListSecrets' order: the setups, the excluded list and which
        // setup carries --all-secrets' other secrets are the same on every run.
        secrets.sort_by(|a, b| a.arn.cmp(&b.arn));
        let (found, excluded) = self.find_setups(&secrets).await;
        let setup_arns: BTreeSet<String> =
            found.iter().map(|f| f.setup.secret_arn.clone()).collect();
        let mut regions = Vec::new();
        for found in found {
            // With --all-secrets, the first setup's part also lists every other
            // secret of the region (the union: each secret is checked once).
            let all_secrets = regions.is_empty() && self.request.scope.all_secrets;
            let mut region = Box::pin(self.collect_setup(found, all_secrets)).await;
            if all_secrets {
                keep_each_secret_once(&mut region, &setup_arns);
            }
            regions.push(region);
        }
        if regions.is_empty() && self.request.scope.all_secrets {
            let rest = Found {
                setup: Discovered {
                    secret_name: "(all secrets)".to_owned(),
                    secret_arn: String::new(),
                    function_arn: String::new(),
                    reason: "--all-secrets: no rotation setup was discovered in the region; its secrets are checked for rotation".to_owned(),
                    database: "none: no rotation setup was discovered".to_owned(),
                    scope: self.setup_scope(None, String::new(), String::new(), true),
                },
                endpoints_error: None,
                no_vpc: "no rotation setup was discovered in the region".to_owned(),
            };
            regions.push(Box::pin(self.collect_setup(rest, true)).await);
        }
        (regions, excluded)
    }

    /// Classifies every listed secret: the setups, with what each depends on, and
    /// the secrets excluded, with why.
    async fn find_setups(&self, secrets: &[Secret]) -> (Vec<Found>, Vec<ExcludedSecret>) {
        let mut functions: BTreeMap<String, Collected<Option<FunctionConfiguration>>> =
            BTreeMap::new();
        let mut endpoints: Option<Result<Vec<Endpoint>, CollectionError>> = None;
        let mut clusters: Option<Result<Vec<ClusterEndpoints>, CollectionError>> = None;
        let mut found = Vec::new();
        let mut excluded = Vec::new();
        for secret in secrets {
            let exclude = |reason: String| ExcludedSecret {
                account_id: None,
                region: self.region.clone(),
                secret_arn: secret.arn.clone(),
                secret_name: secret.name.clone(),
                reason,
            };
            // Deleted and service-managed secrets are decided without a call.
            if let Some(reason) = excluded_outright(secret) {
                excluded.push(exclude(reason));
                continue;
            }
            let function_arn = secret.rotation_lambda_arn.clone();
            if let Some(arn) = &function_arn
                && !functions.contains_key(arn)
            {
                let configuration = self.function_configuration(arn).await;
                functions.insert(arn.clone(), configuration);
            }
            let function = function_arn.as_ref().map(|arn| &functions[arn]);
            let facts = if self.request.scope.read_secrets {
                self.secret_value(&secret.arn, None).await.0
            } else {
                Collected::Skipped("secret values are read only with --read-secrets".to_owned())
            };
            let reason = match classify(secret, function, Some(&facts)) {
                Verdict::Setup(reason) => reason,
                Verdict::Excluded(reason) => {
                    tracing::info!("--discover: secret {} is excluded: {reason}", secret.name);
                    excluded.push(exclude(reason));
                    continue;
                }
            };
            let (vpc_id, no_vpc) = match function {
                Some(Collected::Ok(Some(configuration))) => (
                    configuration.vpc_id.clone(),
                    format!(
                        "its rotation function {} runs outside any VPC",
                        configuration.arn
                    ),
                ),
                Some(_) => (None, "its rotation function's VPC is unknown".to_owned()),
                None => (None, "it names no rotation function".to_owned()),
            };
            let (db_instance_id, database, endpoints_error) = self
                .database_of_setup(&facts, &mut endpoints, &mut clusters)
                .await;
            found.push(Found {
                setup: Discovered {
                    secret_name: secret.name.clone(),
                    secret_arn: secret.arn.clone(),
                    function_arn: function_arn.unwrap_or_default(),
                    reason,
                    database,
                    scope: self.setup_scope(vpc_id, secret.arn.clone(), db_instance_id, false),
                },
                endpoints_error,
                no_vpc: format!("setup {}: {no_vpc}", secret.name),
            });
        }
        (found, excluded)
    }

    /// The database a setup depends on (its instance id, or empty), how it was
    /// found or why not, and the listing error that left it unknown.
    async fn database_of_setup(
        &self,
        facts: &Collected<SecretFacts>,
        endpoints: &mut Option<Result<Vec<Endpoint>, CollectionError>>,
        clusters: &mut Option<Result<Vec<ClusterEndpoints>, CollectionError>>,
    ) -> (String, String, Option<CollectionError>) {
        let admin = match facts {
            Collected::Ok(SecretFacts {
                masterarn: Some(masterarn),
                ..
            }) => Some(self.describe_secret(masterarn).await),
            _ => None,
        };
        let needs_host = matches!(facts, Collected::Ok(f) if f.host.is_some())
            && !matches!(&admin, Some(Collected::Ok(Some(s))) if s.tags.contains_key(crate::discover::RDS_PRIMARY_INSTANCE_TAG));
        if needs_host && endpoints.is_none() {
            *endpoints = Some(self.db_endpoints().await);
        }
        let decide = |clusters: Option<&[ClusterEndpoints]>| {
            database_of(
                facts,
                admin.as_ref(),
                endpoints.as_ref().and_then(|e| e.as_deref().ok()),
                clusters,
            )
        };
        // The region's clusters are listed only when an instance did not answer
        // (an Aurora setup: its admin secret's cluster tag, or a cluster
        // endpoint in its host), once per region.
        let mut decided = decide(Some(&[]));
        if decided.is_err() {
            if clusters.is_none() {
                *clusters = Some(self.db_clusters().await);
            }
            decided = decide(clusters.as_ref().and_then(|l| l.as_deref().ok()));
        }
        match decided {
            Ok((id, how)) => (id, how, None),
            Err(why) => (
                String::new(),
                why,
                listing_error(endpoints.as_ref(), clusters.as_ref()),
            ),
        }
    }

    /// Collects one setup as the tutorial's is, within its own scope.
    async fn collect_setup(&self, found: Found, all_secrets: bool) -> RegionInventory {
        let Found {
            mut setup,
            endpoints_error,
            no_vpc,
        } = found;
        setup.scope.all_secrets = all_secrets;
        let request = CollectRequest {
            scope: setup.scope.clone(),
            policy: self.request.policy.clone(),
            // A tunnel reaches one database; discovered setups use their hosts.
            db_endpoint: None,
            db_ca_bundle: self.request.db_ca_bundle.clone(),
        };
        let collector = RegionCollector {
            clients: self.clients.clone(),
            log: std::sync::Arc::clone(&self.log),
            request: &request,
            region: self.region.clone(),
            clusters: std::sync::Mutex::default(),
        };
        let mut region = Box::pin(collector.collect()).await;
        if setup.scope.db_instance_id.is_empty() {
            region.database = match endpoints_error {
                Some(error) => Collected::Failed(error),
                None => {
                    Collected::Skipped(format!("setup {}: {}", setup.secret_name, setup.database))
                }
            };
        }
        if setup.scope.vpc_id.is_none() {
            region.vpc = Collected::Skipped(no_vpc.clone());
            region.subnets = Collected::Skipped(no_vpc.clone());
            region.endpoints = Collected::Skipped(no_vpc.clone());
            region.default_security_group = Collected::Skipped(no_vpc);
        }
        region.discovered = Some(setup);
        region
    }

    /// The scope one discovered setup is collected with.
    fn setup_scope(
        &self,
        vpc_id: Option<String>,
        secret: String,
        db_instance_id: String,
        all_secrets: bool,
    ) -> Scope {
        Scope {
            regions: vec![self.region.clone()],
            vpc_id,
            secret_ids: if secret.is_empty() {
                Vec::new()
            } else {
                vec![secret]
            },
            all_secrets,
            db_instance_id,
            read_secrets: self.request.scope.read_secrets,
            discover: true,
        }
    }

    /// Every instance's endpoint in the region.
    /// Every DB cluster of the region with its endpoints and writer
    /// (`DescribeDBClusters`, every page).
    async fn db_clusters(&self) -> Result<Vec<ClusterEndpoints>, CollectionError> {
        let call = &calls::RDS_DESCRIBE_DB_CLUSTERS;
        let mut pages = self
            .clients
            .rds
            .describe_db_clusters()
            .max_records(100)
            .into_paginator()
            .send();
        let mut clusters = Vec::new();
        while let Some(page) = pages.next().await {
            self.log.record(call);
            let page = page.map_err(|error| collection_error(call, &error))?;
            clusters.extend(page.db_clusters().iter().map(|c| {
                ClusterEndpoints {
                    id: c.db_cluster_identifier().unwrap_or_default().to_owned(),
                    addresses: c
                        .endpoint()
                        .into_iter()
                        .chain(c.reader_endpoint())
                        .map(str::to_owned)
                        .chain(c.custom_endpoints().iter().cloned())
                        .collect(),
                    port: c.port().and_then(|p| u16::try_from(p).ok()),
                    writer: c
                        .db_cluster_members()
                        .iter()
                        .find(|m| m.is_cluster_writer() == Some(true))
                        .and_then(|m| m.db_instance_identifier())
                        .map(str::to_owned),
                }
            }));
        }
        Ok(clusters)
    }

    async fn db_endpoints(&self) -> Result<Vec<Endpoint>, CollectionError> {
        let call = &calls::RDS_DESCRIBE_DB_INSTANCES;
        let mut pages = self
            .clients
            .rds
            .describe_db_instances()
            .max_records(100)
            .into_paginator()
            .send();
        let mut endpoints = Vec::new();
        while let Some(page) = pages.next().await {
            self.log.record(call);
            match page {
                Ok(page) => endpoints.extend(page.db_instances().iter().map(|db| {
                    let (address, port) = endpoint_of(db);
                    Endpoint {
                        id: db.db_instance_identifier().unwrap_or_default().to_owned(),
                        address,
                        port,
                    }
                })),
                Err(error) => return Err(collection_error(call, &error)),
            }
        }
        Ok(endpoints)
    }
}

/// With `--discover --all-secrets`, the part that lists every secret of the region
/// drops the other setups' secrets: each is checked once, in its own setup.
fn keep_each_secret_once(region: &mut RegionInventory, setup_arns: &BTreeSet<String>) {
    if let Collected::Ok(secrets) = &mut region.secrets {
        secrets.retain(|s| s.primary || !setup_arns.contains(&s.arn));
    }
}

/// The listing error that left a setup's database unknown: `DescribeDBInstances`'
/// first, then `DescribeDBClusters`' (an Aurora setup is found only through the
/// clusters); each names its call and says whether it was denied
/// (`collection_error`). `None` when every listing that ran answered.
fn listing_error<E, C>(
    endpoints: Option<&Result<E, CollectionError>>,
    clusters: Option<&Result<C, CollectionError>>,
) -> Option<CollectionError> {
    endpoints
        .and_then(|e| e.as_ref().err())
        .or_else(|| clusters.and_then(|c| c.as_ref().err()))
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A listing not made (`None`), made, or failed.
    type Listed = Option<Result<(), CollectionError>>;

    #[test]
    fn a_failed_cluster_listing_is_what_left_the_database_unknown() {
        let error = |action: &str| CollectionError {
            action: action.to_owned(),
            access_denied: true,
            code: Some("AccessDenied".to_owned()),
            message: format!(
                "User: arn:aws:sts::123456789012:assumed-role/auditor/s is not authorized to perform: {action} with an explicit deny in a service control policy"
            ),
        };
        let instances = error("rds:DescribeDBInstances");
        let clusters = error("rds:DescribeDBClusters");
        // (instances listed, clusters listed, the error returned)
        let table: [(Listed, Listed, Option<&CollectionError>); 6] = [
            (None, None, None),
            (Some(Ok(())), None, None),
            (Some(Ok(())), Some(Ok(())), None),
            (Some(Ok(())), Some(Err(clusters.clone())), Some(&clusters)),
            (None, Some(Err(clusters.clone())), Some(&clusters)),
            (
                Some(Err(instances.clone())),
                Some(Err(clusters.clone())),
                Some(&instances),
            ),
        ];
        for (listed, clustered, expected) in table {
            assert_eq!(
                listing_error(listed.as_ref(), clustered.as_ref()).as_ref(),
                expected,
                "{listed:?} {clustered:?}"
            );
        }
        // Said as the SCP denial it is, naming the call.
        let said = listing_error::<(), ()>(Some(&Ok(())), Some(&Err(clusters)))
            .map(|e| e.describe())
            .unwrap_or_default();
        assert!(
            said.starts_with("rds:DescribeDBClusters denied by a service control policy"),
            "{said}"
        );
    }
}
