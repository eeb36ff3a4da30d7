//! The calls of `--discover` (the rule and the matching are in [`crate::discover`]).
//!
//! Per region: one `ListSecrets` listing (100 secrets a page); each rotation
//! function named by a candidate read once; with `--read-secrets` each candidate's
//! value (for `masterarn`, `engine` and `host`), the admin secret its `masterarn`
//! names (for the RDS tag), and the region's instances once, only when a host has
//! to be matched. Each setup is then collected as the tutorial's is, with its
//! secret, its function's VPC and its database as the scope.

use std::collections::BTreeMap;

use super::{CollectRequest, RegionCollector, calls, collection_error, endpoint_of};
use crate::discover::{Discovered, Endpoint, Verdict, classify, database_of};
use crate::inventory::{
    Collected, CollectionError, FunctionConfiguration, RegionInventory, Scope, SecretFacts,
};

impl RegionCollector<'_> {
    /// One region inventory per rotation setup of the region; when the secrets
    /// cannot be listed, one whose secrets carry the failure (its checks say why).
    pub(super) async fn discover(&self) -> Vec<RegionInventory> {
        let (listed, _) = self.list_secrets().await;
        let secrets = match listed {
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
                    scope: self.setup_scope(None, String::new(), String::new()),
                });
                return vec![region];
            }
        };
        let mut functions: BTreeMap<String, Collected<Option<FunctionConfiguration>>> =
            BTreeMap::new();
        let mut endpoints: Option<Result<Vec<Endpoint>, CollectionError>> = None;
        let mut setups = Vec::new();
        for secret in &secrets {
            let Some(function_arn) = secret.rotation_lambda_arn.clone() else {
                continue;
            };
            if secret.rotation_enabled != Some(true)
                || secret.owning_service.is_some()
                || secret.deleted_date.is_some()
            {
                continue; // classify would exclude it; no call is spent on it
            }
            if !functions.contains_key(&function_arn) {
                let configuration = self.function_configuration(&function_arn).await;
                functions.insert(function_arn.clone(), configuration);
            }
            let function = &functions[&function_arn];
            let facts = if self.request.scope.read_secrets {
                self.secret_value(&secret.arn).await.0
            } else {
                Collected::Skipped("secret values are read only with --read-secrets".to_owned())
            };
            let reason = match classify(secret, function, Some(&facts)) {
                Verdict::Setup(reason) => reason,
                Verdict::Excluded(reason) => {
                    tracing::info!(
                        "--discover: secret {} is not a setup: {reason}",
                        secret.name
                    );
                    continue;
                }
            };
            let admin = match &facts {
                Collected::Ok(SecretFacts {
                    masterarn: Some(masterarn),
                    ..
                }) => Some(self.describe_secret(masterarn).await),
                _ => None,
            };
            let needs_host = matches!(&facts, Collected::Ok(f) if f.host.is_some())
                && !matches!(&admin, Some(Collected::Ok(Some(s))) if s.tags.contains_key(crate::discover::RDS_PRIMARY_INSTANCE_TAG));
            if needs_host && endpoints.is_none() {
                endpoints = Some(self.db_endpoints().await);
            }
            let database = database_of(
                &facts,
                admin.as_ref(),
                endpoints.as_ref().and_then(|e| e.as_deref().ok()),
            );
            let vpc_id = match function {
                Collected::Ok(Some(configuration)) => configuration.vpc_id.clone(),
                _ => None,
            };
            let (db_instance_id, how, error) = match database {
                Ok((id, how)) => (id, how, None),
                Err(why) => (
                    String::new(),
                    why,
                    endpoints.as_ref().and_then(|e| e.as_ref().err()).cloned(),
                ),
            };
            setups.push((
                error,
                Discovered {
                    secret_name: secret.name.clone(),
                    secret_arn: secret.arn.clone(),
                    function_arn,
                    reason,
                    database: how,
                    scope: self.setup_scope(vpc_id, secret.arn.clone(), db_instance_id),
                },
            ));
        }
        let mut regions = Vec::new();
        for (endpoints_error, setup) in setups {
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
            };
            let mut region = Box::pin(collector.collect()).await;
            if setup.scope.db_instance_id.is_empty() {
                region.database = match endpoints_error {
                    Some(error) => Collected::Failed(error),
                    None => Collected::Skipped(format!(
                        "setup {}: {}",
                        setup.secret_name, setup.database
                    )),
                };
            }
            if setup.scope.vpc_id.is_none() {
                let reason = format!(
                    "setup {}: its rotation function's VPC is unknown",
                    setup.secret_name
                );
                region.vpc = Collected::Skipped(reason.clone());
                region.subnets = Collected::Skipped(reason.clone());
                region.endpoints = Collected::Skipped(reason);
            }
            region.discovered = Some(setup);
            regions.push(region);
        }
        regions
    }

    /// The scope one discovered setup is collected with.
    fn setup_scope(&self, vpc_id: Option<String>, secret: String, db_instance_id: String) -> Scope {
        Scope {
            regions: vec![self.region.clone()],
            vpc_id,
            secret_ids: if secret.is_empty() {
                Vec::new()
            } else {
                vec![secret]
            },
            all_secrets: false,
            db_instance_id,
            read_secrets: self.request.scope.read_secrets,
            discover: true,
        }
    }

    /// Every instance's endpoint in the region.
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
