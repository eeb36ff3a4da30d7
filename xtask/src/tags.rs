//! The run's tags on each service, and the EC2 filters and rules built from them.
//!
//! Every resource the project creates carries the project's and the run's tags (see
//! [`crate::names`]), and every command finds what it made by those tags and never
//! by a name alone: provision and deploy before they create, placement and deploy to
//! look up, cleanup to decide what is the run's. So the builders and checks live here,
//! below all of them.

use aws_sdk_ec2::types::{
    Filter, IpPermission, IpRange, Ipv6Range, ResourceType, SecurityGroup, Tag, TagSpecification,
    UserIdGroupPair,
};

use crate::names::Names;

pub(crate) fn ec2_tags(names: &Names, name: &str) -> Vec<Tag> {
    let mut tags: Vec<Tag> = names
        .tags()
        .into_iter()
        .map(|(key, value)| Tag::builder().key(key).value(value).build())
        .collect();
    tags.push(Tag::builder().key("Name").value(name).build());
    tags
}

pub(crate) fn tag_spec(names: &Names, resource: ResourceType, name: &str) -> TagSpecification {
    TagSpecification::builder()
        .resource_type(resource)
        .set_tags(Some(ec2_tags(names, name)))
        .build()
}

/// Filters that select this run's resources.
pub fn run_filters(names: &Names) -> Vec<Filter> {
    names
        .tags()
        .into_iter()
        .map(|(key, value)| {
            Filter::builder()
                .name(format!("tag:{key}"))
                .values(value)
                .build()
        })
        .collect()
}

pub(crate) fn filter(name: &str, value: impl Into<String>) -> Filter {
    Filter::builder().name(name).values(value).build()
}

pub(crate) fn owns_ec2(names: &Names, tags: &[Tag]) -> bool {
    names.owns(
        tags.iter()
            .map(|t| (t.key().unwrap_or(""), t.value().unwrap_or(""))),
    )
}

/// Whether a group already admits `port` over TCP from `source` (a CIDR or a group id).
pub(crate) fn admits(group: &SecurityGroup, port: i32, source: &str) -> bool {
    group.ip_permissions().iter().any(|p| {
        p.ip_protocol() == Some("tcp")
            && p.from_port() == Some(port)
            && p.to_port() == Some(port)
            && (p.ip_ranges().iter().any(|r| r.cidr_ip() == Some(source))
                || p.ipv6_ranges()
                    .iter()
                    .any(|r| r.cidr_ipv6() == Some(source))
                || p.user_id_group_pairs()
                    .iter()
                    .any(|g| g.group_id() == Some(source)))
    })
}

pub(crate) fn tcp_permission(port: i32, source: &str) -> IpPermission {
    let permission = IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(port)
        .to_port(port);
    if source.starts_with("sg-") {
        permission
            .user_id_group_pairs(UserIdGroupPair::builder().group_id(source).build())
            .build()
    } else if source.contains(':') {
        permission
            .ipv6_ranges(Ipv6Range::builder().cidr_ipv6(source).build())
            .build()
    } else {
        permission
            .ip_ranges(IpRange::builder().cidr_ip(source).build())
            .build()
    }
}

pub(crate) fn rds_tags(names: &Names) -> Vec<aws_sdk_rds::types::Tag> {
    names
        .tags()
        .into_iter()
        .map(|(key, value)| {
            aws_sdk_rds::types::Tag::builder()
                .key(key)
                .value(value)
                .build()
        })
        .collect()
}

pub(crate) fn secret_tags(names: &Names) -> Vec<aws_sdk_secretsmanager::types::Tag> {
    names
        .tags()
        .into_iter()
        .map(|(key, value)| {
            aws_sdk_secretsmanager::types::Tag::builder()
                .key(key)
                .value(value)
                .build()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_admits_only_what_its_rules_say() {
        let group = SecurityGroup::builder()
            .ip_permissions(tcp_permission(22, "203.0.113.10/32"))
            .ip_permissions(tcp_permission(3306, "sg-123"))
            .build();
        let cases = [
            (22, "203.0.113.10/32", true),
            (22, "203.0.113.11/32", false),
            (3306, "sg-123", true),
            (3306, "sg-456", false),
            (3307, "sg-123", false),
        ];
        for (port, source, expected) in cases {
            assert_eq!(admits(&group, port, source), expected, "{port} {source}");
        }
    }
}
