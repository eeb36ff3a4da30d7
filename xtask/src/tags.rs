//! The run's tags on each service, and the EC2 filters built from them.
//!
//! Every resource the project creates carries the project's and the run's tags (see
//! [`crate::names`]), and every command finds what it made by those tags and never
//! by a name alone: provision and deploy before they create, placement and deploy to
//! look up, cleanup to decide what is the run's. So the builders and checks live here,
//! below all of them.

use aws_sdk_ec2::types::{Filter, ResourceType, Tag, TagSpecification};

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

/// Whether the RDS resource `arn` carries the run's tags (`rds:ListTagsForResource`).
pub(crate) async fn owns_rds(
    rds: &aws_sdk_rds::Client,
    names: &Names,
    arn: &str,
) -> anyhow::Result<bool> {
    let tags = rds
        .list_tags_for_resource()
        .resource_name(arn)
        .send()
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "rds:ListTagsForResource {arn}: {}",
                crate::aws::describe(&e)
            )
        })?;
    Ok(names.owns(
        tags.tag_list()
            .iter()
            .map(|t| (t.key().unwrap_or(""), t.value().unwrap_or(""))),
    ))
}

pub(crate) fn kms_tags(names: &Names) -> Vec<aws_sdk_kms::types::Tag> {
    names
        .tags()
        .into_iter()
        .filter_map(|(key, value)| {
            aws_sdk_kms::types::Tag::builder()
                .tag_key(key)
                .tag_value(value)
                .build()
                .ok()
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

/// An EC2 resource's `Name` tag, or empty.
pub(crate) fn ec2_name(tags: &[aws_sdk_ec2::types::Tag]) -> String {
    tags.iter()
        .find(|t| t.key() == Some("Name"))
        .and_then(|t| t.value())
        .unwrap_or("")
        .to_owned()
}
