//! Where the tutorial's resources can go in a region, asked of AWS rather than assumed.
//!
//! Not every instance type, DB instance class, engine version or endpoint service is
//! offered in every Availability Zone: `t2.micro` is missing from newer regions,
//! `db.t3.micro` from some zones, opted-in Local Zones (which sort first) have neither
//! the interface endpoints nor small DB classes, and RDS retires minor versions. So
//! provision asks, once per run:
//!
//! - `ec2:DescribeAvailabilityZones`: standard zones only (`ZoneType`
//!   `availability-zone`), not Local or Wavelength Zones;
//! - `ec2:DescribeInstanceTypeOfferings` (location type `availability-zone`): where the
//!   bastion's type is offered;
//! - `rds:DescribeOrderableDBInstanceOptions` (engine `mysql`, the class): the engine
//!   versions offered for the class and the zones of each;
//! - `ec2:DescribeVpcEndpointServices`: the endpoint services' real names (which
//!   differ by partition: `cn.com.amazonaws.cn-north-1.secretsmanager` in China) and
//!   their zones;
//!
//! and picks the newest MySQL 8.4 version offered for the class (RDS user guide,
//! "MySQL on Amazon RDS versions": 8.4 is the current long-term major version) and
//! the first two zones that offer everything. The choices are pure functions below.

use std::collections::BTreeSet;

use anyhow::{Result, anyhow, bail};
use aws_sdk_ec2::types::LocationType;

use crate::aws;
use crate::tags::filter;

/// The bastion's instance type: offered in every commercial region's standard zones
/// (where `t2.micro` is not), and free-tier eligible where `t2.micro` is absent.
pub const INSTANCE_TYPE: &str = "t3.micro";
/// The database's class and engine.
pub const DB_CLASS: &str = "db.t3.micro";
pub const DB_ENGINE: &str = "mysql";
/// The MySQL major version pinned: its newest minor version offered is used.
pub const DB_MAJOR_VERSION: &str = "8.4";
/// The services the VPC needs interface endpoints for.
pub const ENDPOINT_SERVICES: [&str; 2] = ["secretsmanager", "rds"];

/// Where a run's resources go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// Two standard zones offering the instance type, the DB class and both endpoints.
    pub zones: Vec<String>,
    /// The MySQL version to create (newest 8.4.x offered for the class).
    pub engine_version: String,
    /// Endpoint service names, in the order of [`ENDPOINT_SERVICES`].
    pub endpoint_services: Vec<String>,
}

/// What one offering covers, for [`choose_zones`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offered {
    /// What is offered ("t3.micro instances"), for the error message.
    pub what: String,
    pub zones: BTreeSet<String>,
}

/// The first two of `standard` (sorted) zones where every offering is available, or
/// an error naming, for each offering, the zones that have it.
pub fn choose_zones(standard: &[String], offered: &[Offered]) -> Result<Vec<String>> {
    let mut sorted: Vec<&String> = standard.iter().collect();
    sorted.sort();
    let usable: Vec<String> = sorted
        .into_iter()
        .filter(|zone| offered.iter().all(|o| o.zones.contains(*zone)))
        .cloned()
        .collect();
    if usable.len() >= 2 {
        return Ok(usable.into_iter().take(2).collect());
    }
    let detail: Vec<String> = offered
        .iter()
        .map(|o| {
            let zones: Vec<&str> = o
                .zones
                .iter()
                .filter(|z| standard.contains(z))
                .map(String::as_str)
                .collect();
            format!(
                "{} in {}",
                o.what,
                if zones.is_empty() {
                    "no standard zone".to_owned()
                } else {
                    zones.join(", ")
                }
            )
        })
        .collect();
    bail!(
        "the tutorial needs two Availability Zones that offer everything it places, and this region has {} ({}); choose another --region",
        usable.len(),
        detail.join("; ")
    )
}

/// The newest `major`.x version among `versions` (numeric comparison, so 8.4.10 is
/// newer than 8.4.9); `None` when the major version is not offered.
pub fn newest_version(versions: &[String], major: &str) -> Option<String> {
    let prefix = format!("{major}.");
    versions
        .iter()
        .filter(|v| v.starts_with(&prefix))
        .filter_map(|v| {
            let parts: Option<Vec<u32>> = v.split('.').map(|p| p.parse().ok()).collect();
            parts.map(|parts| (parts, v))
        })
        .max()
        .map(|(_, v)| v.clone())
}

/// The name of `service`'s interface endpoint service in `region` among `names`:
/// `com.amazonaws.<region>.<service>`, or the partition's own prefix for it
/// (`cn.com.amazonaws.<region>.<service>`); never a name that merely contains it.
pub fn endpoint_service_name(names: &[String], region: &str, service: &str) -> Option<String> {
    let suffix = format!("amazonaws.{region}.{service}");
    let standard = format!("com.{suffix}");
    names
        .iter()
        .find(|n| **n == standard)
        .or_else(|| {
            names
                .iter()
                .find(|n| n.ends_with(&format!(".{standard}")) && !n.contains(".vpce."))
        })
        .cloned()
}

