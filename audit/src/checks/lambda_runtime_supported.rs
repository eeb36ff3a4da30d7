//! `lambda.runtime.supported`: the rotation function runs on a runtime Lambda
//! still supports (FSBP Lambda.2).
//!
//! Lambda stops patching a deprecated runtime ("After a runtime is deprecated, we
//! may no longer apply security patches or updates to that runtime": AWS Lambda
//! Developer Guide, "Lambda runtimes", Runtime deprecation policy), and later
//! blocks updating the function, so a rotation function on one can no longer be
//! fixed. The table below is that page's deprecated runtimes with the dates they
//! were (or are scheduled to be) deprecated; a runtime counts as deprecated from
//! its date on, measured against the collection time, so a saved inventory gives
//! the same verdict later. A container image carries its own runtime, which the
//! API does not show: SKIP (not judged), and the finding says so; a PASS would claim
//! what the audit did not see. A supported runtime with no announced date passes
//! "as of" the table's date; once the table is over a year old the PASS says how
//! old it is and that the audit must be updated to learn of later announcements.
//! The verdict stays PASS (a SKIP would turn a compliant setup's verdict with the
//! calendar, not with anything in the account), and it is a pure function of the
//! collection day, so no test depends on the wall clock.

use super::context::Context;
use crate::finding::{CheckDefinition, Finding, Severity};
use crate::inventory::FunctionConfiguration;

pub const DEFINITION: CheckDefinition = CheckDefinition {
    id: "lambda.runtime.supported",
    title: "Rotation function runs on a supported Lambda runtime",
    severity: Severity::Medium,
    resource_type: "AwsLambdaFunction",
    remediation: "Move the function to a supported runtime: aws lambda update-function-configuration --function-name <name> --runtime provided.al2023 (a Rust bootstrap), then rotate once to test it",
    compliance: &[
        "AWS-FSBP:Lambda.2",
        "AWS-Config:lambda-function-settings-check",
        "Prowler:awslambda_function_using_supported_runtimes",
    ],
    references: &[
        "https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html",
        "https://docs.aws.amazon.com/securityhub/latest/userguide/lambda-controls.html#lambda-2",
    ],
};

