//! What the EC2 kinds share: how one is found by the run's tags ([`discover_ec2`]).
//!
//! Every EC2 kind's discovery is the same three steps: its Describe call with the
//! run's tag filters, the answer's items kept only when they carry all of the run's
//! tags (checked again on the answer, so a Describe that ignores a filter still lists
//! nothing of another run), and each pushed as a [`Resource`]. The steps live here
//! once; a kind's file says only which call, and how it reads one item (its id, its
//! name, and which items are not the run's to delete, such as a terminated instance).
//! Below the kinds' files, beside `deletion.rs` and `context.rs`.

use std::future::Future;

use anyhow::Result;
use aws_sdk_ec2::error::ProvideErrorMetadata;
use aws_sdk_ec2::types::{Filter, Tag};

use super::kind::{Kind, Resource};
use crate::aws;
use crate::names::Names;
use crate::tags::{ec2_name, owns_ec2, run_filters};

/// One EC2 kind's discovery: `describe` sends the kind's Describe call (`call`, named
/// in its error) with the run's tag filters ([`run_filters`]); `listed` reads its
/// answer as each item's tags and the resource it is (leaving out an item that is not
/// the run's to delete); each resource whose tags are the run's ([`owns_ec2`]) is
/// pushed onto `found`.
pub(crate) async fn discover_ec2<Answer, E, Sent>(
    names: &Names,
    found: &mut Vec<Resource>,
    call: &str,
    describe: impl FnOnce(Option<Vec<Filter>>) -> Sent,
    listed: impl FnOnce(&Answer) -> Vec<(&[Tag], Resource)>,
) -> Result<()>
where
    Sent: Future<Output = Result<Answer, E>>,
    E: std::error::Error + ProvideErrorMetadata,
{
    let answer = describe(Some(run_filters(names)))
        .await
        .map_err(aws::failed(call))?;
    found.extend(
        listed(&answer)
            .into_iter()
            .filter(|(tags, _)| owns_ec2(names, tags))
            .map(|(_, resource)| resource),
    );
    Ok(())
}

/// An item as [`discover_ec2`]'s `listed` returns it, named by its `Name` tag.
pub(crate) fn named<'a>(kind: Kind, id: Option<&str>, tags: &'a [Tag]) -> (&'a [Tag], Resource) {
    (
        tags,
        Resource::new(kind, id.unwrap_or_default(), ec2_name(tags)),
    )
}

#[cfg(test)]
mod tests {
    use aws_sdk_ec2::error::ErrorMetadata;
    use aws_sdk_ec2::operation::describe_vpcs::{DescribeVpcsError, DescribeVpcsOutput};
    use aws_sdk_ec2::types::Vpc;

    use super::*;
    use crate::tags::ec2_tags;

    fn vpc(id: &str, tags: Vec<Tag>) -> Vpc {
        Vpc::builder().vpc_id(id).set_tags(Some(tags)).build()
    }

    fn listed(answer: &DescribeVpcsOutput) -> Vec<(&[Tag], Resource)> {
        let vpcs = answer.vpcs().iter();
        vpcs.map(|v| named(Kind::Vpc, v.vpc_id(), v.tags()))
            .collect()
    }

    #[tokio::test]
    async fn only_what_carries_the_runs_tags_is_found_whatever_the_describe_answers() {
        let run = Names::new("RunA").expect("names");
        let other = Names::new("RunB").expect("names");
        // As a Describe that ignored its filters would answer: another run's VPC and
        // an untagged one beside the run's.
        let answer = DescribeVpcsOutput::builder()
            .vpcs(vpc("vpc-a", ec2_tags(&run, "RunA-vpc")))
            .vpcs(vpc("vpc-b", ec2_tags(&other, "RunB-vpc")))
            .vpcs(vpc("vpc-untagged", Vec::new()))
            .build();
        let mut sent = None;
        let mut found = Vec::new();
        let describe = |filters| {
            sent = filters;
            async { Ok::<_, DescribeVpcsError>(answer) }
        };
        discover_ec2(&run, &mut found, "ec2:DescribeVpcs", describe, listed)
            .await
            .expect("discovery");
        assert_eq!(found, [Resource::new(Kind::Vpc, "vpc-a", "RunA-vpc")]);
        assert_eq!(sent, Some(run_filters(&run)), "asked with the run's tags");
    }

    #[tokio::test]
    async fn a_failed_describe_names_the_call() {
        let run = Names::new("RunA").expect("names");
        let denied = DescribeVpcsError::generic(
            ErrorMetadata::builder()
                .code("UnauthorizedOperation")
                .message("from the test")
                .build(),
        );
        let mut found = Vec::new();
        let describe = |_| async { Err::<DescribeVpcsOutput, _>(denied) };
        let error = discover_ec2(&run, &mut found, "ec2:DescribeVpcs", describe, listed)
            .await
            .expect_err("a denied describe fails");
        let message = error.to_string();
        assert!(
            message.starts_with("ec2:DescribeVpcs: ") && message.contains("UnauthorizedOperation"),
            "{message}"
        );
        assert!(found.is_empty());
    }
}
