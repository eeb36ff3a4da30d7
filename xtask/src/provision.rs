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

use std::fs;
use std::io::Write as _;
use std::net::IpAddr;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, Result, anyhow, bail};
use audit::sensitive::SensitiveString;
use aws_config::SdkConfig;
use aws_sdk_ec2::types::{
    AttributeBooleanValue, Filter, HttpTokensState, InstanceMetadataEndpointState,
    InstanceMetadataOptionsRequest, InstanceStateName, InstanceType, KeyType, ResourceType, Tag,
    TagSpecification, VpcEndpointType,
};
use serde_json::json;

use crate::aws::{self, say};
use crate::database::{self, DbLogin};
use crate::names::{self, Names};
use crate::resources::Kind;
use crate::resources::kms_key::Lookup;
use crate::state::State;
use crate::tags::{ec2_tags, filter, kms_tags, owns_ec2, rds_tags, secret_tags, tag_spec};

// The integration tests name it here.
pub use crate::tags::run_filters;

/// Options of `cargo xtask provision`.
#[derive(Debug, Clone)]
pub struct ProvisionOptions {
    pub names: Names,
    /// The one address admitted to SSH (`a.b.c.d/32`, or a bare address).
    pub my_ip: String,
    /// Accept a `--my-ip` wider than one address.
    pub allow_wide_ssh: bool,
    /// The bastion's AMI; when absent, the newest Amazon Linux 2023 image from DescribeImages.
    pub ami: Option<String>,
    /// PEM bundle of the database's CAs, for the admin login that creates appuser.
    pub db_ca_bundle: Option<PathBuf>,
    /// Where the state file and the bastion's private key go.
    pub state_dir: PathBuf,
    /// Print a line per resource.
    pub verbose: bool,
}

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

/// The provisioning steps, sharing clients and the created list.
struct Provisioner<'a> {
    options: &'a ProvisionOptions,
    names: &'a Names,
    ec2: aws_sdk_ec2::Client,
    rds: aws_sdk_rds::Client,
    secrets: aws_sdk_secretsmanager::Client,
    kms: aws_sdk_kms::Client,
    created: Vec<String>,
    state: State,
    /// Zones, engine version and endpoint service names, asked of the region first.
    placement: Option<crate::placement::Placement>,
}

/// The bastion's metadata options: IMDSv2 only (`HttpTokens` `required`: FSBP
/// EC2.8, AWS Config `ec2-imdsv2-check`), the endpoint left on.
fn imdsv2_only() -> InstanceMetadataOptionsRequest {
    InstanceMetadataOptionsRequest::builder()
        .http_tokens(HttpTokensState::Required)
        .http_endpoint(InstanceMetadataEndpointState::Enabled)
        .build()
}

/// Provision's plan, made without a write: for each kind it makes, in the order it
/// makes them, what the run's tags already find and what provision would do.
pub async fn plan(config: &SdkConfig, names: &Names) -> Result<String> {
    let found = crate::discovery::discover(config, names).await?;
    let kinds: Vec<crate::resources::Kind> = crate::resources::creation_order()
        .into_iter()
        .filter(|k| k.spec().made_by == crate::resources::MadeBy::Provision)
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
    let mut p = Provisioner {
        options,
        names,
        ec2: aws_sdk_ec2::Client::new(config),
        rds: aws_sdk_rds::Client::new(config),
        secrets: aws_sdk_secretsmanager::Client::new(config),
        kms: aws_sdk_kms::Client::new(config),
        created: Vec::new(),
        placement: None,
        state: State {
            run: names.run.clone(),
            db_ca_bundle: options
                .db_ca_bundle
                .as_ref()
                .map(|p| std::fs::canonicalize(p).unwrap_or_else(|_| p.clone())),
            ..State::default()
        },
    };
    let state_file = names.state_file(&options.state_dir);
    let result = p.run(&my_ip).await;
    // The ids found so far are recorded even when a step failed.
    p.state.save(&state_file)?;
    result?;
    Ok(Provisioned {
        state: p.state,
        created: p.created,
    })
}

