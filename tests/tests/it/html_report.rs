//! The HTML report (`audit --format html`) as an auditor opens it: rendered by
//! headless Chromium (Debian's `chromium`), screenshotted, and its DOM read back.
//!
//! The report is an audit of three accounts built from the checks' own
//! definitions (no AWS needed): one compliant but for a skipped check, one with a
//! critical failure whose resource name and evidence carry markup an attacker could
//! put in a security group's description, and one whose role could not be assumed.
//!
//! Console messages: Chromium prints every console message of a page, at INFO
//! level for web pages, as `CONSOLE(<line>)` / `CONSOLE:<line>` lines on stderr
//! when started with `--enable-logging=stderr` (content/browser/log_console_message.cc
//! and components/headless/console_message_logger/headless_console_message_logger.cc
//! in Chromium's source: `LogMessage("CONSOLE", line, level) << "\"" << message <<
//! "\", source: " << source_id`; `kLogJsConsoleMessages` is on by default on
//! desktop). The page has no script, so any console line at all is a failure: a
//! Content-Security-Policy violation (a load the page must not make, or injected
//! markup) or a parse error. A control page with one unescaped `<img>` proves the
//! capture works here.
//!
//! Chromium absent fails the test, naming the package (`sudo apt-get install -y
//! chromium`; `.ci/run` installs it from `.ci/prerequisites`).

use std::path::{Path, PathBuf};
use std::process::Command;

use audit::checks::CHECKS;
use audit::finding::CheckDefinition;
use audit::org::Caller;
use audit::report::{ReportAccount, ReportScope};
use audit::{Finding, Format, Report, Severity, Status, Summary};

const HOSTILE_RESOURCE: &str = "sg-0bad</script><script>console.error(\"injected\")</script>";
const HOSTILE_EVIDENCE: &str =
    "description: <img src=\"http://example.invalid/pixel.png\"> & 'quoted'";
const PROD: &str = "111111111111";
const STAGING: &str = "222222222222";
const REFUSING: &str = "333333333333";

fn chromium() -> Option<PathBuf> {
    let installed = PathBuf::from("/usr/bin/chromium");
    if installed.is_file() {
        return Some(installed);
    }
    std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("chromium"))
            .find(|p| p.is_file())
    })
}

fn definition(id: &str) -> &'static CheckDefinition {
    CHECKS
        .iter()
        .chain([&audit::org::ACCOUNT_REACHABLE])
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("no check {id}"))
}

fn finding(id: &str, status: Status, account: &str, resource: &str, message: &str) -> Finding {
    let check = definition(id);
    Finding {
        check_id: check.id.to_owned(),
        title: check.title.to_owned(),
        status,
        severity: if id == "ec2.ssh.restricted" && status == Status::Fail {
            Severity::Critical
        } else {
            check.severity
        },
        region: "us-east-1".to_owned(),
        resource: resource.to_owned(),
        resource_type: check.resource_type.to_owned(),
        message: message.to_owned(),
        remediation: check.remediation.to_owned(),
        compliance: check.compliance.iter().map(|&c| c.to_owned()).collect(),
        references: check.references.iter().map(|&r| r.to_owned()).collect(),
        account_id: Some(account.to_owned()),
        setup: Some("SecretsManagerTutorial-vpc".to_owned()),
        muted: None,
    }
}