/// Deprecated runtimes and the day each was (or is scheduled to be) deprecated,
/// `YYYY-MM-DD` (AWS Lambda Developer Guide, "Lambda runtimes": the deprecated
/// runtimes table, and the supported runtimes table's deprecation dates).
pub(crate) const DEPRECATED: &[(&str, &str)] = &[
    ("nodejs", "2016-10-31"),
    ("nodejs4.3-edge", "2019-04-30"),
    ("dotnetcore2.0", "2019-05-30"),
    ("dotnetcore1.0", "2019-07-30"),
    ("nodejs6.10", "2019-08-12"),
    ("nodejs4.3", "2020-03-06"),
    ("nodejs8.10", "2020-03-06"),
    ("python2.7", "2021-07-15"),
    ("nodejs10.x", "2021-07-30"),
    ("ruby2.5", "2021-07-30"),
    ("dotnetcore2.1", "2022-01-05"),
    ("dotnet5.0", "2022-05-10"),
    ("python3.6", "2022-07-18"),
    ("nodejs12.x", "2023-03-31"),
    ("dotnetcore3.1", "2023-04-03"),
    ("nodejs14.x", "2023-12-04"),
    ("python3.7", "2023-12-04"),
    ("ruby2.7", "2023-12-07"),
    ("go1.x", "2024-01-08"),
    ("java8", "2024-01-08"),
    ("provided", "2024-01-08"),
    ("dotnet7", "2024-05-14"),
    ("nodejs16.x", "2024-06-12"),
    ("python3.8", "2024-10-14"),
    ("dotnet6", "2024-12-20"),
    ("nodejs18.x", "2025-09-01"),
    ("python3.9", "2025-12-15"),
    ("ruby3.2", "2026-03-31"),
    ("nodejs20.x", "2026-04-30"),
    // The runtimes page as of 2026-07-31 (its table as terraform-linters/
    // tflint-ruleset-aws generates deprecated_runtimes.json from it, "updated_at"
    // 2026-07-31): python3.10 moved from 2026-06-30 to 2026-10-31.
    ("python3.10", "2026-10-31"),
    // AWS Health notice of 2026-02 (quoted in awslabs/ssosync#297): "We are ending
    // support for the OS-only runtime for Amazon Linux 2 (provided.al2) in Lambda on
    // July 31, 2026"; the runtimes page gives the same date.
    ("provided.al2", "2026-07-31"),
    ("dotnet8", "2026-11-10"),
    // The other Amazon Linux 2 runtimes, from the same table: Amazon Linux 2's own end
    // of support (2027-06-30) ends them.
    ("java8.al2", "2027-06-30"),
    ("java11", "2027-06-30"),
    ("java17", "2027-06-30"),
    ("python3.11", "2027-06-30"),
    // The supported runtimes table's deprecation dates, as endoflife.date/aws-lambda
    // copies them from the runtimes page (read 2026; the page itself was not
    // reachable here): .NET 9 (container only) 2026-11-10, Node.js 22 2027-04-30,
    // Ruby 3.4 2028-03-31, Node.js 24 2028-04-30, .NET 10 2028-11-14,
    // Python 3.13 and 3.14 and Java 25 2029-06-30.
    ("dotnet9", "2026-11-10"),
    // Ruby 3.3 and Python 3.12 have dates too (review: they were listed as undated):
    // Ruby 3.3 2027-03-31 (endoflife.date/aws-lambda, from the runtimes page);
    // Python 3.12 2028-10-31 (the AgentCore runtime table, which follows Lambda's
    // deprecation policy, gives Python 3.12 on Amazon Linux 2023 10/31/2028).
    ("ruby3.3", "2027-03-31"),
    ("nodejs22.x", "2027-04-30"),
    ("ruby3.4", "2028-03-31"),
    ("nodejs24.x", "2028-04-30"),
    ("dotnet10", "2028-11-14"),
    ("python3.13", "2029-06-30"),
    ("python3.14", "2029-06-30"),
    ("java25", "2029-06-30"),
    ("python3.12", "2028-10-31"),
];

/// Runtimes the Lambda runtimes page lists as supported with no deprecation date
/// announced. A runtime in neither list is unknown to this version of the audit
/// (newer than it, or misspelt): SKIP, not PASS.
pub(crate) const SUPPORTED: &[&str] = &["provided.al2023", "java21"];

/// The day the tables above were last compared with the runtimes page (its
/// newest dated source, the 2026-07-31 copy named in [`DEPRECATED`]). A runtime
/// without an announced date passes "as of" this day only.
pub(crate) const TABLE_AS_OF: &str = "2026-07-31";

/// How old the table may be before a PASS on its word says so. Lambda projects
/// deprecations ahead of time (the runtimes page: "The following table lists the
/// supported Lambda runtimes and projected deprecation dates"), so a recent table
/// names what is coming; how recent is this audit's choice (a year), not an AWS
/// figure.
const TABLE_TRUSTED_DAYS: i64 = 365;

/// What a PASS on the table's word adds on `today` (`YYYY-MM-DD`): nothing while
/// the table is at most [`TABLE_TRUSTED_DAYS`] old, else its age and the fix; a
/// day that does not parse leaves the age unknown, which is said too.
fn table_age_note(today: &str) -> String {
    let format = &time::format_description::well_known::Iso8601::DATE;
    match (
        time::Date::parse(TABLE_AS_OF, format),
        time::Date::parse(today, format),
    ) {
        (Ok(table), Ok(day)) => {
            let age = (day - table).whole_days();
            if age > TABLE_TRUSTED_DAYS {
                format!(
                    "; this audit's runtime table is {age} days old: update the audit to learn of later announcements"
                )
            } else {
                String::new()
            }
        }
        _ => format!(
            "; the age of this audit's runtime table on {today} is unknown: update the audit to learn of later announcements"
        ),
    }
}

/// The verdict on one function's runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    Supported(String),
    Deprecated(String),
    /// Not judged, and why: a container image (its runtime is the image's, which
    /// Lambda does not report), or an inventory that did not record the runtime.
    NotJudged(String),
}