impl Provisioner<'_> {
    fn note(&mut self, what: &str, id: &str, created: bool) {
        if created {
            self.created.push(format!("{what} {id}"));
        }
        if self.options.verbose {
            say(&format!(
                "{what} {id}: {}",
                if created { "created" } else { "exists" }
            ));
        }
    }

    async fn run(&mut self, my_ip: &str) -> Result<()> {
        let region = self
            .ec2
            .config()
            .region()
            .map(ToString::to_string)
            .unwrap_or_default();
        let placement = crate::placement::find(&self.ec2, &self.rds, &region).await?;
        if self.options.verbose {
            say(&format!(
                "placement: zones {}, MySQL {}, endpoints {}",
                placement.zones.join(", "),
                placement.engine_version,
                placement.endpoint_services.join(", ")
            ));
        }
        self.placement = Some(placement);
        // The table of resources, walked forward: each kind after what it depends on.
        for kind in crate::resources::creation_order() {
            match kind {
                Kind::Vpc => self.vpc().await?,
                Kind::InternetGateway => self.internet_gateway().await?,
                Kind::Subnet => self.subnets().await?,
                Kind::RouteTable => self.route_table().await?,
                Kind::SecurityGroup => self.groups(my_ip).await?,
                Kind::VpcEndpoint => self.endpoints().await?,
                Kind::KeyPair => self.key_pair().await?,
                Kind::Instance => self.bastion().await?,
                Kind::DbSubnetGroup => self.db_subnet_group().await?,
                Kind::DbParameterGroup => self.db_parameter_group().await?,
                Kind::DbInstance => {
                    self.database().await?;
                    // The database's port is known once it exists.
                    let (port, bastion, database) = (
                        i32::from(self.state.db_port),
                        self.state.bastion_group.clone(),
                        self.state.database_group.clone(),
                    );
                    self.ingress(&database, port, &bastion).await?;
                }
                Kind::KmsKey => self.kms_key().await?,
                Kind::Secret => self.app_secret().await?,
                // Deploy's.
                Kind::Role | Kind::LogGroup | Kind::Function | Kind::Rotation => {}
            }
        }
        Ok(())
    }

    /// The three groups provision makes, their rules that need no database, and the
    /// VPC's default group closed.
    async fn groups(&mut self, my_ip: &str) -> Result<()> {
        let endpoint_group = self
            .group(
                &self.names.endpoint_group.clone(),
                "HTTPS to the Secrets Manager and RDS endpoints from the VPC",
            )
            .await?;
        self.state.endpoint_group.clone_from(&endpoint_group);
        self.ingress(&endpoint_group, 443, names::VPC_CIDR).await?;
        let bastion_group = self
            .group(
                &self.names.bastion_group.clone(),
                "SSH to the bastion from one address",
            )
            .await?;
        self.state.bastion_group.clone_from(&bastion_group);
        self.ingress(&bastion_group, 22, my_ip).await?;
        let database_group = self
            .group(
                &self.names.database_group.clone(),
                "MySQL from the bastion and the rotation function only",
            )
            .await?;
        self.state.database_group = database_group;
        // The VPC's own default group: closed, since nothing of the setup uses it.
        let mut calls = aws::Calls::new(false);
        crate::resources::security_group::close_default_group(
            &self.ec2,
            &self.state.vpc_id,
            &mut calls,
        )
        .await
    }

    async fn vpc(&mut self) -> Result<()> {
        let found = self
            .ec2
            .describe_vpcs()
            .set_filters(Some(run_filters(self.names)))
            .send()
            .await
            .map_err(|e| anyhow!("ec2:DescribeVpcs: {}", aws::describe(&e)))?;
        let (id, created) = if let Some(id) = found.vpcs().first().and_then(|v| v.vpc_id()) {
            (id.to_owned(), false)
        } else {
            let vpc = self
                .ec2
                .create_vpc()
                .cidr_block(names::VPC_CIDR)
                .tag_specifications(tag_spec(self.names, ResourceType::Vpc, &self.names.vpc))
                .send()
                .await
                .map_err(|e| anyhow!("ec2:CreateVpc {}: {}", self.names.vpc, aws::describe(&e)))?;
            let id = vpc
                .vpc()
                .and_then(|v| v.vpc_id())
                .ok_or_else(|| anyhow!("ec2:CreateVpc {}: no VPC id returned", self.names.vpc))?;
            (id.to_owned(), true)
        };
        crate::resources::vpc::enable_dns(&self.ec2, &id).await?;
        self.note("VPC", &format!("{id} {}", self.names.vpc), created);
        self.state.vpc_id = id;
        Ok(())
    }

    async fn subnets(&mut self) -> Result<()> {
        let zones = self.placement()?.zones.clone();
        let existing = aws::after_create(|| {
            self.ec2
                .describe_subnets()
                .filters(filter("vpc-id", self.state.vpc_id.clone()))
                .send()
        })
        .await
        .map_err(|e| anyhow!("ec2:DescribeSubnets: {}", aws::describe(&e)))?;
        for (tier, cidrs) in [
            ("public", names::PUBLIC_SUBNETS),
            ("private", names::PRIVATE_SUBNETS),
        ] {
            for (index, cidr) in cidrs.iter().enumerate() {
                let zone = &zones[index];
                let name = format!("{}-{tier}-{}", self.names.run, zone);
                let found = existing
                    .subnets()
                    .iter()
                    .find(|s| s.cidr_block() == Some(cidr));
                let public_ips =
                    found.and_then(aws_sdk_ec2::types::Subnet::map_public_ip_on_launch);
                let found = found.and_then(|s| s.subnet_id().map(str::to_owned));
                let (id, created) = if let Some(id) = found {
                    (id, false)
                } else {
                    let mut tags = ec2_tags(self.names, &name);
                    tags.push(Tag::builder().key(names::TIER_TAG_KEY).value(tier).build());
                    let spec = TagSpecification::builder()
                        .resource_type(ResourceType::Subnet)
                        .set_tags(Some(tags))
                        .build();
                    let subnet = aws::after_create(|| {
                        self.ec2
                            .create_subnet()
                            .vpc_id(&self.state.vpc_id)
                            .cidr_block(*cidr)
                            .availability_zone(zone)
                            .tag_specifications(spec.clone())
                            .send()
                    })
                    .await
                    .map_err(|e| anyhow!("ec2:CreateSubnet {name}: {}", aws::describe(&e)))?;
                    let id = subnet
                        .subnet()
                        .and_then(|s| s.subnet_id())
                        .ok_or_else(|| anyhow!("ec2:CreateSubnet {name}: no subnet id returned"))?
                        .to_owned();
                    (id, true)
                };
                // Checked and set on every run, so a run interrupted between the create
                // and this call is repaired by the next.
                if tier == "public" && public_ips != Some(true) {
                    aws::after_create(|| {
                        self.ec2
                            .modify_subnet_attribute()
                            .subnet_id(&id)
                            .map_public_ip_on_launch(
                                AttributeBooleanValue::builder().value(true).build(),
                            )
                            .send()
                    })
                    .await
                    .map_err(|e| {
                        anyhow!(
                            "ec2:ModifySubnetAttribute {id} (public IPs): {}",
                            aws::describe(&e)
                        )
                    })?;
                }
                self.note(&format!("{tier} subnet"), &format!("{id} {zone}"), created);
                if tier == "public" {
                    self.state.public_subnets.push(id);
                } else {
                    self.state.private_subnets.push(id);
                }
            }
        }
        Ok(())
    }

    /// The internet gateway, found by tags, attached to the VPC if it is not.
    async fn internet_gateway(&mut self) -> Result<()> {
        let vpc = self.state.vpc_id.clone();
        // Found by the run's tags, not by its attachment: a run interrupted between the
        // create and the attach must find the gateway it made, not make a second one.
        let gateways = self
            .ec2
            .describe_internet_gateways()
            .set_filters(Some(run_filters(self.names)))
            .send()
            .await
            .map_err(|e| anyhow!("ec2:DescribeInternetGateways: {}", aws::describe(&e)))?;
        let found = gateways.internet_gateways().first();
        let attached = found.is_some_and(|g| {
            g.attachments()
                .iter()
                .any(|a| a.vpc_id() == Some(vpc.as_str()))
        });
        let (gateway, created) = if let Some(id) = found.and_then(|g| g.internet_gateway_id()) {
            (id.to_owned(), false)
        } else {
            let name = format!("{}-igw", self.names.run);
            let created = self
                .ec2
                .create_internet_gateway()
                .tag_specifications(tag_spec(self.names, ResourceType::InternetGateway, &name))
                .send()
                .await
                .map_err(|e| anyhow!("ec2:CreateInternetGateway {name}: {}", aws::describe(&e)))?;
            let id = created
                .internet_gateway()
                .and_then(|g| g.internet_gateway_id())
                .ok_or_else(|| anyhow!("ec2:CreateInternetGateway: no id returned"))?
                .to_owned();
            (id, true)
        };
        if !attached {
            aws::after_create(|| {
                self.ec2
                    .attach_internet_gateway()
                    .internet_gateway_id(&gateway)
                    .vpc_id(&vpc)
                    .send()
            })
            .await
            .map_err(|e| {
                anyhow!(
                    "ec2:AttachInternetGateway {gateway} to {vpc}: {}",
                    aws::describe(&e)
                )
            })?;
        }
        self.note("internet gateway", &gateway, created);
        self.state.internet_gateway.clone_from(&gateway);
        Ok(())
    }

    /// The public route table: a default route through the gateway, and the public
    /// subnets associated (each checked on every run).
    async fn route_table(&mut self) -> Result<()> {
        let vpc = self.state.vpc_id.clone();
        let gateway = self.state.internet_gateway.clone();
        let mut filters = run_filters(self.names);
        filters.push(filter("vpc-id", vpc.clone()));
        let tables = self
            .ec2
            .describe_route_tables()
            .set_filters(Some(filters))
            .send()
            .await
            .map_err(|e| anyhow!("ec2:DescribeRouteTables: {}", aws::describe(&e)))?;
        let existing = tables.route_tables().first();
        let table = if let Some(id) = existing.and_then(|t| t.route_table_id()) {
            id.to_owned()
        } else {
            let name = format!("{}-public", self.names.run);
            let spec = tag_spec(self.names, ResourceType::RouteTable, &name);
            let created = aws::after_create(|| {
                self.ec2
                    .create_route_table()
                    .vpc_id(&vpc)
                    .tag_specifications(spec.clone())
                    .send()
            })
            .await
            .map_err(|e| anyhow!("ec2:CreateRouteTable {name}: {}", aws::describe(&e)))?;
            created
                .route_table()
                .and_then(|t| t.route_table_id())
                .ok_or_else(|| anyhow!("ec2:CreateRouteTable: no id returned"))?
                .to_owned()
        };
        let has_route = existing.is_some_and(|t| {
            t.routes()
                .iter()
                .any(|r| r.destination_cidr_block() == Some("0.0.0.0/0"))
        });
        if !has_route {
            aws::after_create(|| {
                self.ec2
                    .create_route()
                    .route_table_id(&table)
                    .destination_cidr_block("0.0.0.0/0")
                    .gateway_id(&gateway)
                    .send()
            })
            .await
            .map_err(|e| {
                anyhow!(
                    "ec2:CreateRoute 0.0.0.0/0 via {gateway} in {table}: {}",
                    aws::describe(&e)
                )
            })?;
        }
        for subnet in self.state.public_subnets.clone() {
            let associated = existing.is_some_and(|t| {
                t.associations()
                    .iter()
                    .any(|a| a.subnet_id() == Some(subnet.as_str()))
            });
            if !associated {
                aws::after_create(|| {
                    self.ec2
                        .associate_route_table()
                        .route_table_id(&table)
                        .subnet_id(&subnet)
                        .send()
                })
                .await
                .map_err(|e| {
                    anyhow!(
                        "ec2:AssociateRouteTable {table} with {subnet}: {}",
                        aws::describe(&e)
                    )
                })?;
            }
        }
        self.note("public route table", &table, existing.is_none());
        self.state.route_table = table;
        Ok(())
    }

    /// Finds the run's group `name` in the VPC, or creates it.
    async fn group(&mut self, name: &str, description: &str) -> Result<String> {
        let found = aws::after_create(|| {
            self.ec2
                .describe_security_groups()
                .filters(filter("vpc-id", self.state.vpc_id.clone()))
                .filters(filter("group-name", name))
                .send()
        })
        .await
        .map_err(|e| anyhow!("ec2:DescribeSecurityGroups {name}: {}", aws::describe(&e)))?;
        if let Some(group) = found.security_groups().first() {
            let id = group.group_id().unwrap_or_default().to_owned();
            if !owns_ec2(self.names, group.tags()) {
                bail!(
                    "security group {name} ({id}) exists in {} without the run's tags; delete it or choose another --name",
                    self.state.vpc_id
                );
            }
            self.note("security group", &format!("{id} {name}"), false);
            return Ok(id);
        }
        let spec = tag_spec(self.names, ResourceType::SecurityGroup, name);
        let created = aws::after_create(|| {
            self.ec2
                .create_security_group()
                .group_name(name)
                .description(description)
                .vpc_id(&self.state.vpc_id)
                .tag_specifications(spec.clone())
                .send()
        })
        .await
        .map_err(|e| anyhow!("ec2:CreateSecurityGroup {name}: {}", aws::describe(&e)))?;
        let id = created
            .group_id()
            .ok_or_else(|| anyhow!("ec2:CreateSecurityGroup {name}: no id returned"))?
            .to_owned();
        self.note("security group", &format!("{id} {name}"), true);
        Ok(id)
    }

    /// Admits TCP `port` from `source` on `group` unless a rule already does.
    async fn ingress(&mut self, group: &str, port: i32, source: &str) -> Result<()> {
        // Provision has no dry run of its own (its plan is `provision::plan`).
        let mut calls = aws::Calls::new(false);
        crate::resources::security_group::admit_tcp(&self.ec2, group, port, source, &mut calls)
            .await
    }

    /// The placement found at the start of [`Self::run`].
    fn placement(&self) -> Result<&crate::placement::Placement> {
        self.placement
            .as_ref()
            .ok_or_else(|| anyhow!("internal: placement asked for before it was found"))
    }

    async fn endpoints(&mut self) -> Result<()> {
        let services = self.placement()?.endpoint_services.clone();
        for (service, service_name) in crate::placement::ENDPOINT_SERVICES
            .into_iter()
            .zip(services)
        {
            let found = self
                .ec2
                .describe_vpc_endpoints()
                .filters(filter("vpc-id", self.state.vpc_id.clone()))
                .filters(filter("service-name", service_name.clone()))
                .send()
                .await
                .map_err(|e| anyhow!("ec2:DescribeVpcEndpoints: {}", aws::describe(&e)))?;
            let live = found.vpc_endpoints().iter().find(|e| {
                !matches!(
                    e.state()
                        .map(|s| s.as_str().to_ascii_lowercase())
                        .as_deref(),
                    Some("deleted" | "deleting" | "failed")
                )
            });
            let (id, created) = if let Some(id) = live.and_then(|e| e.vpc_endpoint_id()) {
                (id.to_owned(), false)
            } else {
                let name = format!("{}-{service}", self.names.run);
                let spec = tag_spec(self.names, ResourceType::VpcEndpoint, &name);
                let created = aws::after_create(|| {
                    self.ec2
                        .create_vpc_endpoint()
                        .vpc_id(&self.state.vpc_id)
                        .service_name(&service_name)
                        .vpc_endpoint_type(VpcEndpointType::Interface)
                        .set_subnet_ids(Some(self.state.private_subnets.clone()))
                        .security_group_ids(&self.state.endpoint_group)
                        .private_dns_enabled(true)
                        .tag_specifications(spec.clone())
                        .send()
                })
                .await
                .map_err(|e| {
                    anyhow!(
                        "ec2:CreateVpcEndpoint {service_name}: {}",
                        aws::describe(&e)
                    )
                })?;
                let id = created
                    .vpc_endpoint()
                    .and_then(|e| e.vpc_endpoint_id())
                    .ok_or_else(|| anyhow!("ec2:CreateVpcEndpoint {service_name}: no id"))?
                    .to_owned();
                (id, true)
            };
            self.note(&format!("{service} endpoint"), &id, created);
            self.state.endpoints.push(id);
        }
        Ok(())
    }

    async fn key_pair(&mut self) -> Result<()> {
        let name = self.names.key_pair.clone();
        let key_file = self.names.key_file(&self.options.state_dir);
        let found = self
            .ec2
            .describe_key_pairs()
            .filters(filter("key-name", name.clone()))
            .send()
            .await
            .map_err(|e| anyhow!("ec2:DescribeKeyPairs: {}", aws::describe(&e)))?;
        if let Some(pair) = found.key_pairs().first() {
            if !owns_ec2(self.names, pair.tags()) {
                bail!(
                    "key pair {name} exists without the run's tags; delete it or choose another --name"
                );
            }
            if !key_file.is_file() && self.options.verbose {
                say(&format!(
                    "key pair {name}: its private key is not at {} (AWS shows it only once); SSH to the bastion needs that file",
                    key_file.display()
                ));
            }
            self.note("key pair", &name, false);
        } else {
            let created = self
                .ec2
                .create_key_pair()
                .key_name(&name)
                .key_type(KeyType::Rsa)
                .tag_specifications(tag_spec(self.names, ResourceType::KeyPair, &name))
                .send()
                .await
                .map_err(|e| anyhow!("ec2:CreateKeyPair {name}: {}", aws::describe(&e)))?;
            let material = SensitiveString::new(created.key_material().unwrap_or_default());
            write_private_key(&key_file, &material)?;
            self.note(
                "key pair",
                &format!("{name} (private key in {}, mode 0600)", key_file.display()),
                true,
            );
        }
        self.state.key_pair = name;
        self.state.key_file = key_file;
        Ok(())
    }

    async fn ami(&mut self) -> Result<String> {
        if let Some(ami) = &self.options.ami {
            return Ok(ami.clone());
        }
        let images = self
            .ec2
            .describe_images()
            .owners("amazon")
            .filters(filter("name", "al2023-ami-2023.*-x86_64"))
            .filters(filter("architecture", "x86_64"))
            .filters(filter("state", "available"))
            .send()
            .await
            .map_err(|e| anyhow!("ec2:DescribeImages (owner amazon): {}", aws::describe(&e)))?;
        let newest = images
            .images()
            .iter()
            .filter_map(|i| {
                Some((
                    i.creation_date().unwrap_or_default().to_owned(),
                    i.name()?.to_owned(),
                    i.image_id()?.to_owned(),
                ))
            })
            .max();
        let Some((_, name, id)) = newest else {
            bail!(
                "no Amazon Linux 2023 x86_64 image found with ec2:DescribeImages (owner amazon, name al2023-ami-2023.*-x86_64); pass --ami ami-..."
            );
        };
        if self.options.verbose {
            say(&format!(
                "AMI {id} ({name}): the newest Amazon Linux 2023 image from DescribeImages (the public SSM parameter is not read; pass --ami to choose)"
            ));
        }
        Ok(id)
    }

    async fn bastion(&mut self) -> Result<()> {
        let mut filters = run_filters(self.names);
        filters.push(filter("tag:Name", self.names.bastion.clone()));
        filters.push(
            Filter::builder()
                .name("instance-state-name")
                .values("pending")
                .values("running")
                .values("stopping")
                .values("stopped")
                .build(),
        );
        let found = self
            .ec2
            .describe_instances()
            .set_filters(Some(filters))
            .send()
            .await
            .map_err(|e| anyhow!("ec2:DescribeInstances: {}", aws::describe(&e)))?;
        let existing = found
            .reservations()
            .iter()
            .flat_map(aws_sdk_ec2::types::Reservation::instances)
            .find_map(|i| {
                let tokens = i.metadata_options().and_then(|m| m.http_tokens()).cloned();
                Some((
                    i.instance_id()?.to_owned(),
                    i.image_id()?.to_owned(),
                    tokens,
                ))
            });
        let (id, ami, created) = if let Some((id, ami, tokens)) = existing {
            if tokens != Some(HttpTokensState::Required) {
                self.require_imdsv2(&id).await?;
            }
            (id, ami, false)
        } else {
            let ami = self.ami().await?;
            let spec = tag_spec(self.names, ResourceType::Instance, &self.names.bastion);
            let run = aws::after_create(|| {
                self.ec2
                    .run_instances()
                    .image_id(&ami)
                    // Offered in the zones placement chose (see crate::placement).
                    .instance_type(InstanceType::from(crate::placement::INSTANCE_TYPE))
                    .min_count(1)
                    .max_count(1)
                    .key_name(&self.state.key_pair)
                    .subnet_id(self.state.public_subnets.first().cloned().unwrap_or_default())
                    .security_group_ids(&self.state.bastion_group)
                    .metadata_options(imdsv2_only())
                    .tag_specifications(spec.clone())
                    .send()
            })
            .await
                .map_err(|e| {
                    anyhow!(
                        "ec2:RunInstances {} (AMI {ami}, {}): {}; pass another --ami if the image is not available",
                        self.names.bastion,
                        crate::placement::INSTANCE_TYPE,
                        aws::describe(&e)
                    )
                })?;
            let id = run
                .instances()
                .first()
                .and_then(|i| i.instance_id())
                .ok_or_else(|| anyhow!("ec2:RunInstances: no instance id returned"))?
                .to_owned();
            (id, ami, true)
        };
        let ec2 = self.ec2.clone();
        let public_ip = aws::wait_for(
            &format!("bastion {id} to run"),
            Duration::from_mins(10),
            || {
                let ec2 = ec2.clone();
                let id = id.clone();
                async move {
                    let out =
                        aws::after_create(|| ec2.describe_instances().instance_ids(&id).send())
                            .await
                            .map_err(|e| {
                                anyhow!("ec2:DescribeInstances {id}: {}", aws::describe(&e))
                            })?;
                    let instance = out
                        .reservations()
                        .iter()
                        .flat_map(aws_sdk_ec2::types::Reservation::instances)
                        .next();
                    Ok(instance
                        .filter(|i| {
                            i.state().and_then(|s| s.name()) == Some(&InstanceStateName::Running)
                        })
                        .map(|i| i.public_ip_address().unwrap_or("none").to_owned()))
                }
            },
        )
        .await?;
        self.note(
            "bastion",
            &format!(
                "{id} {} (public IP {public_ip}, AMI {ami})",
                self.names.bastion
            ),
            created,
        );
        self.state.bastion_instance = id;
        self.state.ami = ami;
        Ok(())
    }

    /// Makes a bastion of an earlier run require IMDSv2 (the instance is the run's:
    /// found by its tags). `ModifyInstanceMetadataOptions` applies to a running
    /// instance without a restart (Amazon EC2 User Guide, "Modify instance metadata
    /// options for existing instances").
    async fn require_imdsv2(&self, id: &str) -> Result<()> {
        self.ec2
            .modify_instance_metadata_options()
            .instance_id(id)
            // HttpEndpoint is left out: omitted, it keeps its state (EC2 API
            // reference, ModifyInstanceMetadataOptions), so an endpoint an operator
            // turned off stays off.
            .http_tokens(HttpTokensState::Required)
            .send()
            .await
            .map_err(|e| {
                anyhow!(
                    "ec2:ModifyInstanceMetadataOptions {id} (HttpTokens required): {}",
                    aws::describe(&e)
                )
            })?;
        say(&format!(
            "bastion {id}: now requires IMDSv2 (HttpTokens required)"
        ));
        Ok(())
    }

    async fn db_subnet_group(&mut self) -> Result<()> {
        let group_name = self.names.db_subnet_group.clone();
        match self
            .rds
            .describe_db_subnet_groups()
            .db_subnet_group_name(&group_name)
            .send()
            .await
        {
            Ok(out) => {
                let vpc = out.db_subnet_groups().first().and_then(|g| g.vpc_id());
                if vpc != Some(self.state.vpc_id.as_str()) {
                    bail!(
                        "DB subnet group {group_name} exists in {} rather than {}; delete it or choose another --name",
                        vpc.unwrap_or("another VPC"),
                        self.state.vpc_id
                    );
                }
                self.note("DB subnet group", &group_name, false);
            }
            Err(error) if aws::is_not_found(&error) => {
                self.rds
                    .create_db_subnet_group()
                    .db_subnet_group_name(&group_name)
                    .db_subnet_group_description(format!("private subnets of {}", self.names.vpc))
                    .set_subnet_ids(Some(self.state.private_subnets.clone()))
                    .set_tags(Some(rds_tags(self.names)))
                    .send()
                    .await
                    .map_err(|e| {
                        anyhow!(
                            "rds:CreateDBSubnetGroup {group_name}: {}",
                            aws::describe(&e)
                        )
                    })?;
                self.note("DB subnet group", &group_name, true);
            }
            Err(error) => bail!(
                "rds:DescribeDBSubnetGroups {group_name}: {}",
                aws::describe(&error)
            ),
        }
        self.state.db_subnet_group.clone_from(&group_name);
        Ok(())
    }

    /// The project's parameter group, `require_secure_transport` on (set on every
    /// run: a value changed by hand is put back).
    async fn db_parameter_group(&mut self) -> Result<()> {
        let name = self.names.db_parameter_group.clone();
        let family =
            crate::resources::db_parameter_group::family(&self.placement()?.engine_version.clone());
        // AWS answers DBParameterGroupNotFound for a name it does not have (moto an
        // empty list): both mean "create it".
        let existing = match self
            .rds
            .describe_db_parameter_groups()
            .db_parameter_group_name(&name)
            .send()
            .await
        {
            Ok(out) => out.db_parameter_groups().first().cloned(),
            Err(error) if aws::is_not_found(&error) => None,
            Err(error) => bail!(
                "rds:DescribeDBParameterGroups {name}: {}",
                aws::describe(&error)
            ),
        };
        if let Some(group) = existing {
            let arn = group.db_parameter_group_arn().unwrap_or_default();
            if !crate::tags::owns_rds(&self.rds, self.names, arn).await? {
                bail!(
                    "DB parameter group {name} exists but does not carry the project's tags; refusing to adopt it: delete it or choose another --name"
                );
            }
            self.note("DB parameter group", &name, false);
        } else {
            self.rds
                .create_db_parameter_group()
                .db_parameter_group_name(&name)
                .db_parameter_group_family(&family)
                .description(format!("{}: connections only over TLS", self.names.run))
                .set_tags(Some(rds_tags(self.names)))
                .send()
                .await
                .map_err(|e| {
                    anyhow!(
                        "rds:CreateDBParameterGroup {name} ({family}): {}",
                        aws::describe(&e)
                    )
                })?;
            self.note("DB parameter group", &name, true);
        }
        // Dynamic: in force without a reboot (RDS User Guide, "Requiring SSL/TLS for
        // all connections to a MySQL DB instance on Amazon RDS").
        self.rds
            .modify_db_parameter_group()
            .db_parameter_group_name(&name)
            .parameters(
                aws_sdk_rds::types::Parameter::builder()
                    .parameter_name("require_secure_transport")
                    .parameter_value("1")
                    .apply_method(aws_sdk_rds::types::ApplyMethod::Immediate)
                    .build(),
            )
            .send()
            .await
            .map_err(|e| {
                anyhow!(
                    "rds:ModifyDBParameterGroup {name} require_secure_transport=1: {}",
                    aws::describe(&e)
                )
            })?;
        Ok(())
    }

    /// Moves an earlier run's instance into the project's parameter group, and says on
    /// every run whether the group is in force. No `ApplyImmediately`: the group name
    /// changes at once without it, its parameters only at the next reboot either way,
    /// and `ApplyImmediately` would also apply the user's other pending modifications
    /// (Amazon RDS API Reference, ModifyDBInstance: DBParameterGroupName,
    /// ApplyImmediately).
    async fn use_parameter_group(
        &self,
        id: &str,
        instance: Option<&aws_sdk_rds::types::DbInstance>,
    ) -> Result<()> {
        let name = &self.names.db_parameter_group;
        let current = instance.map_or(&[][..], aws_sdk_rds::types::DbInstance::db_parameter_groups);
        let ours = current
            .iter()
            .find(|g| g.db_parameter_group_name() == Some(name.as_str()));
        let apply_status = if let Some(group) = ours {
            group.parameter_apply_status().map(ToOwned::to_owned)
        } else {
            let out = self
                .rds
                .modify_db_instance()
                .db_instance_identifier(id)
                .db_parameter_group_name(name)
                .send()
                .await
                .map_err(|e| {
                    anyhow!(
                        "rds:ModifyDBInstance {id} --db-parameter-group-name {name}: {}",
                        aws::describe(&e)
                    )
                })?;
            say(&format!(
                "RDS instance {id}: moved to parameter group {name}"
            ));
            out.db_instance()
                .map(aws_sdk_rds::types::DbInstance::db_parameter_groups)
                .unwrap_or_default()
                .iter()
                .find(|g| g.db_parameter_group_name() == Some(name.as_str()))
                .and_then(|g| g.parameter_apply_status())
                .map(ToOwned::to_owned)
        };
        let region = self
            .rds
            .config()
            .region()
            .map(ToString::to_string)
            .unwrap_or_default();
        say(&crate::resources::db_parameter_group::tls_status(
            id,
            name,
            apply_status.as_deref(),
            &region,
        ));
        Ok(())
    }

    async fn database(&mut self) -> Result<()> {
        let group_name = self.names.db_subnet_group.clone();
        let id = self.names.db_instance.clone();
        let created = match self
            .rds
            .describe_db_instances()
            .db_instance_identifier(&id)
            .send()
            .await
        {
            Ok(out) => {
                let tags = out
                    .db_instances()
                    .first()
                    .map(aws_sdk_rds::types::DbInstance::tag_list)
                    .unwrap_or_default();
                if !self.names.owns(
                    tags.iter()
                        .map(|t| (t.key().unwrap_or(""), t.value().unwrap_or(""))),
                ) {
                    bail!(
                        "RDS instance {id} exists but does not carry the project's tags ({}={}, {}={}); refusing to adopt it: delete it or choose another --name",
                        names::PROJECT_TAG_KEY,
                        names::PROJECT_TAG_VALUE,
                        names::RUN_TAG_KEY,
                        self.names.run
                    );
                }
                self.use_parameter_group(&id, out.db_instances().first())
                    .await?;
                false
            }
            Err(error) if aws::is_not_found(&error) => {
                let version = self.placement()?.engine_version.clone();
                self.rds
                    .create_db_instance()
                    .db_instance_identifier(&id)
                    .engine(crate::placement::DB_ENGINE)
                    .engine_version(&version)
                    .db_instance_class(crate::placement::DB_CLASS)
                    .allocated_storage(20)
                    .master_username(names::ADMIN_USER)
                    .manage_master_user_password(true)
                    // The API's default is unencrypted storage (the console's is encrypted).
                    .storage_encrypted(true)
                    .publicly_accessible(false)
                    .db_subnet_group_name(&group_name)
                    .db_parameter_group_name(&self.names.db_parameter_group)
                    .vpc_security_group_ids(&self.state.database_group)
                    .set_tags(Some(rds_tags(self.names)))
                    .send()
                    .await
                    .map_err(|e| {
                        anyhow!(
                            "rds:CreateDBInstance {id} ({} {version}, {}): {}",
                            crate::placement::DB_ENGINE,
                            crate::placement::DB_CLASS,
                            aws::describe(&e)
                        )
                    })?;
                true
            }
            Err(error) => bail!("rds:DescribeDBInstances {id}: {}", aws::describe(&error)),
        };
        let rds = self.rds.clone();
        let (host, port, admin_arn) = aws::wait_for(
            &format!("RDS instance {id} to be available (minutes on AWS)"),
            Duration::from_mins(40),
            || {
                let rds = rds.clone();
                let id = id.clone();
                async move {
                    let out = rds
                        .describe_db_instances()
                        .db_instance_identifier(&id)
                        .send()
                        .await
                        .map_err(|e| {
                            anyhow!("rds:DescribeDBInstances {id}: {}", aws::describe(&e))
                        })?;
                    let Some(instance) = out.db_instances().first() else {
                        return Ok(None);
                    };
                    if instance.db_instance_status() != Some("available") {
                        return Ok(None);
                    }
                    let endpoint = instance.endpoint();
                    let secret = instance.master_user_secret();
                    match (
                        endpoint.and_then(|e| e.address()),
                        endpoint.and_then(aws_sdk_rds::types::Endpoint::port),
                        secret.and_then(|s| s.secret_arn()),
                    ) {
                        (Some(host), Some(port), Some(arn))
                            if secret.and_then(|s| s.secret_status()) == Some("active") =>
                        {
                            let port = u16::try_from(port).map_err(|_| {
                                anyhow!("RDS instance {id} reports port {port}, not a TCP port")
                            })?;
                            Ok(Some((host.to_owned(), port, arn.to_owned())))
                        }
                        (_, _, None) => bail!(
                            "RDS instance {id} has no RDS-managed admin secret (MasterUserSecret); it was not created by provision: delete it or choose another --name"
                        ),
                        _ => Ok(None),
                    }
                }
            },
        )
        .await?;
        self.note(
            "RDS instance",
            &format!("{id} at {host}:{port}, admin secret managed by RDS"),
            created,
        );
        self.state.db_instance = id;
        self.state.db_host = host;
        self.state.db_port = port;
        self.state.admin_secret_arn = admin_arn;
        Ok(())
    }

    /// The application secret's customer managed key, found by its alias and tags
    /// or made, with rotation on (checked every run).
    async fn kms_key(&mut self) -> Result<()> {
        let alias = self.names.kms_alias.clone();
        let arn = if let Some(key) = self.existing_key().await? {
            let arn = key.arn().unwrap_or(key.key_id()).to_owned();
            self.note("KMS key", &format!("{alias} ({arn})"), false);
            arn
        } else {
            let created = self
                .kms
                .create_key()
                .description(format!(
                    "{}: encrypts the secret {}",
                    self.names.run, self.names.secret
                ))
                .set_tags(Some(kms_tags(self.names)))
                .send()
                .await
                .map_err(|e| anyhow!("kms:CreateKey: {}", aws::describe(&e)))?;
            let key = created
                .key_metadata()
                .ok_or_else(|| anyhow!("kms:CreateKey answered no key"))?;
            let arn = key.arn().unwrap_or(key.key_id()).to_owned();
            // Recorded before the alias: the state file (saved even when a step fails)
            // lets a rerun find the key if CreateAlias does not happen.
            self.state.kms_key_arn.clone_from(&arn);
            crate::resources::kms_key::create_alias(&self.kms, &alias, key.key_id(), true).await?;
            self.note("KMS key", &format!("{alias} ({arn})"), true);
            arn
        };
        let rotating = self
            .kms
            .get_key_rotation_status()
            .key_id(&arn)
            .send()
            .await
            .map_err(|e| anyhow!("kms:GetKeyRotationStatus {alias}: {}", aws::describe(&e)))?
            .key_rotation_enabled();
        if !rotating {
            self.kms
                .enable_key_rotation()
                .key_id(&arn)
                .send()
                .await
                .map_err(|e| anyhow!("kms:EnableKeyRotation {alias}: {}", aws::describe(&e)))?;
        }
        self.state.kms_key_arn = arn;
        Ok(())
    }

    /// The run's key: by its alias (a deletion a cleanup scheduled is cancelled), or
    /// by the id an interrupted earlier run recorded (its alias then made).
    async fn existing_key(&self) -> Result<Option<aws_sdk_kms::types::KeyMetadata>> {
        use crate::resources::kms_key;
        let alias = &self.names.kms_alias;
        match kms_key::lookup(&self.kms, self.names).await? {
            Lookup::Ours(key) => Ok(Some(*key)),
            Lookup::Foreign(key_id) => Err(Lookup::foreign_error(alias, &key_id)),
            Lookup::Pending { key_id, ours: true } => {
                kms_key::revive(&self.kms, &key_id).await?;
                say(&format!(
                    "KMS key {alias} ({key_id}): its deletion cancelled and the key enabled again"
                ));
                kms_key::recorded(&self.kms, self.names, &key_id).await
            }
            Lookup::Pending {
                key_id,
                ours: false,
            } => bail!(
                "KMS alias {alias} names key {key_id}, pending deletion and without the run's tags; delete the alias (`aws kms delete-alias --alias-name {alias}`) or choose another --name"
            ),
            Lookup::Missing => {
                let recorded = State::load(&self.names.state_file(&self.options.state_dir))
                    .ok()
                    .flatten()
                    .map(|s| s.kms_key_arn)
                    .filter(|k| !k.is_empty());
                let Some(recorded) = recorded else {
                    return Ok(None);
                };
                let Some(key) = kms_key::recorded(&self.kms, self.names, &recorded).await? else {
                    return Ok(None);
                };
                kms_key::create_alias(&self.kms, alias, key.key_id(), false).await?;
                say(&format!(
                    "KMS key {recorded}: an earlier run's, given its alias {alias} again"
                ));
                Ok(Some(key))
            }
        }
    }

    /// Moves an earlier run's secret to the run's key: Secrets Manager re-encrypts
    /// its current versions under it (API reference, UpdateSecret: KmsKeyId).
    /// A secret already rotating keeps its rotation function, whose role may decrypt
    /// only under the key named when `deploy` wrote its policy: the user is told to
    /// rerun deploy.
    async fn use_kms_key(
        &self,
        name: &str,
        current: Option<&str>,
        rotation_function: Option<&str>,
    ) -> Result<()> {
        let key = &self.state.kms_key_arn;
        if current == Some(key.as_str()) {
            return Ok(());
        }
        self.secrets
            .update_secret()
            .secret_id(name)
            .kms_key_id(key)
            .send()
            .await
            .map_err(|e| {
                anyhow!(
                    "secretsmanager:UpdateSecret {name} --kms-key-id {key}: {}",
                    aws::describe(&e)
                )
            })?;
        say(&format!("secret {name}: now encrypted with {key}"));
        if let Some(function) = rotation_function {
            say(&format!(
                "secret {name}: its rotation function {function} cannot read it under the new key until the rotation role may use the key: rerun `cargo xtask deploy` before the next rotation"
            ));
        }
        Ok(())
    }

    async fn app_secret(&mut self) -> Result<()> {
        let name = self.names.secret.clone();
        match aws::describe_secret(&self.secrets, &name).await {
            Ok(secret) => {
                if !self.names.owns(
                    secret
                        .tags()
                        .iter()
                        .map(|t| (t.key().unwrap_or(""), t.value().unwrap_or(""))),
                ) {
                    bail!(
                        "secret {name} exists without the run's tags; delete it or choose another --name"
                    );
                }
                if secret.deleted_date().is_some() {
                    bail!(
                        "secret {name} is scheduled for deletion (a cleanup without --force-delete-secrets); restore it with `aws secretsmanager restore-secret --secret-id {name}` or delete it for good with `cargo xtask cleanup --force-delete-secrets`, then rerun"
                    );
                }
                secret
                    .arn()
                    .unwrap_or_default()
                    .clone_into(&mut self.state.secret_arn);
                self.note("secret", &name, false);
                return self
                    .use_kms_key(&name, secret.kms_key_id(), secret.rotation_lambda_arn())
                    .await;
            }
            Err(error) if error.missing => {}
            Err(error) => return Err(error.into()),
        }
        let admin = self.admin_login().await?;
        let password = self.random_password().await?;
        let mut connection = database::connect(&admin).await?;
        let user = format!("'{}'@'%'", names::APP_USER);
        let statements = [
            format!("CREATE DATABASE IF NOT EXISTS `{}`", names::APP_DATABASE),
            format!(
                "CREATE TABLE IF NOT EXISTS `{}`.`{}` (id INT PRIMARY KEY, note VARCHAR(100))",
                names::APP_DATABASE,
                names::APP_TABLE
            ),
            format!(
                "INSERT IGNORE INTO `{}`.`{}` VALUES (1, 'readable with the rotated credentials')",
                names::APP_DATABASE,
                names::APP_TABLE
            ),
            format!(
                "CREATE USER IF NOT EXISTS {user} IDENTIFIED BY '{}' REQUIRE SSL",
                password.expose()
            ),
            format!(
                "ALTER USER {user} IDENTIFIED BY '{}' REQUIRE SSL",
                password.expose()
            ),
            format!("GRANT SELECT ON `{}`.* TO {user}", names::APP_DATABASE),
        ];
        for (index, statement) in statements.iter().enumerate() {
            sqlx::raw_sql(sqlx::AssertSqlSafe(statement.clone()))
                .execute(&mut *connection)
                .await
                .map_err(|e| {
                    // Statements 3 and 4 hold the password: name them, and show only the
                    // server's error code (its message may quote the statement).
                    let (shown, error) = if (3..=4).contains(&index) {
                        (
                            format!("the statement setting {user}'s password"),
                            e.as_database_error()
                                .and_then(|d| d.code().map(|c| format!("error {c}")))
                                .unwrap_or_else(|| "failed".to_owned()),
                        )
                    } else {
                        (statement.clone(), e.to_string())
                    };
                    anyhow!(
                        "database {}:{} as {}: {shown}: {error}",
                        admin.host,
                        admin.port,
                        admin.user
                    )
                })?;
        }
        let value = json!({
            "engine": "mysql",
            "host": self.state.db_host,
            "port": self.state.db_port,
            "username": names::APP_USER,
            "password": password.expose(),
            "dbname": names::APP_DATABASE,
            "masterarn": self.state.admin_secret_arn,
            "ssl": true,
        });
        let created = self
            .secrets
            .create_secret()
            .name(&name)
            .description(format!(
                "{} credentials for {}, rotated with alternating users",
                names::APP_USER,
                self.names.db_instance
            ))
            .secret_string(value.to_string())
            .kms_key_id(&self.state.kms_key_arn)
            .set_tags(Some(secret_tags(self.names)))
            .send()
            .await
            .map_err(|e| anyhow!("secretsmanager:CreateSecret {name}: {}", aws::describe(&e)))?;
        created
            .arn()
            .unwrap_or_default()
            .clone_into(&mut self.state.secret_arn);
        self.note(
            "secret",
            &format!(
                "{name} ({} with SELECT on {})",
                names::APP_USER,
                names::APP_DATABASE
            ),
            true,
        );
        Ok(())
    }

    async fn admin_login(&self) -> Result<DbLogin> {
        let arn = &self.state.admin_secret_arn;
        let value = self
            .secrets
            .get_secret_value()
            .secret_id(arn)
            .send()
            .await
            .map_err(|e| {
                anyhow!(
                    "secretsmanager:GetSecretValue {arn} (the RDS-managed admin secret): {}",
                    aws::describe(&e)
                )
            })?;
        let parsed: serde_json::Value =
            serde_json::from_str(value.secret_string().unwrap_or_default()).map_err(|_| {
                anyhow!("admin secret {arn}: the value is not JSON with username and password")
            })?;
        let field = |key: &str| {
            parsed[key]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| anyhow!("admin secret {arn}: key `{key}` is missing"))
        };
        Ok(DbLogin {
            host: self.state.db_host.clone(),
            port: self.state.db_port,
            user: field("username")?,
            password: SensitiveString::new(field("password")?),
            ca_bundle: self.options.db_ca_bundle.clone(),
            via: self.state.bastion(&self.ec2, &self.options.state_dir).await,
        })
    }

    async fn random_password(&self) -> Result<SensitiveString> {
        let out = self
            .secrets
            .get_random_password()
            .password_length(32)
            .exclude_characters("/@\"'\\`")
            .send()
            .await
            .map_err(|e| anyhow!("secretsmanager:GetRandomPassword: {}", aws::describe(&e)))?;
        let password = out.random_password().unwrap_or_default();
        if password.len() < 16 || password.contains(['\'', '\\']) {
            bail!(
                "secretsmanager:GetRandomPassword returned an unusable password (too short or with a quote); rerun"
            );
        }
        Ok(SensitiveString::new(password))
    }
}

/// Writes the bastion's private key with mode 0600, replacing an old file.
fn write_private_key(path: &Path, material: &SensitiveString) -> Result<()> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    if path.exists() {
        fs::remove_file(path).with_context(|| format!("replacing {}", path.display()))?;
    }
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating the private key file {}", path.display()))?;
    file.write_all(material.expose().as_bytes())
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
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