/// An audit of three accounts; the expected counts are in the test.
fn report() -> Report {
    let mut findings = Vec::new();
    for account in [PROD, STAGING] {
        for check in CHECKS {
            let status = match (account, check.id) {
                (_, "db.appuser.select") => Status::Skip,
                (STAGING, "ec2.ssh.restricted" | "secret.rotation.schedule") => Status::Fail,
                _ => Status::Pass,
            };
            let resource = if account == STAGING && check.id == "ec2.ssh.restricted" {
                HOSTILE_RESOURCE.to_owned()
            } else {
                format!("arn:aws:ec2:us-east-1:{account}:resource/{}", check.id)
            };
            let message = if status == Status::Fail {
                HOSTILE_EVIDENCE
            } else if status == Status::Skip {
                "run with --read-secrets to check the grants"
            } else {
                "as expected"
            };
            findings.push(finding(check.id, status, account, &resource, message));
        }
    }
    let mut unreachable = finding(
        audit::org::ACCOUNT_REACHABLE.id,
        Status::Error,
        REFUSING,
        &format!("arn:aws:iam::{REFUSING}:role/OrganizationAccountAccessRole"),
        "account 333333333333 (refusing) was not audited: sts:AssumeRole failed (AccessDenied: User: x is not authorized to perform: sts:AssumeRole)",
    );
    unreachable.setup = None;
    findings.push(unreachable);
    let account = |id: &str, name: &str, reached: bool| ReportAccount {
        account_id: id.to_owned(),
        name: Some(name.to_owned()),
        role_arn: Some(format!(
            "arn:aws:iam::{id}:role/OrganizationAccountAccessRole"
        )),
        reached,
        state: if reached {
            "audited"
        } else {
            "unreachable: sts:AssumeRole failed (AccessDenied)"
        }
        .to_owned(),
        regions_not_audited: 0,
        audited: reached,
    };
    Report {
        tool: audit::TOOL.to_owned(),
        version: audit::VERSION.to_owned(),
        scope: ReportScope {
            account_id: None,
            regions: vec!["us-east-1".to_owned()],
            vpc_id: None,
            secret_ids: vec!["SecretsManagerTutorialAppuser".to_owned()],
            all_secrets: false,
            db_instance_id: "secretsmanagertutorial".to_owned(),
            read_secrets: false,
            collected_at: "2026-11-26T12:00:00Z".to_owned(),
            insecure_db_tls: false,
            discover: false,
            caller: Some(Caller {
                account_id: "999999999999".to_owned(),
                arn: "arn:aws:iam::999999999999:user/auditor".to_owned(),
            }),
            accounts: vec![
                account(PROD, "prod", true),
                account(STAGING, "staging", true),
                account(REFUSING, "refusing", false),
            ],
        },
        summary: Summary::of(&findings),
        findings,
        excluded: Vec::new(),
        mutelist: Vec::new(),
        listed: Vec::new(),
    }
}

/// An organisation the size of the 50-account bench's: in each account and two
/// regions, 200 secrets with rotation off (each failing the schedule and the
/// health check, its function checks skipped) beside the tutorial's setup.
fn bench_sized_report() -> Report {
    let mut report = report();
    let mut findings = Vec::new();
    let mut accounts = Vec::new();
    for index in 0..50_u64 {
        let account = format!("{:012}", 100_000_000_000 + index);
        for region in ["us-east-1", "us-west-2"] {
            for check in CHECKS {
                let mut passed = finding(check.id, Status::Pass, &account, "", "as expected");
                passed.resource = format!("arn:aws:ec2:{region}:{account}:resource/{}", check.id);
                region.clone_into(&mut passed.region);
                findings.push(passed);
            }
            for n in 0..200 {
                let arn = format!(
                    "arn:aws:secretsmanager:{region}:{account}:secret:bench/app-{n:05}-AbCdEf"
                );
                for (id, status, message) in [
                    (
                        "secret.rotation.schedule",
                        Status::Fail,
                        "has rotation disabled; expected rotation enabled at least every 2 days (e.g. rate(2 days), rate(48 hours) or AutomaticallyAfterDays 2) with a window (Duration) of at most 2h",
                    ),
                    (
                        "secret.rotation.healthy",
                        Status::Fail,
                        "has rotation disabled, so it is never rotated; expected a rotation within 50 hours",
                    ),
                    (
                        "secret.rotation.function",
                        Status::Skip,
                        "has no rotation (see secret.rotation.schedule)",
                    ),
                ] {
                    let mut f = finding(
                        id,
                        status,
                        &account,
                        &arn,
                        &format!("secret bench/app-{n:05} {message}"),
                    );
                    region.clone_into(&mut f.region);
                    findings.push(f);
                }
            }
        }
        accounts.push(ReportAccount {
            account_id: account.clone(),
            name: Some(format!("bench-member-{index:03}")),
            role_arn: Some(format!(
                "arn:aws:iam::{account}:role/OrganizationAccountAccessRole"
            )),
            reached: true,
            state: "audited".to_owned(),
            regions_not_audited: 0,
            audited: true,
        });
    }
    report.scope.accounts = accounts;
    report.scope.regions = vec!["us-east-1".to_owned(), "us-west-2".to_owned()];
    report.summary = Summary::of(&findings);
    report.findings = findings;
    report
}