/// The verdict on one function's runtime on `today` (`YYYY-MM-DD`).
pub(crate) fn verdict(configuration: &FunctionConfiguration, today: &str) -> Verdict {
    let name = &configuration.name;
    if configuration.package_type.as_deref() == Some("Image") {
        return Verdict::NotJudged(format!(
            "function {name} is a container image: its runtime is the image's, which Lambda does not report; check the image's base and its updates"
        ));
    }
    let Some(runtime) = configuration.runtime.as_deref() else {
        return Verdict::NotJudged(format!(
            "function {name}: its runtime was not recorded (an inventory saved by an earlier version of the audit)"
        ));
    };
    match DEPRECATED.iter().find(|(id, _)| *id == runtime) {
        // ISO dates compare as text.
        Some((_, since)) if *since <= today => Verdict::Deprecated(format!(
            "function {name} runs on {runtime}, deprecated by Lambda since {since}; expected a supported runtime such as provided.al2023"
        )),
        Some((_, since)) => Verdict::Supported(format!(
            "function {name} runs on {runtime}, supported until {since} (deprecation scheduled)"
        )),
        None if SUPPORTED.contains(&runtime) => Verdict::Supported(format!(
            "function {name} runs on {runtime}, a supported runtime: no deprecation announced as of {TABLE_AS_OF} (the date of this audit's runtime table){}",
            table_age_note(today)
        )),
        None => Verdict::NotJudged(format!(
            "function {name} runs on {runtime}, a runtime this version of the audit does not know; compare it with the Lambda runtimes page (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html)"
        )),
    }
}

