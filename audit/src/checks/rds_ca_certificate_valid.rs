//! `rds.ca-certificate.valid`: the CA that signed the database's server
//! certificate is not expired or about to expire.
//!
//! The rotator verifies the server's certificate against the RDS CA bundle; when
//! the instance's CA (`CACertificateIdentifier`) expires, every verified TLS
//! connection fails, rotation included ("Amazon RDS Certificate Authority
//! certificates rds-ca-2019 expired in August, 2024": Amazon RDS User Guide,
//! "Rotating your SSL/TLS certificate"). The CA's `ValidTill` comes from
//! `DescribeCertificates`. The threshold is the policy's `ca_certificate_min_days`
//! (default 30); Prowler's `rds_instance_certificate_expiration` fails under three
//! months, a stricter choice a policy file can make.
//!
//! The server's own certificate can expire before its CA (RDS API reference,
//! `CertificateDetails`: "The details of the DB instance's server certificate",
//! with its `ValidTill`, in `DescribeDBInstances`): the earlier of the two is
//! judged, and the finding says which.

use time::Duration;

use super::context::Context;
use super::rds::database;
use crate::finding::{CheckDefinition, Finding, Severity};
use crate::inventory::Collected;

pub const DEFINITION: CheckDefinition = CheckDefinition {
    id: "rds.ca-certificate.valid",
    title: "Database CA certificate is not about to expire",
    severity: Severity::High,
    resource_type: "AwsRdsDbInstance",
    remediation: "Move the instance to a current CA once the clients trust it (the RDS global bundle does): aws rds modify-db-instance --db-instance-identifier <id> --ca-certificate-identifier rds-ca-rsa2048-g1 --apply-immediately (this restarts MySQL)",
    compliance: &["Prowler:rds_instance_certificate_expiration"],
    references: &[
        "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.SSL-certificate-rotation.html",
        "https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_DescribeCertificates.html",
    ],
};

pub fn evaluate(context: &Context<'_>) -> Vec<Finding> {
    let def = &DEFINITION;
    let db = match database(context, def) {
        Ok(db) => db,
        Err(finding) => return vec![*finding],
    };
    let Some(ca) = db.ca_certificate_identifier.as_deref() else {
        return vec![context.skip(
            def,
            &db.arn,
            &format!(
                "RDS instance {}: CACertificateIdentifier was not reported",
                db.id
            ),
        )];
    };
    let certificate = match &context.region.ca_certificate {
        Collected::Ok(Some(certificate)) => certificate,
        Collected::Ok(None) => {
            return vec![context.fail(
                def,
                &db.arn,
                format!(
                    "RDS instance {} uses CA {ca}, which DescribeCertificates does not list; expected a current RDS CA",
                    db.id
                ),
            )];
        }
        other => return context.missing(def, &db.arn, other).into_iter().collect(),
    };
    // The earlier of the CA's and the server certificate's ValidTill.
    let (valid_till, subject) = match (certificate.valid_till, db.certificate_valid_till) {
        (Some(ca_till), Some(server)) if server < ca_till => {
            (server, format!("has a server certificate (from CA {ca})"))
        }
        (Some(ca_till), _) => (ca_till, format!("uses CA {ca}")),
        (None, Some(server)) => (server, format!("has a server certificate (from CA {ca})")),
        (None, None) => {
            return vec![context.skip(
                def,
                &db.arn,
                &format!("CA {ca}: ValidTill was not reported"),
            )];
        }
    };
    let min_days = context.policy.ca_certificate_min_days;
    let left = valid_till - context.now;
    let till = valid_till.date();
    if left < Duration::ZERO {
        vec![context.fail(
            def,
            &db.arn,
            format!(
                "RDS instance {} {subject}, expired on {till}; expected a certificate valid for at least {min_days} more days",
                db.id
            ),
        )]
    } else if left < Duration::days(i64::from(min_days)) {
        vec![context.fail(
            def,
            &db.arn,
            format!(
                "RDS instance {} {subject}, valid until {till} ({} days left); expected at least {min_days}",
                db.id,
                left.whole_days()
            ),
        )]
    } else {
        vec![context.pass(
            def,
            &db.arn,
            format!("RDS instance {} {subject}, valid until {till}", db.id),
        )]
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;
    use crate::finding::Status;
    use crate::inventory::CaCertificate;

    #[test]
    fn an_expired_or_expiring_ca_fails() {
        // The fixture's collection time is 2025-06-02T12:00:00Z.
        // (CA, its valid till, the server certificate's, status, in the message)
        let table = [
            (
                "rds-ca-rsa2048-g1",
                Some("2061-05-21T22:23:47Z"),
                None,
                Status::Pass,
                "valid until 2061-05-21",
            ),
            (
                "rds-ca-2019",
                Some("2024-08-22T17:08:50Z"),
                None,
                Status::Fail,
                "uses CA rds-ca-2019, expired on 2024-08-22",
            ),
            (
                "rds-ca-soon",
                Some("2025-06-20T12:00:00Z"),
                None,
                Status::Fail,
                "(18 days left); expected at least 30",
            ),
            (
                "rds-ca-later",
                Some("2025-07-03T12:00:00Z"),
                None,
                Status::Pass,
                "valid until 2025-07-03",
            ),
            (
                "rds-ca-unknown",
                None,
                None,
                Status::Skip,
                "ValidTill was not reported",
            ),
            // The server certificate counts when it expires before its CA.
            (
                "rds-ca-rsa2048-g1",
                Some("2061-05-21T22:23:47Z"),
                Some("2025-06-10T12:00:00Z"),
                Status::Fail,
                "has a server certificate (from CA rds-ca-rsa2048-g1), valid until 2025-06-10 (8 days left)",
            ),
            (
                "rds-ca-rsa2048-g1",
                Some("2061-05-21T22:23:47Z"),
                Some("2026-06-10T12:00:00Z"),
                Status::Pass,
                "has a server certificate (from CA rds-ca-rsa2048-g1), valid until 2026-06-10",
            ),
        ];
        for (id, till, server, status, text) in table {
            let mut region = compliant_region();
            if let Collected::Ok(Some(db)) = &mut region.database {
                db.ca_certificate_identifier = Some(id.to_owned());
                db.certificate_valid_till = server.map(at);
            }
            region.ca_certificate = Collected::Ok(Some(CaCertificate {
                id: id.to_owned(),
                valid_till: till.map(at),
            }));
            let findings = findings_of(region, DEFINITION.id);
            assert_eq!(findings[0].status, status, "{id}: {}", findings[0].message);
            assert!(
                findings[0].message.contains(text),
                "{}",
                findings[0].message
            );
        }
        let mut region = compliant_region();
        region.ca_certificate = Collected::Ok(None);
        let findings = findings_of(region, DEFINITION.id);
        assert_eq!(findings[0].status, Status::Fail);
        assert!(findings[0].message.contains("does not list"));
        let mut region = compliant_region();
        region.ca_certificate = Collected::Failed(denied("rds:DescribeCertificates"));
        assert_eq!(findings_of(region, DEFINITION.id)[0].status, Status::Error);
    }
}