/// The page of 60,000 findings in the browser: under 5 MB, parsed whole (every
/// failure a row of the DOM), its failures open, in the time a person waits.
#[test]
fn chromium_renders_the_page_of_an_organisation_of_sixty_thousand_findings() {
    let chromium = chromium().unwrap_or_else(|| {
        panic!("Chromium is missing: `sudo apt-get install -y chromium` (.ci/run installs it)")
    });
    let report = bench_sized_report();
    assert!(report.findings.len() > 60_000, "{}", report.findings.len());
    let html = report.render(Format::Html);
    assert!(html.len() < 5_000_000, "{} bytes", html.len());
    let dir = xtask::paths::target_dir()
        .join("html-report-tests")
        .join(tests::unique_name("large"));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let page = dir.join("large.html");
    std::fs::write(&page, &html).expect("write the report");
    let started = std::time::Instant::now();
    let (dom, console) = run_chromium(&chromium, &dir.join("profile"), &page, &["--dump-dom"]);
    let seconds = started.elapsed().as_secs_f64();
    assert!(
        console.is_empty(),
        "console messages:\n{}",
        console.join("\n")
    );
    let not_passed = report
        .findings
        .iter()
        .filter(|f| f.status != Status::Pass)
        .count();
    assert_eq!(
        dom.matches("<tr><td>").count(),
        not_passed,
        "every finding that is not a PASS is a row"
    );
    assert_eq!(
        dom.matches("<details class=\"account\"").count(),
        50,
        "an account each"
    );
    // Its shared ARN, and evidence that names the row's own secret, said once in
    // its group: the row is the rest of its resource.
    assert!(
        dom.contains("<tr><td>app-00199-AbCdEf\n</td></tr>"),
        "a failure's row, its shared ARN and evidence said once in its group"
    );
    assert!(
        dom.contains("each evidence starts “secret ‹the row's secret› …”"),
        "the group says what its rows' evidence is"
    );
    std::fs::remove_dir_all(dir.join("profile")).ok();
    eprintln!(
        "HTML report of {} findings: {} bytes, parsed by Chromium in {seconds:.1} s",
        report.findings.len(),
        html.len()
    );
}

/// Runs Chromium headless on `page` with console logging on stderr; stdout and the
/// console lines. Bounded by `timeout`, so a hung browser fails the test.
fn run_chromium(
    chromium: &Path,
    profile: &Path,
    page: &Path,
    args: &[&str],
) -> (String, Vec<String>) {
    let output = Command::new("timeout")
        .args(["--kill-after=5", "90"])
        .arg(chromium)
        .args(["--headless", "--no-sandbox", "--disable-gpu"])
        .args(["--enable-logging=stderr", "--v=0", "--no-first-run"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "chromium {args:?} failed ({}):\n{stderr}",
        output.status
    );
    let console = stderr
        .lines()
        .filter(|l| l.contains(":CONSOLE"))
        .map(str::to_owned)
        .collect();
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        console,
    )
}