/// Asks the region where the run's resources can go; see the module documentation.
pub async fn find(
    ec2: &aws_sdk_ec2::Client,
    rds: &aws_sdk_rds::Client,
    region: &str,
) -> Result<Placement> {
    let zones = ec2
        .describe_availability_zones()
        .filters(filter("state", "available"))
        .send()
        .await
        .map_err(|e| anyhow!("ec2:DescribeAvailabilityZones: {}", aws::describe(&e)))?;
    let standard: Vec<String> = zones
        .availability_zones()
        .iter()
        .filter(|z| z.zone_type().is_none_or(|t| t == "availability-zone"))
        .filter_map(|z| z.zone_name().map(str::to_owned))
        .collect();

    let mut offered = vec![Offered {
        what: format!("{INSTANCE_TYPE} instances"),
        zones: instance_zones(ec2).await?,
    }];

    let db_options = db_options(rds).await?;
    let versions: Vec<String> = db_options.iter().map(|(v, _)| v.clone()).collect();
    let engine_version = newest_version(&versions, DB_MAJOR_VERSION).ok_or_else(|| {
        anyhow!(
            "RDS offers no MySQL {DB_MAJOR_VERSION} version for {DB_CLASS} in {region} (offered: {}); choose another --region",
            if versions.is_empty() { "none".to_owned() } else { versions.join(", ") }
        )
    })?;
    offered.push(Offered {
        what: format!("{DB_CLASS} MySQL {engine_version}"),
        zones: db_options
            .iter()
            .find(|(v, _)| *v == engine_version)
            .map(|(_, z)| z.clone())
            .unwrap_or_default(),
    });

    let services = interface_services(ec2).await?;
    let names: Vec<String> = services.iter().map(|(n, _)| n.clone()).collect();
    let mut endpoint_services = Vec::new();
    for service in ENDPOINT_SERVICES {
        let name = endpoint_service_name(&names, region, service).ok_or_else(|| {
            anyhow!(
                "ec2:DescribeVpcEndpointServices: {region} offers no interface endpoint for {service}; the tutorial's private subnets need one: choose another --region"
            )
        })?;
        offered.push(Offered {
            what: format!("the {service} endpoint"),
            zones: services
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, z)| z.clone())
                .unwrap_or_default(),
        });
        endpoint_services.push(name);
    }

    Ok(Placement {
        zones: choose_zones(&standard, &offered)?,
        engine_version,
        endpoint_services,
    })
}

/// The zones that offer the bastion's instance type.
async fn instance_zones(ec2: &aws_sdk_ec2::Client) -> Result<BTreeSet<String>> {
    let mut instance_zones = BTreeSet::new();
    let mut token = None;
    loop {
        let page = ec2
            .describe_instance_type_offerings()
            .location_type(LocationType::AvailabilityZone)
            .filters(filter("instance-type", INSTANCE_TYPE))
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| anyhow!("ec2:DescribeInstanceTypeOfferings: {}", aws::describe(&e)))?;
        instance_zones.extend(
            page.instance_type_offerings()
                .iter()
                .filter(|o| {
                    o.instance_type()
                        .is_some_and(|t| t.as_str() == INSTANCE_TYPE)
                })
                .filter_map(|o| o.location().map(str::to_owned)),
        );
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    Ok(instance_zones)
}

/// Each MySQL version RDS offers for the DB class, with the zones that offer it.
async fn db_options(rds: &aws_sdk_rds::Client) -> Result<Vec<(String, BTreeSet<String>)>> {
    let mut db_options: Vec<(String, BTreeSet<String>)> = Vec::new();
    let mut marker = None;
    loop {
        let page = rds
            .describe_orderable_db_instance_options()
            .engine(DB_ENGINE)
            .db_instance_class(DB_CLASS)
            .vpc(true)
            .set_marker(marker)
            .send()
            .await
            .map_err(|e| {
                anyhow!(
                    "rds:DescribeOrderableDBInstanceOptions {DB_ENGINE} {DB_CLASS}: {}",
                    aws::describe(&e)
                )
            })?;
        for option in page.orderable_db_instance_options() {
            if option.db_instance_class() != Some(DB_CLASS) {
                continue;
            }
            let Some(version) = option.engine_version() else {
                continue;
            };
            let zones = option
                .availability_zones()
                .iter()
                .filter_map(|z| z.name().map(str::to_owned));
            match db_options.iter_mut().find(|(v, _)| v == version) {
                Some((_, known)) => known.extend(zones),
                None => db_options.push((version.to_owned(), zones.collect())),
            }
        }
        marker = page.marker().map(str::to_owned);
        if marker.is_none() {
            break;
        }
    }
    Ok(db_options)
}