pub fn evaluate(context: &Context<'_>) -> Vec<Finding> {
    let def = &DEFINITION;
    let today = context.now.date().to_string();
    context.each_function(def, |configuration| match verdict(configuration, &today) {
        Verdict::Supported(message) => context.pass(def, &configuration.arn, message),
        Verdict::Deprecated(message) => context.fail(def, &configuration.arn, message),
        Verdict::NotJudged(reason) => context.skip(def, &configuration.arn, &reason),
    })
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;
    use crate::finding::Status;
    use crate::inventory::Collected;

    fn configuration(runtime: Option<&str>, package: Option<&str>) -> FunctionConfiguration {
        FunctionConfiguration {
            name: "rotation".to_owned(),
            arn: FUNCTION_ARN.to_owned(),
            vpc_id: None,
            subnet_ids: Vec::new(),
            security_group_ids: Vec::new(),
            state: None,
            last_update_status: None,
            role: None,
            runtime: runtime.map(str::to_owned),
            package_type: package.map(str::to_owned),
            environment: Vec::new(),
        }
    }

    /// (runtime, package type, today, expected: `Some(pass?)` or `None` not judged (SKIP), in the message)
    type Row = (
        Option<&'static str>,
        Option<&'static str>,
        &'static str,
        Option<bool>,
        &'static str,
    );

    #[test]
    fn deprecated_runtimes_fail_from_their_date_on() {
        let table: &[Row] = &[
            (
                Some("provided.al2023"),
                Some("Zip"),
                "2026-12-07",
                Some(true),
                "a supported runtime",
            ),
            (
                Some("python3.13"),
                Some("Zip"),
                "2026-12-07",
                Some(true),
                "supported",
            ),
            (
                Some("go1.x"),
                Some("Zip"),
                "2026-12-07",
                Some(false),
                "deprecated by Lambda since 2024-01-08",
            ),
            (
                Some("dotnet9"),
                Some("Zip"),
                "2026-12-07",
                Some(false),
                "deprecated by Lambda since 2026-11-10",
            ),
            (
                Some("nodejs22.x"),
                Some("Zip"),
                "2026-12-07",
                Some(true),
                "supported until 2027-04-30",
            ),
            (
                Some("ruby3.3"),
                Some("Zip"),
                "2026-12-07",
                Some(true),
                "supported until 2027-03-31",
            ),
            (
                Some("ruby3.3"),
                Some("Zip"),
                "2027-03-31",
                Some(false),
                "since 2027-03-31",
            ),
            (
                Some("java21"),
                Some("Zip"),
                "2026-12-07",
                Some(true),
                "a supported runtime",
            ),
            (
                Some("cobol99.x"),
                Some("Zip"),
                "2026-12-07",
                None,
                "does not know",
            ),
            (
                Some("provided"),
                Some("Zip"),
                "2026-12-07",
                Some(false),
                "provided.al2023",
            ),
            (
                Some("nodejs20.x"),
                Some("Zip"),
                "2026-04-29",
                Some(true),
                "supported until 2026-04-30",
            ),
            (
                Some("nodejs20.x"),
                Some("Zip"),
                "2026-04-30",
                Some(false),
                "since 2026-04-30",
            ),
            // A container image is not judged: SKIP, not PASS.
            (None, Some("Image"), "2026-12-07", None, "container image"),
            (None, None, "2026-12-07", None, "not recorded"),
            // The other Amazon Linux 2 runtimes end with it.
            (
                Some("java17"),
                Some("Zip"),
                "2027-06-29",
                Some(true),
                "supported until 2027-06-30",
            ),
            (
                Some("python3.11"),
                Some("Zip"),
                "2027-06-30",
                Some(false),
                "since 2027-06-30",
            ),
        ];
        check_rows(table);
    }

    fn check_rows(table: &[Row]) {
        for &(runtime, package, today, expected, text) in table {
            let (pass, message) = match verdict(&configuration(runtime, package), today) {
                Verdict::Supported(m) => (Some(true), m),
                Verdict::Deprecated(m) => (Some(false), m),
                Verdict::NotJudged(m) => (None, m),
            };
            assert_eq!(pass, expected, "{runtime:?} {today}: {message}");
            assert!(message.contains(text), "{runtime:?}: {message}");
        }
    }

    #[test]
    fn a_runtime_without_a_date_passes_as_of_the_table_and_says_when_the_table_is_old() {
        check_rows(&[
            (
                Some("java21"),
                Some("Zip"),
                "2026-12-07",
                Some(true),
                "no deprecation announced as of 2026-07-31",
            ),
            // A year after the table's date it may have missed an announcement:
            // still PASS, saying how old the table is.
            (
                Some("java21"),
                Some("Zip"),
                "2027-08-01",
                Some(true),
                "no deprecation announced as of 2026-07-31 (the date of this audit's runtime table); this audit's runtime table is 366 days old: update the audit to learn of later announcements",
            ),
            (
                Some("provided.al2023"),
                Some("Zip"),
                "2031-07-31",
                Some(true),
                "this audit's runtime table is 1826 days old",
            ),
            (
                Some("provided.al2023"),
                Some("Zip"),
                "not a date",
                Some(true),
                "the age of this audit's runtime table on not a date is unknown",
            ),
        ]);
        // Up to a year old, the PASS adds nothing.
        for today in ["2026-07-31", "2027-07-31"] {
            assert_eq!(table_age_note(today), "", "{today}");
            let Verdict::Supported(message) =
                verdict(&configuration(Some("java21"), Some("Zip")), today)
            else {
                panic!("{today}: not a PASS");
            };
            assert!(
                message.ends_with("(the date of this audit's runtime table)"),
                "{message}"
            );
        }
    }

    #[test]
    fn the_findings_name_the_function_and_missing_input_is_an_error() {
        let mut region = compliant_region();
        if let Collected::Ok(Some(c)) = &mut region.functions[0].configuration {
            c.runtime = Some("python3.8".to_owned());
        }
        let findings = findings_of(region, DEFINITION.id);
        assert_eq!(findings[0].status, Status::Fail);
        assert_eq!(findings[0].resource, FUNCTION_ARN);
        assert!(
            findings[0]
                .message
                .contains("SecretsManagerTutorialRotation runs on python3.8")
        );

        let mut region = compliant_region();
        region.functions[0].configuration =
            Collected::Failed(denied("lambda:GetFunctionConfiguration"));
        let findings = findings_of(region, DEFINITION.id);
        assert_eq!(findings[0].status, Status::Error);
        assert!(
            findings[0]
                .message
                .contains("lambda:GetFunctionConfiguration")
        );
    }
}