/// The number in the first element of `row` carrying `attribute`.
fn count_in(row: &str, attribute: &str) -> usize {
    let start = row
        .find(attribute)
        .unwrap_or_else(|| panic!("{attribute} in {row}"));
    let text = &row[start..];
    let value = &text[text.find('>').expect("tag end") + 1..];
    value[..value.find('<').expect("text end")]
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("a number after {attribute} in {row}"))
}

/// What the auditor sees open: the account with failures and its failing check,
/// the failures in full (resource and evidence); the compliant account and the
/// checks that only passed or skipped stay closed, their counts in the summaries.
fn assert_failures_are_open_and_in_full(dom: &str) {
    let open_tag = |marker: &str| open_tag_in(dom, marker);
    assert!(open_tag(&format!(
        "<details class=\"account\" id=\"account-{STAGING}\""
    )));
    assert!(!open_tag(&format!(
        "<details class=\"account\" id=\"account-{PROD}\""
    )));
    assert!(open_tag(&format!(
        "<details class=\"account\" id=\"account-{REFUSING}\""
    )));
    let staging = &dom[dom
        .find(&format!("id=\"account-{STAGING}\""))
        .expect("staging")..];
    let staging = &staging[..staging
        .find("</details>\n</details>")
        .unwrap_or(staging.len())];
    assert!(open_tag_in(staging, "data-check=\"ec2.ssh.restricted\""));
    assert_eq!(
        staging.matches("<tbody class=\"s-FAIL\">").count(),
        2,
        "both failures, each in its check"
    );
    assert_eq!(
        staging.matches("<tr><td>").count(),
        3,
        "the two failures and the skipped check are rows; passes are counted, not listed"
    );
    assert!(staging.contains("<tr><td>sg-0bad&lt;/script&gt;"));
}

/// Whether the element whose tag holds `marker` in `dom` is open.
fn open_tag_in(dom: &str, marker: &str) -> bool {
    let start = dom
        .find(marker)
        .unwrap_or_else(|| panic!("no {marker} in the DOM"));
    let tag = &dom[start..start + dom[start..].find('>').expect("tag end")];
    tag.contains(" open")
}

/// The summary row marked `marker` (`data-account="..."`, `data-check="..."`).
fn row<'a>(dom: &'a str, marker: &str) -> &'a str {
    let start = dom
        .find(marker)
        .unwrap_or_else(|| panic!("no row {marker} in the DOM"));
    let end = start + dom[start..].find("</tr>").expect("row end");
    &dom[start..end]
}

fn statuses(row: &str) -> [usize; 4] {
    ["pass", "fail", "error", "skip"].map(|s| count_in(row, &format!("data-count=\"{s}\"")))
}