/// Each interface endpoint service of the region, with the zones that offer it.
async fn interface_services(ec2: &aws_sdk_ec2::Client) -> Result<Vec<(String, BTreeSet<String>)>> {
    let mut services: Vec<(String, BTreeSet<String>)> = Vec::new();
    let mut token = None;
    loop {
        let page = ec2
            .describe_vpc_endpoint_services()
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| anyhow!("ec2:DescribeVpcEndpointServices: {}", aws::describe(&e)))?;
        services.extend(page.service_details().iter().filter_map(|d| {
            let interface = d
                .service_type()
                .iter()
                .any(|t| t.service_type().is_some_and(|t| t.as_str() == "Interface"));
            interface.then(|| {
                (
                    d.service_name().unwrap_or_default().to_owned(),
                    d.availability_zones().iter().cloned().collect(),
                )
            })
        }));
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    Ok(services)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offered(what: &str, zones: &[&str]) -> Offered {
        Offered {
            what: what.to_owned(),
            zones: zones.iter().map(|z| (*z).to_owned()).collect(),
        }
    }

    type Chosen<'a> = Result<[&'a str; 2], &'a str>;

    #[test]
    fn zones_are_the_first_two_standard_ones_offering_everything() {
        let standard: Vec<String> = ["us-east-1c", "us-east-1a", "us-east-1e", "us-east-1b"]
            .iter()
            .map(|z| (*z).to_owned())
            .collect();
        let cases: [(&[Offered], Chosen); 4] = [
            (
                &[offered(
                    "t3.micro instances",
                    &["us-east-1a", "us-east-1b", "us-east-1c"],
                )],
                Ok(["us-east-1a", "us-east-1b"]),
            ),
            // us-east-1a lacks the DB class: the next zones that have everything.
            (
                &[
                    offered(
                        "t3.micro instances",
                        &["us-east-1a", "us-east-1b", "us-east-1c"],
                    ),
                    offered(
                        "db.t3.micro MySQL 8.4.7",
                        &["us-east-1b", "us-east-1c", "us-east-1e"],
                    ),
                ],
                Ok(["us-east-1b", "us-east-1c"]),
            ),
            // Only one zone has everything: an error that names each offering's zones.
            (
                &[
                    offered("t3.micro instances", &["us-east-1a", "us-east-1b"]),
                    offered("the rds endpoint", &["us-east-1b", "us-east-1c"]),
                ],
                Err(
                    "t3.micro instances in us-east-1a, us-east-1b; the rds endpoint in us-east-1b, us-east-1c",
                ),
            ),
            // A Local Zone offering something does not count.
            (
                &[offered(
                    "t3.micro instances",
                    &["us-east-1-bos-1a", "us-east-1a"],
                )],
                Err("t3.micro instances in us-east-1a"),
            ),
        ];
        for (offers, expected) in cases {
            let chosen = choose_zones(&standard, offers);
            match (chosen, expected) {
                (Ok(zones), Ok(want)) => assert_eq!(zones, want, "{offers:?}"),
                (Err(error), Err(want)) => {
                    let text = error.to_string();
                    assert!(text.contains(want), "{text}");
                    assert!(text.contains("choose another --region"), "{text}");
                }
                (got, want) => panic!("{offers:?}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn the_newest_minor_version_of_the_pinned_major_is_chosen() {
        let versions = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let cases: [(&[&str], Option<&str>); 5] = [
            (&["8.0.43", "8.4.6", "8.4.7", "9.4.0"], Some("8.4.7")),
            (&["8.4.9", "8.4.10"], Some("8.4.10")),
            (&["8.0.43", "8.0.44"], None),
            (&["8.40.1", "8.4.3"], Some("8.4.3")),
            (&[], None),
        ];
        for (offered, expected) in cases {
            assert_eq!(
                newest_version(&versions(offered), "8.4").as_deref(),
                expected,
                "{offered:?}"
            );
        }
    }

    #[test]
    fn endpoint_service_names_come_from_the_region_and_partition() {
        let names = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let cases: [(&[&str], &str, &str, Option<&str>); 5] = [
            (
                &[
                    "com.amazonaws.us-east-1.rds",
                    "com.amazonaws.us-east-1.rds-data",
                    "com.amazonaws.us-east-1.secretsmanager",
                ],
                "us-east-1",
                "rds",
                Some("com.amazonaws.us-east-1.rds"),
            ),
            (
                &["cn.com.amazonaws.cn-north-1.secretsmanager"],
                "cn-north-1",
                "secretsmanager",
                Some("cn.com.amazonaws.cn-north-1.secretsmanager"),
            ),
            (
                &["com.amazonaws.us-west-2.secretsmanager"],
                "us-east-1",
                "secretsmanager",
                None,
            ),
            (
                &[
                    "aws.sagemaker.us-east-1.notebook",
                    "com.amazonaws.vpce.us-east-1.vpce-svc-1",
                ],
                "us-east-1",
                "secretsmanager",
                None,
            ),
            (&[], "us-east-1", "rds", None),
        ];
        for (offered, region, service, expected) in cases {
            assert_eq!(
                endpoint_service_name(&names(offered), region, service).as_deref(),
                expected,
                "{offered:?} {service}"
            );
        }
    }
}