#[test]
fn chromium_renders_the_html_report_with_its_counts_and_no_console_message() {
    // Not a silent pass: without Chromium the page is not shown to be readable.
    let chromium = chromium().unwrap_or_else(|| {
        panic!(
            "Chromium is missing: this test renders the HTML report in it (/usr/bin/chromium or \
             `chromium` on PATH); install it with `sudo apt-get install -y chromium` \
             (.ci/run installs it from .ci/prerequisites)"
        )
    });
    let dir = xtask::paths::target_dir()
        .join("html-report-tests")
        .join(tests::unique_name("run"));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let report = report();
    let page = dir.join("audit.html");
    let html = report.render(Format::Html);
    std::fs::write(&page, &html).expect("write the report");
    let profile = dir.join("profile");

    // The screenshot an auditor would see.
    let png = dir.join("audit.png");
    let (_, console) = run_chromium(
        &chromium,
        &profile,
        &page,
        &[
            &format!("--screenshot={}", png.display()),
            "--window-size=1280,2000",
        ],
    );
    assert!(
        console.is_empty(),
        "console messages while rendering:\n{}",
        console.join("\n")
    );
    let image = std::fs::read(&png).expect("the screenshot");
    assert!(image.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    let (width, height) = (
        u32::from_be_bytes(image[16..20].try_into().expect("width")),
        u32::from_be_bytes(image[20..24].try_into().expect("height")),
    );
    assert_eq!((width, height), (1280, 2000));
    // A blank 1280×2000 page compresses to a few KiB; text, tables and bars do not.
    assert!(
        image.len() > 60_000,
        "screenshot of {} bytes looks empty",
        image.len()
    );

    // The DOM after parsing: the counts per account, per check and in total.
    let (dom, console) = run_chromium(&chromium, &profile, &page, &["--dump-dom"]);
    assert!(
        console.is_empty(),
        "console messages:\n{}",
        console.join("\n")
    );
    let checks = CHECKS.len();
    assert_eq!(
        statuses(row(&dom, &format!("data-account=\"{PROD}\""))),
        [checks - 1, 0, 0, 1]
    );
    let staging = row(&dom, &format!("data-account=\"{STAGING}\""));
    assert_eq!(statuses(staging), [checks - 3, 2, 0, 1]);
    assert_eq!(
        count_in(staging, "data-severity=\"critical\""),
        1,
        "{staging}"
    );
    assert_eq!(
        statuses(row(&dom, &format!("data-account=\"{REFUSING}\""))),
        [0, 0, 1, 0]
    );
    assert_eq!(
        statuses(row(&dom, "data-check=\"ec2.ssh.restricted\"")),
        [1, 1, 0, 0]
    );
    assert_eq!(
        statuses(row(&dom, "data-check=\"account.reachable\"")),
        [0, 0, 1, 0]
    );
    let total = row(&dom, "id=\"total\"");
    let total = &total[..total.find("</p>").expect("total end")];
    assert_eq!(statuses(total), [2 * checks - 4, 2, 1, 2]);

    assert_failures_are_open_and_in_full(&dom);
    // The whole page stays small: its text is the findings that need action.
    assert!(html.len() < 200_000, "{} bytes", html.len());

    // The header: version, time, caller, accounts.
    assert!(dom.contains(&format!("<span id=\"version\">{}</span>", audit::VERSION)));
    assert!(dom.contains("datetime=\"2026-11-26T12:00:00Z\""));
    assert!(dom.contains("arn:aws:iam::999999999999:user/auditor"));
    assert!(dom.contains("account 333333333333 (refusing) via"));
    // Hostile values are text: the DOM has no element they would have made.
    assert!(!dom.contains("<script"), "a script element in the DOM");
    assert!(!dom.contains("<img"), "an img element in the DOM");
    assert!(dom.contains("sg-0bad&lt;/script&gt;&lt;script&gt;console.error(\"injected\")"));

    // Control: the same page with the evidence's <img> left unescaped. The
    // Content-Security-Policy blocks the load and Chromium says so on the console,
    // so the empty console above is meaningful.
    let escaped_img = "&lt;img src=&quot;http://example.invalid/pixel.png&quot;&gt;";
    assert!(
        html.contains(escaped_img),
        "the evidence is escaped in the page"
    );
    let control = dir.join("control.html");
    std::fs::write(
        &control,
        html.replacen(
            escaped_img,
            "<img src=\"http://example.invalid/pixel.png\">",
            1,
        ),
    )
    .expect("write the control page");
    let (_, console) = run_chromium(&chromium, &profile, &control, &["--dump-dom"]);
    assert!(
        console
            .iter()
            .any(|l| l.contains("example.invalid/pixel.png")
                && l.contains("Content Security Policy")),
        "the control page's blocked load is on the console: {console:?}"
    );
    // Chromium's profile is scratch; the page, the screenshot and the control stay.
    std::fs::remove_dir_all(&profile).ok();
    eprintln!(
        "HTML report: {} ({} bytes), screenshot {} ({} bytes)",
        page.display(),
        html.len(),
        png.display(),
        image.len()
    );
}
