//! A small, pure evaluator of identity-based IAM policies: may this role call this
//! action on this resource?
//!
//! The audit needs it to tell whether the rotation function's execution role can
//! do what an alternating-users rotation does (read the `masterarn` secret, write
//! the application secret, decrypt with a customer-managed key). A role without
//! one of these permissions passes every other check and still fails every
//! rotation, so the audit must read the role's policies and decide.
//!
//! It follows the IAM user guide's "Policy evaluation logic" for identity-based
//! policies in one account: an explicit `Deny` in any statement wins over any
//! `Allow`; without an applicable `Allow` the request is implicitly denied
//! ("The difference between explicit and implicit denies"). A statement applies
//! when its `Action` (or `NotAction`) and `Resource` (or `NotResource`) match and
//! its `Condition` holds. Actions match case-insensitively and resources
//! case-sensitively, both with the `*` and `?` wildcards (IAM JSON policy element
//! reference: Action, Resource).
//!
//! Conditions are evaluated only where the audit knows the request context: the
//! string and ARN operators (with `IfExists`) over the keys the caller passes in
//! (such as `kms:ViaService` for a decryption Secrets Manager makes on the role's
//! behalf), and over keys the caller knows to be absent ([`Request::without`],
//! such as `aws:PrincipalOrgID` of an account in no organisation), decided as IAM
//! decides a missing key, with `Null` on either. A policy variable in a
//! condition's value (`${aws:PrincipalOrgID}`) takes the value of its key when
//! the caller passed it in. Anything else (another operator, a key the audit
//! cannot know, a policy variable of such a key, a set operator) is *undecided*, and the evaluator does not guess:
//! an `Allow` that holds only under such a condition is "not proven", and a `Deny`
//! under one "may deny". Neither makes a PASS; the check reports them for a person
//! to verify.
//!
//! Beside the role's own policies, [`combine`] brings in its permissions boundary
//! and the resource policy of what it calls on ([`resource_policy_for_role`] keeps
//! the statements that speak to the role), as AWS does within one account: a `Deny`
//! anywhere wins, an `Allow` in either the identity or the resource policy grants,
//! within the boundary. Session policies, SCPs and RCPs are out of scope (the audit
//! does not read them).

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

/// A policy document with a name for messages (`inline policy X`, `managed policy arn:...`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedPolicy<'a> {
    pub name: &'a str,
    pub document: &'a str,
}

/// One request to decide: the action, the resource ARN, the condition keys the
/// audit knows for it, and those it knows the request does not carry (names
/// lower-cased). A key in neither is unknown.
#[derive(Debug, Clone, Default)]
pub struct Request<'a> {
    pub action: &'a str,
    pub resource: &'a str,
    pub context: BTreeMap<String, String>,
    pub absent: BTreeSet<String>,
}

impl<'a> Request<'a> {
    pub fn new(action: &'a str, resource: &'a str) -> Self {
        Self {
            action,
            resource,
            context: BTreeMap::new(),
            absent: BTreeSet::new(),
        }
    }

    /// Adds a known condition key.
    #[must_use]
    pub fn with(mut self, key: &str, value: &str) -> Self {
        self.context
            .insert(key.to_ascii_lowercase(), value.to_owned());
        self
    }

    /// Adds a condition key known to be absent from the request context (such
    /// as `aws:PrincipalOrgID` for an account in no organisation), so that a
    /// condition on it is decided as IAM decides one on a missing key.
    #[must_use]
    pub fn without(mut self, key: &str) -> Self {
        self.absent.insert(key.to_ascii_lowercase());
        self
    }
}

/// The decision for one request; `by` names the policy and statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// An `Allow` applies and no `Deny` can apply.
    Allowed { by: String },
    /// A `Deny` applies.
    ExplicitDeny { by: String },
    /// A `Deny` applies under a condition the audit cannot evaluate.
    MayDeny { by: String, condition: String },
    /// The only `Allow` that could apply holds under a condition the audit cannot evaluate.
    NotProven { by: String, condition: String },
    /// No statement allows it.
    ImplicitDeny,
    /// An `Allow` applies, but the permissions boundary `by` allows no such request.
    OutsideBoundary { by: String },
}

/// The three-valued truth of a condition.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Truth {
    Yes,
    No,
    /// Cannot be decided; the text says which operator and key.
    Unknown(String),
}

/// Decides `request` against every statement of `policies`. An unparseable
/// document is an error naming it (it cannot be judged either way).
pub fn evaluate(policies: &[NamedPolicy<'_>], request: &Request<'_>) -> Result<Decision, String> {
    let mut allowed = None;
    let mut not_proven = None;
    let mut may_deny = None;
    for policy in policies {
        let parsed: Value = serde_json::from_str(policy.document)
            .map_err(|e| format!("{} is not a JSON policy document ({e})", policy.name))?;
        let statements = match &parsed["Statement"] {
            Value::Array(items) => items.clone(),
            item @ Value::Object(_) => vec![item.clone()],
            _ => return Err(format!("{} has no Statement", policy.name)),
        };
        for (index, statement) in statements.iter().enumerate() {
            let label = statement["Sid"].as_str().map_or_else(
                || format!("{} statement {}", policy.name, index + 1),
                |sid| format!("{} statement {sid}", policy.name),
            );
            if !matches_action(statement, request.action) {
                continue;
            }
            let truth = match matches_resource(statement, request.resource) {
                Truth::No => continue,
                Truth::Yes => condition_holds(&statement["Condition"], request),
                Truth::Unknown(why) => match condition_holds(&statement["Condition"], request) {
                    Truth::No => continue,
                    _ => Truth::Unknown(why),
                },
            };
            match (statement["Effect"].as_str(), truth) {
                (Some("Deny"), Truth::Yes) => return Ok(Decision::ExplicitDeny { by: label }),
                (Some("Deny"), Truth::Unknown(condition)) => {
                    may_deny.get_or_insert((label, condition));
                }
                (Some("Allow"), Truth::Yes) => {
                    allowed.get_or_insert(label);
                }
                (Some("Allow"), Truth::Unknown(condition)) => {
                    not_proven.get_or_insert((label, condition));
                }
                _ => {}
            }
        }
    }
    Ok(match (may_deny, allowed, not_proven) {
        (Some((by, condition)), _, _) => Decision::MayDeny { by, condition },
        (None, Some(by), _) => Decision::Allowed { by },
        (None, None, Some((by, condition))) => Decision::NotProven { by, condition },
        (None, None, None) => Decision::ImplicitDeny,
    })
}

/// The decision on a request a role makes in its own account, from the decisions
/// of its identity policies, its permissions boundary (`None` without one; `name`
/// names it) and the resource policy of what it calls on (`None` without one, the
/// statements for this role only, see [`resource_policy_for_role`]). As the IAM user
/// guide's "Policy evaluation logic" has it: an explicit `Deny` in any of them wins;
/// otherwise an `Allow` in the identity policies or in the resource policy suffices,
/// within the boundary (a resource policy naming the role's ARN, not a session, is
/// limited by the boundary too). Undecided parts make the whole undecided, never
/// allowed.
pub fn combine(
    identity: &Decision,
    boundary: Option<(&Decision, &str)>,
    resource: Option<&Decision>,
) -> Decision {
    let (boundary, boundary_name) = match boundary {
        Some((decision, name)) => (Some(decision), name),
        None => (None, ""),
    };
    let parts: Vec<&Decision> = [Some(identity), boundary, resource]
        .into_iter()
        .flatten()
        .collect();
    if let Some(deny) = parts
        .iter()
        .find(|d| matches!(d, Decision::ExplicitDeny { .. }))
    {
        return (*deny).clone();
    }
    if let Some(may) = parts.iter().find(|d| matches!(d, Decision::MayDeny { .. })) {
        return (*may).clone();
    }
    let granted = match (identity, resource) {
        (allowed @ Decision::Allowed { .. }, _) | (_, Some(allowed @ Decision::Allowed { .. })) => {
            allowed.clone()
        }
        (unproven @ Decision::NotProven { .. }, _)
        | (_, Some(unproven @ Decision::NotProven { .. })) => unproven.clone(),
        _ => return Decision::ImplicitDeny,
    };
    match boundary {
        None | Some(Decision::Allowed { .. }) => granted,
        Some(unproven @ Decision::NotProven { .. }) => match granted {
            Decision::Allowed { .. } => unproven.clone(),
            other => other,
        },
        Some(_) => Decision::OutsideBoundary {
            by: boundary_name.to_owned(),
        },
    }
}

/// How a resource policy's `Principal` (or `NotPrincipal`) names a role.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Naming {
    /// The role's ARN, or `*` (everyone).
    role_or_everyone: bool,
    /// The exact session Lambda opens with the role (`assumed-role/<role>/<function>`).
    session: bool,
    /// The role's account (`123456789012` or its `:root`).
    account: bool,
}

/// The role a resource policy is read for: its ARN, the session ARN Lambda's calls
/// carry (the session is named after the function), and whether the role has a
/// permissions boundary.
#[derive(Debug, Clone, Copy)]
pub struct Caller<'a> {
    pub role: &'a str,
    pub session: &'a str,
    pub bounded: bool,
}

/// How `principal` names `caller`; values that are not strings name no one.
fn naming(principal: &Value, caller: &Caller<'_>, account: &str) -> Naming {
    let mut naming = Naming::default();
    if principal.as_str() == Some("*") {
        naming.role_or_everyone = true;
        return naming;
    }
    for value in strings(&principal["AWS"]) {
        let root = value
            .strip_suffix(":root")
            .and_then(|v| v.rsplit_once("::"))
            .map(|(_, a)| a);
        if value == "*" || value == caller.role {
            naming.role_or_everyone = true;
        } else if value == caller.session {
            naming.session = true;
        } else if value == account || root == Some(account) {
            naming.account = true;
        }
    }
    naming
}

/// Whether a statement speaks to the caller: a `Deny` that names the role, its
/// session, its account or everyone, or whose `NotPrincipal` does not spare it; an
/// `Allow` that names the role, its session or everyone. An `Allow` naming only the
/// account delegates to the identity policies and grants nothing by itself, and one
/// with `NotPrincipal` is not credited. A `NotPrincipal` spares the role's session
/// only when it names that session and its account, and never a role with a
/// permissions boundary (IAM user guide, "AWS JSON policy elements: NotPrincipal" and
/// "Permissions boundaries for IAM entities"; naming the role's ARN without its
/// session "might" deny: read as a denial).
fn speaks_to(statement: &Value, caller: &Caller<'_>, account: &str) -> bool {
    let deny = statement["Effect"].as_str() == Some("Deny");
    match (statement.get("NotPrincipal"), deny) {
        (Some(not), true) => {
            let named = naming(not, caller, account);
            caller.bounded || !(named.session && named.account)
        }
        (Some(_), false) => false,
        (None, true) => naming(&statement["Principal"], caller, account) != Naming::default(),
        (None, false) => {
            let named = naming(&statement["Principal"], caller, account);
            named.role_or_everyone || named.session
        }
    }
}

/// The statements of a resource policy that speak to `caller` when it calls in its
/// own account (see [`speaks_to`]; IAM user guide, "Policy evaluation logic" and "How
/// AWS enforcement code logic evaluates requests"; Secrets Manager user guide,
/// "Determine who has permissions to your AWS Secrets Manager secrets"), as a policy
/// document to `evaluate`. A statement without a `Sid` keeps its place in the
/// original as its label.
pub fn resource_policy_for_role(document: &str, caller: &Caller<'_>) -> Result<String, String> {
    let account = caller.role.split(':').nth(4).unwrap_or_default();
    kept_statements(document, "the resource policy", |statement| {
        speaks_to(statement, caller, account)
    })
}

/// The statements of `document` (`what`, for errors) that `keep` keeps, as a policy
/// document; a statement without a `Sid` keeps its place in the original as its label.
fn kept_statements(
    document: &str,
    what: &str,
    keep: impl Fn(&Value) -> bool,
) -> Result<String, String> {
    let parsed: Value = serde_json::from_str(document)
        .map_err(|e| format!("{what} is not a JSON policy document ({e})"))?;
    let statements = match &parsed["Statement"] {
        Value::Array(items) => items.clone(),
        item @ Value::Object(_) => vec![item.clone()],
        _ => return Err(format!("{what} has no Statement")),
    };
    let mut kept = Vec::new();
    for (index, mut statement) in statements.into_iter().enumerate() {
        if keep(&statement) {
            if statement.get("Sid").and_then(Value::as_str).is_none() {
                statement["Sid"] = Value::String((index + 1).to_string());
            }
            kept.push(statement);
        }
    }
    Ok(serde_json::json!({"Version": "2012-10-17", "Statement": kept}).to_string())
}

/// The `Allow` statements of a KMS key policy that name the caller's account (its
/// id or `arn:...:iam::<account>:root`), as a policy document to `evaluate`: where
/// one allows a request, the key policy delegates it to the account's IAM policies,
/// and only then does an IAM `Allow` count (KMS developer guide, "Key policies in
/// AWS KMS": "Unless the key policy explicitly allows it, you cannot use IAM
/// policies to allow access to a KMS key", and "Default key policy", "Allows access
/// to the AWS account and enables IAM policies";
/// https://docs.aws.amazon.com/kms/latest/developerguide/key-policies.html,
/// https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html).
/// The statements that grant the role itself are [`resource_policy_for_role`]'s.
pub fn key_policy_delegation(document: &str, caller: &Caller<'_>) -> Result<String, String> {
    let account = caller.role.split(':').nth(4).unwrap_or_default();
    kept_statements(document, "the key policy", |statement| {
        statement["Effect"].as_str() == Some("Allow")
            && statement.get("NotPrincipal").is_none()
            && naming(&statement["Principal"], caller, account).account
    })
}

/// A string or an array of strings.
fn strings(value: &Value) -> Vec<&str> {
    match value {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// IAM wildcard matching: `*` any run of characters, `?` one character.
///
/// Greedy, backing up only to the last `*`: O(pattern x text) at worst. The policies
/// are the audited accounts', so a crafted one (`*a*a*a...b`) must not stall the run,
/// as plain recursion (exponential in the number of `*`) would.
pub fn wildcard_matches(pattern: &str, text: &str, ignore_case: bool) -> bool {
    let fold = |s: &str| -> Vec<char> {
        if ignore_case {
            s.to_lowercase().chars().collect()
        } else {
            s.chars().collect()
        }
    };
    let (p, t) = (fold(pattern), fold(text));
    let (mut pi, mut ti) = (0, 0);
    let mut back: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                back = Some((pi, ti));
                pi += 1;
            }
            Some(c) if *c == '?' || *c == t[ti] => (pi, ti) = (pi + 1, ti + 1),
            _ => match back {
                Some((star, mark)) => {
                    back = Some((star, mark + 1));
                    (pi, ti) = (star + 1, mark + 1);
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

fn matches_action(statement: &Value, action: &str) -> bool {
    if let Some(not) = statement.get("NotAction") {
        !strings(not)
            .iter()
            .any(|p| wildcard_matches(p, action, true))
    } else {
        strings(&statement["Action"])
            .iter()
            .any(|p| wildcard_matches(p, action, true))
    }
}

/// Whether a statement's `Resource` (or `NotResource`) names `resource`. A
/// pattern with a policy variable (`${aws:PrincipalTag/team}`) names what the
/// caller's request context makes it, which the audit does not know: when the
/// pattern could match (the variable read as `*`) and no plain pattern decides,
/// the answer is undecided, never a match.
fn matches_resource(statement: &Value, resource: &str) -> Truth {
    let (patterns, negated) = match statement.get("NotResource") {
        Some(not) => (strings(not), true),
        None => (strings(&statement["Resource"]), false),
    };
    let mut variable = None;
    for pattern in patterns {
        if pattern.contains("${") {
            if arn_matches(&without_variables(pattern), resource) {
                variable.get_or_insert(pattern);
            }
        } else if arn_matches(pattern, resource) {
            return if negated { Truth::No } else { Truth::Yes };
        }
    }
    match variable {
        Some(pattern) => Truth::Unknown(format!(
            "the policy variable in {} {pattern}",
            if negated { "NotResource" } else { "Resource" }
        )),
        None if negated => Truth::Yes,
        None => Truth::No,
    }
}

/// `pattern` with each policy variable (`${...}`) read as `*`.
fn without_variables(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    let mut rest = pattern;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        out.push('*');
        rest = rest[start..]
            .find('}')
            .map_or("", |end| &rest[start + end + 1..]);
    }
    out.push_str(rest);
    out
}

/// IAM's matching of an ARN pattern (a `Resource`, or an `ArnLike` condition's
/// value): `*` and `?` match within the colon-separated segments, except that a
/// `*` that is the last character of its segment "can expand to match beyond the
/// colon boundaries" (IAM user guide, "IAM JSON policy elements: Resource",
/// section "Using wildcards in resource ARNs"). So the `*`s of
/// `arn:aws:secretsmanager:*:1:secret:x` and `arn:aws:s3:::b/*` may match
/// across colons, but one inside a segment (`:*-admin`, `:123*456:`) and a `?`
/// never match a colon. Not an ARN pattern: plain wildcards ([`wildcard_matches`]).
///
/// Dynamic programming over pattern x text: a crafted policy cannot make it
/// exponential.
pub fn arn_matches(pattern: &str, text: &str) -> bool {
    if !pattern.starts_with("arn:") {
        return wildcard_matches(pattern, text, false);
    }
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    // row[j]: the pattern so far matches t[..j].
    let mut row = vec![false; t.len() + 1];
    row[0] = true;
    for (i, &c) in p.iter().enumerate() {
        let mut next = vec![false; t.len() + 1];
        match c {
            '*' => {
                let crosses = p.get(i + 1).is_none_or(|n| *n == ':');
                next[0] = row[0];
                for j in 1..=t.len() {
                    next[j] = row[j] || (next[j - 1] && (crosses || t[j - 1] != ':'));
                }
            }
            _ => {
                for j in 1..=t.len() {
                    let one = if c == '?' {
                        t[j - 1] != ':'
                    } else {
                        t[j - 1] == c
                    };
                    next[j] = row[j - 1] && one;
                }
            }
        }
        row = next;
    }
    row[t.len()]
}

/// Whether a statement's `Condition` holds: operators and keys are ANDed, a key's
/// values ORed (for the negated operators: none may match), as the IAM user guide
/// ("Creating a condition with multiple keys or values") says.
fn condition_holds(condition: &Value, request: &Request<'_>) -> Truth {
    let Value::Object(operators) = condition else {
        return if condition.is_null() {
            Truth::Yes
        } else {
            Truth::Unknown("a malformed Condition".to_owned())
        };
    };
    let mut unknown = None;
    for (operator, keys) in operators {
        let Value::Object(keys) = keys else {
            return Truth::Unknown(format!("a malformed {operator} condition"));
        };
        for (key, values) in keys {
            // `Bool` values are often written as JSON booleans.
            let texts: Vec<String> = match values {
                Value::Bool(b) => vec![b.to_string()],
                Value::Array(items) => items
                    .iter()
                    .filter_map(|v| match v {
                        Value::Bool(b) => Some(b.to_string()),
                        Value::String(s) => Some(s.clone()),
                        _ => None,
                    })
                    .collect(),
                other => strings(other).into_iter().map(str::to_owned).collect(),
            };
            let values: Vec<&str> = texts.iter().map(String::as_str).collect();
            match operator_holds(operator, key, &values, request) {
                Truth::No => return Truth::No,
                Truth::Unknown(why) => {
                    unknown.get_or_insert(why);
                }
                Truth::Yes => {}
            }
        }
    }
    unknown.map_or(Truth::Yes, Truth::Unknown)
}

/// One operator on one key. A key the request is known not to carry is decided
/// as the IAM user guide ("IAM JSON policy elements: Condition operators",
/// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html)
/// says: "If the key that you specify in a policy condition is not present in the
/// request context, the values do not match and the condition is false. If the
/// policy condition requires that the key is not matched, such as StringNotLike
/// or ArnNotLike, and the right key is not present, the condition is true", except
/// for `...IfExists` (true when the key is absent) and `Null` (true for `"true"`).
fn operator_holds(operator: &str, key: &str, values: &[&str], request: &Request<'_>) -> Truth {
    let unknown = || Truth::Unknown(format!("{operator} on {key}"));
    let name = key.to_ascii_lowercase();
    let truth = |holds: bool| if holds { Truth::Yes } else { Truth::No };
    if operator == "Null" {
        let absent = if request.absent.contains(&name) {
            true
        } else if request.context.contains_key(&name) {
            false
        } else {
            return unknown();
        };
        return match values {
            [value] if value.eq_ignore_ascii_case("true") => truth(absent),
            [value] if value.eq_ignore_ascii_case("false") => truth(!absent),
            _ => unknown(),
        };
    }
    let if_exists = operator.ends_with("IfExists");
    let base = operator.strip_suffix("IfExists").unwrap_or(operator);
    let (negated, compare): (bool, fn(&str, &str) -> bool) = match base {
        "StringEquals" | "ArnEquals" => (false, |p, v| p == v),
        "StringNotEquals" | "ArnNotEquals" => (true, |p, v| p == v),
        "StringEqualsIgnoreCase" => (false, |p, v| p.eq_ignore_ascii_case(v)),
        "StringNotEqualsIgnoreCase" => (true, |p, v| p.eq_ignore_ascii_case(v)),
        "StringLike" => (false, |p, v| wildcard_matches(p, v, false)),
        "StringNotLike" => (true, |p, v| wildcard_matches(p, v, false)),
        "ArnLike" => (false, arn_matches),
        "ArnNotLike" => (true, arn_matches),
        "Bool" => (false, |p, v| p.eq_ignore_ascii_case(v)),
        _ => return unknown(),
    };
    // A policy variable is "replaced with values from the conditional context
    // keys passed in the request" (IAM user guide, "IAM policy elements:
    // Variables and tags",
    // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html):
    // one of a key the request context holds is its value; any other (a key not
    // known here, a default value, `${*}`) leaves the condition undecided.
    let Some(values) = values
        .iter()
        .map(|v| substitute_variables(v, request))
        .collect::<Option<Vec<_>>>()
    else {
        return unknown();
    };
    if values.is_empty() {
        return unknown();
    }
    if request.absent.contains(&name) {
        return truth(if_exists || negated);
    }
    // A key the audit does not know may still be in the real request: undecided,
    // even with IfExists (which only says what happens when it is absent).
    let Some(actual) = request.context.get(&name) else {
        return unknown();
    };
    let any = values.iter().any(|pattern| compare(pattern, actual));
    truth(any != negated)
}

/// `value` with each policy variable (`${aws:PrincipalOrgID}`) replaced by the
/// request context's value of its key (case-insensitive); `None` when a
/// variable's key is not in the context.
fn substitute_variables<'v>(value: &'v str, request: &Request<'_>) -> Option<Cow<'v, str>> {
    if !value.contains("${") {
        return Some(Cow::Borrowed(value));
    }
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}')?;
        out.push_str(request.context.get(&after[..end].to_ascii_lowercase())?);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Some(Cow::Owned(out))
}

/// IAM returns policy documents URL-encoded (RFC 3986; IAM API reference,
/// `GetRolePolicy` and `GetPolicyVersion`); a document that is already JSON (as
/// some emulators return it) is kept as it is.
pub fn decode_policy_document(document: &str) -> String {
    if serde_json::from_str::<Value>(document).is_ok() {
        return document.to_owned();
    }
    let bytes = document.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        match bytes[index] {
            b'%' if index + 2 < bytes.len() => {
                if let (Some(high), Some(low)) = (hex(bytes[index + 1]), hex(bytes[index + 2])) {
                    out.push(u8::try_from(high * 16 + low).unwrap_or(b'?'));
                    index += 3;
                    continue;
                }
                out.push(b'%');
            }
            other => out.push(other),
        }
        index += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wildcards_match_as_iam_reads_them_and_in_linear_time() {
        for (pattern, text, ignore_case, expected) in [
            ("*", "", false, true),
            ("?", "", false, false),
            (
                "secretsmanager:*",
                "secretsmanager:GetSecretValue",
                false,
                true,
            ),
            (
                "SECRETSMANAGER:get*",
                "secretsmanager:GetSecretValue",
                true,
                true,
            ),
            (
                "SECRETSMANAGER:get*",
                "secretsmanager:GetSecretValue",
                false,
                false,
            ),
            (
                "arn:aws:rds:*:*:db:x?",
                "arn:aws:rds:us-east-1:1:db:xy",
                false,
                true,
            ),
            ("a*b", "acc", false, false),
            ("**b", "ab", false, true),
        ] {
            assert_eq!(
                wildcard_matches(pattern, text, ignore_case),
                expected,
                "{pattern} ~ {text}"
            );
        }
        let crafted = format!("{}b", "*a".repeat(20));
        assert!(!wildcard_matches(&crafted, &"a".repeat(64), false));
    }

    /// IAM user guide, "IAM JSON policy elements: Resource", "Using wildcards in
    /// resource ARNs": wildcards work within a segment; a `*` ending its segment
    /// may reach past colons.
    #[test]
    fn arn_wildcards_stay_in_their_segment_unless_they_end_it() {
        let secret = "arn:aws:secretsmanager:us-east-1:123456789012:secret:App-AbCdEf";
        for (pattern, expected) in [
            ("*", true),
            ("arn:aws:secretsmanager:*:123456789012:secret:App-*", true),
            ("arn:aws:secretsmanager:us-east-1:123456789012:*", true),
            ("arn:aws:secretsmanager:us-east-1:*", true),
            (
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:App-??????",
                true,
            ),
            // A `*` inside a segment does not swallow `secret:`.
            (
                "arn:aws:secretsmanager:us-east-1:123456789012:*App-*",
                false,
            ),
            ("arn:aws:secretsmanager:us-east-1:*t:App-AbCdEf", false),
            ("arn:aws:secretsmanager:us-east-1:123*:App-AbCdEf", true),
            // `?` is one character of a segment, never its colon.
            (
                "arn:aws:secretsmanager:us-east-1:123456789012?secret:App-AbCdEf",
                false,
            ),
            (
                "arn:aws:secretsmanager:us-east-1:1234*9012:secret:App-AbCdEf",
                true,
            ),
            ("arn:aws:rds:*", false),
        ] {
            assert_eq!(arn_matches(pattern, secret), expected, "{pattern}");
        }
        let crafted = format!("arn:{}b", "*a".repeat(40));
        assert!(!arn_matches(&crafted, &format!("arn:{}", "a".repeat(200))));
    }

    #[test]
    fn a_policy_variable_in_resource_is_not_proven_either_way() {
        let with_resource = |effect: &str, resource: Value| json!({"Statement": {"Effect": effect, "Action": "secretsmanager:GetSecretValue", "Resource": resource}});
        let variable =
            json!("arn:aws:secretsmanager:us-east-1:123456789012:secret:${aws:PrincipalTag/app}-*");
        let request = Request::new("secretsmanager:GetSecretValue", SECRET);
        assert!(matches!(
            decide(&[with_resource("Allow", variable.clone())], &request),
            Decision::NotProven { .. }
        ));
        assert!(matches!(
            decide(
                &[
                    allow("secretsmanager:GetSecretValue", SECRET),
                    with_resource("Deny", variable.clone())
                ],
                &request
            ),
            Decision::MayDeny { .. }
        ));
        // A variable in a pattern that cannot match whatever its value is no match.
        let elsewhere = json!("arn:aws:s3:::bucket/${aws:username}");
        assert_eq!(
            decide(&[with_resource("Allow", elsewhere)], &request),
            Decision::ImplicitDeny
        );
        // A plain pattern beside it decides.
        assert!(matches!(
            decide(
                &[with_resource("Allow", json!([variable, SECRET]))],
                &request
            ),
            Decision::Allowed { .. }
        ));
    }

    const SECRET: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:App-AbCdEf";
    const ADMIN: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-1-XyZ";

    type Expect = fn(&Decision) -> bool;

    fn decide(documents: &[Value], request: &Request<'_>) -> Decision {
        let texts: Vec<String> = documents.iter().map(Value::to_string).collect();
        let names: Vec<String> = (1..=texts.len()).map(|i| format!("p{i}")).collect();
        let policies: Vec<NamedPolicy<'_>> = texts
            .iter()
            .zip(&names)
            .map(|(document, name)| NamedPolicy { name, document })
            .collect();
        evaluate(&policies, request).expect("valid documents")
    }

    fn allow(action: &str, resource: &str) -> Value {
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}]})
    }

    #[test]
    #[allow(clippy::too_many_lines)] // a table of cases
    fn statements_are_decided_as_iam_does() {
        let get = Request::new("secretsmanager:GetSecretValue", ADMIN);
        let cases: Vec<(&str, Vec<Value>, Expect)> = vec![
            (
                "exact action and resource",
                vec![allow("secretsmanager:GetSecretValue", ADMIN)],
                |d| matches!(d, Decision::Allowed { .. }),
            ),
            (
                "actions are case-insensitive",
                vec![allow("SecretsManager:getsecretvalue", ADMIN)],
                |d| matches!(d, Decision::Allowed { .. }),
            ),
            (
                "action wildcard *",
                vec![allow("secretsmanager:Get*", ADMIN)],
                |d| matches!(d, Decision::Allowed { .. }),
            ),
            (
                "action wildcard ?",
                vec![allow("secretsmanager:GetSecretValu?", ADMIN)],
                |d| matches!(d, Decision::Allowed { .. }),
            ),
            (
                "another action",
                vec![allow("secretsmanager:DescribeSecret", ADMIN)],
                |d| *d == Decision::ImplicitDeny,
            ),
            (
                "another secret",
                vec![allow("secretsmanager:GetSecretValue", SECRET)],
                |d| *d == Decision::ImplicitDeny,
            ),
            (
                "resource wildcard",
                vec![allow(
                    "secretsmanager:GetSecretValue",
                    "arn:aws:secretsmanager:*:123456789012:secret:rds!db-*",
                )],
                |d| matches!(d, Decision::Allowed { .. }),
            ),
            (
                "resources are case-sensitive",
                vec![allow(
                    "secretsmanager:GetSecretValue",
                    &ADMIN.to_uppercase(),
                )],
                |d| *d == Decision::ImplicitDeny,
            ),
            (
                "resource ? is one character",
                vec![allow(
                    "*",
                    "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-1-XyZ?",
                )],
                |d| *d == Decision::ImplicitDeny,
            ),
            (
                "NotAction allows the rest",
                vec![
                    json!({"Statement": {"Effect": "Allow", "NotAction": "secretsmanager:Put*", "Resource": "*"}}),
                ],
                |d| matches!(d, Decision::Allowed { .. }),
            ),
            (
                "NotAction excludes it",
                vec![
                    json!({"Statement": {"Effect": "Allow", "NotAction": "secretsmanager:Get*", "Resource": "*"}}),
                ],
                |d| *d == Decision::ImplicitDeny,
            ),
            (
                "NotResource excludes it",
                vec![
                    json!({"Statement": {"Effect": "Allow", "Action": "*", "NotResource": ADMIN}}),
                ],
                |d| *d == Decision::ImplicitDeny,
            ),
            (
                "NotResource allows others",
                vec![
                    json!({"Statement": {"Effect": "Allow", "Action": "*", "NotResource": SECRET}}),
                ],
                |d| matches!(d, Decision::Allowed { .. }),
            ),
            (
                "an explicit Deny in another policy wins",
                vec![
                    allow("*", "*"),
                    json!({"Statement": [{"Sid": "NoAdmin", "Effect": "Deny", "Action": "secretsmanager:GetSecretValue", "Resource": ADMIN}]}),
                ],
                |d| {
                    *d == Decision::ExplicitDeny {
                        by: "p2 statement NoAdmin".to_owned(),
                    }
                },
            ),
            (
                "a Deny of another action does not",
                vec![
                    allow("*", "*"),
                    json!({"Statement": {"Effect": "Deny", "Action": "secretsmanager:PutSecretValue", "Resource": "*"}}),
                ],
                |d| matches!(d, Decision::Allowed { .. }),
            ),
            (
                "a Deny by NotAction",
                vec![
                    allow("*", "*"),
                    json!({"Statement": {"Effect": "Deny", "NotAction": "kms:*", "Resource": "*"}}),
                ],
                |d| matches!(d, Decision::ExplicitDeny { .. }),
            ),
            (
                "a statement with neither Action nor NotAction applies to nothing",
                vec![json!({"Statement": {"Effect": "Allow", "Resource": "*"}})],
                |d| *d == Decision::ImplicitDeny,
            ),
            (
                "an Allow under an unknown condition is not proven",
                vec![
                    json!({"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}}),
                ],
                |d| matches!(d, Decision::NotProven { condition, .. } if condition == "IpAddress on aws:SourceIp"),
            ),
            (
                "an unconditional Allow beats a conditional one",
                vec![
                    json!({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "true"}}}, {"Effect": "Allow", "Action": "*", "Resource": ADMIN}]}),
                ],
                |d| matches!(d, Decision::Allowed { .. }),
            ),
            (
                "a Deny under an unknown condition may deny",
                vec![
                    allow("*", "*"),
                    json!({"Statement": {"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-1"}}}}),
                ],
                |d| matches!(d, Decision::MayDeny { .. }),
            ),
            (
                "a policy variable is unknown",
                vec![
                    json!({"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"StringEquals": {"aws:PrincipalTag/team": "${aws:username}"}}}}),
                ],
                |d| matches!(d, Decision::NotProven { .. }),
            ),
        ];
        for (name, documents, expected) in cases {
            let decision = decide(&documents, &get);
            assert!(expected(&decision), "{name}: {decision:?}");
        }
    }

    /// A policy variable of a key the request carries is its value
    /// (`aws:ResourceOrgID` = `${aws:PrincipalOrgID}`, as data-perimeter
    /// policies write it); one of a key not known stays undecided.
    #[test]
    fn policy_variables_of_known_keys_are_substituted() {
        let request = |resource_org: &str| {
            Request::new("secretsmanager:GetSecretValue", ADMIN)
                .with("aws:PrincipalOrgID", "o-tutorial123")
                .with("aws:PrincipalAccount", "123456789012")
                .with("aws:ResourceOrgID", resource_org)
        };
        let with_condition = |condition: Value| {
            vec![
                json!({"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": condition}}),
            ]
        };
        let same_org = json!({"StringEquals": {"aws:ResourceOrgID": "${aws:PrincipalOrgID}"}});
        assert!(matches!(
            decide(&with_condition(same_org.clone()), &request("o-tutorial123")),
            Decision::Allowed { .. }
        ));
        assert_eq!(
            decide(&with_condition(same_org), &request("o-another9999")),
            Decision::ImplicitDeny
        );
        let in_text = json!({"StringLike": {"aws:ResourceOrgID": "${AWS:PrincipalOrgId}*"}, "ArnLike": {"aws:PrincipalArn": "arn:aws:iam::${aws:PrincipalAccount}:role/*"}});
        let mut arn = request("o-tutorial123");
        arn = arn.with(
            "aws:PrincipalArn",
            "arn:aws:iam::123456789012:role/rotation",
        );
        assert!(matches!(
            decide(&with_condition(in_text), &arn),
            Decision::Allowed { .. }
        ));
        for unknown in ["${aws:username}", "${aws:PrincipalOrgID, 'none'}", "${*}"] {
            let condition = json!({"StringEquals": {"aws:ResourceOrgID": unknown}});
            assert!(
                matches!(
                    decide(&with_condition(condition), &request("o-tutorial123")),
                    Decision::NotProven { .. }
                ),
                "{unknown}"
            );
        }
    }

    #[test]
    fn known_condition_keys_are_evaluated() {
        let decrypt = Request::new("kms:Decrypt", "arn:aws:kms:us-east-1:123456789012:key/k")
            .with("kms:ViaService", "secretsmanager.us-east-1.amazonaws.com")
            .with("kms:EncryptionContext:SecretARN", ADMIN);
        let with_condition = |condition: Value| {
            vec![
                json!({"Statement": {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*", "Condition": condition}}),
            ]
        };
        let cases: Vec<(Value, bool)> = vec![
            (
                json!({"StringEquals": {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}}),
                true,
            ),
            (
                json!({"StringEquals": {"KMS:VIASERVICE": "secretsmanager.us-east-1.amazonaws.com"}}),
                true,
            ),
            (
                json!({"StringEquals": {"kms:ViaService": ["rds.us-east-1.amazonaws.com", "secretsmanager.us-east-1.amazonaws.com"]}}),
                true,
            ),
            (
                json!({"StringEquals": {"kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com"}}),
                false,
            ),
            (
                json!({"StringLike": {"kms:ViaService": "secretsmanager.*.amazonaws.com"}}),
                true,
            ),
            (
                json!({"StringNotEquals": {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}}),
                false,
            ),
            (
                json!({"StringEqualsIfExists": {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}}),
                true,
            ),
            (
                json!({"ArnLike": {"kms:EncryptionContext:SecretARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!*"}}),
                true,
            ),
            (
                json!({"StringLike": {"kms:ViaService": "secretsmanager.*"}, "ArnEquals": {"kms:EncryptionContext:SecretARN": SECRET}}),
                false,
            ),
        ];
        for (condition, allowed) in cases {
            let decision = decide(&with_condition(condition.clone()), &decrypt);
            if allowed {
                assert!(
                    matches!(decision, Decision::Allowed { .. }),
                    "{condition}: {decision:?}"
                );
            } else {
                assert_eq!(decision, Decision::ImplicitDeny, "{condition}");
            }
        }
        // A condition that is false makes a Deny not apply.
        let documents = vec![
            allow("kms:Decrypt", "*"),
            json!({"Statement": {"Effect": "Deny", "Action": "kms:Decrypt", "Resource": "*", "Condition": {"StringNotEquals": {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}}}}),
        ];
        assert!(matches!(
            decide(&documents, &decrypt),
            Decision::Allowed { .. }
        ));
    }

    /// A key known to be absent (`aws:PrincipalOrgID` of an account in no
    /// organisation) is decided as IAM decides a missing key; an unknown one is not.
    #[test]
    fn a_key_known_to_be_absent_is_decided_as_iam_decides_a_missing_key() {
        let absent =
            Request::new("secretsmanager:GetSecretValue", SECRET).without("aws:PrincipalOrgID");
        let unknown = Request::new("secretsmanager:GetSecretValue", SECRET);
        // (the condition, whether it holds when the key is absent)
        let cases: Vec<(Value, bool)> = vec![
            (
                json!({"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}}),
                false,
            ),
            (json!({"StringLike": {"aws:PrincipalOrgID": "*"}}), false),
            (
                json!({"StringNotEquals": {"aws:PrincipalOrgID": "o-abc123"}}),
                true,
            ),
            (
                json!({"StringEqualsIfExists": {"aws:PrincipalOrgID": "o-abc123"}}),
                true,
            ),
            (json!({"Null": {"aws:PrincipalOrgID": "true"}}), true),
            (json!({"Null": {"aws:PrincipalOrgID": "false"}}), false),
        ];
        for (condition, holds) in cases {
            let document = vec![
                json!({"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": condition.clone()}}),
            ];
            let decision = decide(&document, &absent);
            assert_eq!(
                matches!(decision, Decision::Allowed { .. }),
                holds,
                "{condition}: {decision:?}"
            );
            if !holds {
                assert_eq!(decision, Decision::ImplicitDeny, "{condition}");
            }
            assert!(
                matches!(decide(&document, &unknown), Decision::NotProven { .. }),
                "{condition} on an unknown key"
            );
        }
        // A present key: Null is false, and the values are compared.
        let present = Request::new("secretsmanager:GetSecretValue", SECRET)
            .with("aws:PrincipalOrgID", "o-abc123");
        let null = vec![
            json!({"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"Null": {"aws:PrincipalOrgID": "true"}}}}),
        ];
        assert_eq!(decide(&null, &present), Decision::ImplicitDeny);
    }

    #[test]
    fn bool_conditions_are_read_as_json_booleans_or_text() {
        let request =
            Request::new("secretsmanager:GetSecretValue", "*").with("aws:SecureTransport", "true");
        for value in [json!(false), json!("false"), json!([false])] {
            let deny = json!({"Statement": [
                {"Effect": "Allow", "Action": "*", "Resource": "*"},
                {"Effect": "Deny", "Action": "*", "Resource": "*",
                 "Condition": {"Bool": {"aws:SecureTransport": value}}}]});
            assert!(
                matches!(decide(&[deny], &request), Decision::Allowed { .. }),
                "{value}"
            );
        }
    }

    #[test]
    #[allow(clippy::too_many_lines)] // a table of cases
    fn identity_boundary_and_resource_policy_combine_as_iam_does() {
        type Case = (
            Decision,
            Option<Decision>,
            Option<Decision>,
            Decision,
            &'static str,
        );
        let allowed = |by: &str| Decision::Allowed { by: by.to_owned() };
        let deny = |by: &str| Decision::ExplicitDeny { by: by.to_owned() };
        let unproven = |by: &str| Decision::NotProven {
            by: by.to_owned(),
            condition: "c".to_owned(),
        };
        let may_deny = |by: &str| Decision::MayDeny {
            by: by.to_owned(),
            condition: "c".to_owned(),
        };
        let implicit = || Decision::ImplicitDeny;
        let outside = || Decision::OutsideBoundary { by: "B".to_owned() };
        let cases: Vec<Case> = vec![
            (
                allowed("I"),
                None,
                None,
                allowed("I"),
                "the identity policy alone",
            ),
            (implicit(), None, None, implicit(), "nothing allows it"),
            (
                implicit(),
                None,
                Some(allowed("R")),
                allowed("R"),
                "the resource policy alone, in one account",
            ),
            (
                allowed("I"),
                None,
                Some(deny("R")),
                deny("R"),
                "the resource policy's Deny wins",
            ),
            (
                allowed("I"),
                Some(deny("B")),
                None,
                deny("B"),
                "the boundary's Deny wins",
            ),
            (
                deny("I"),
                None,
                Some(allowed("R")),
                deny("I"),
                "the identity policy's Deny wins",
            ),
            (
                allowed("I"),
                Some(implicit()),
                None,
                outside(),
                "outside the boundary",
            ),
            (
                implicit(),
                Some(implicit()),
                Some(allowed("R")),
                outside(),
                "a role ARN in the resource policy is bounded",
            ),
            (
                allowed("I"),
                Some(allowed("B")),
                None,
                allowed("I"),
                "within the boundary",
            ),
            (
                implicit(),
                Some(allowed("B")),
                None,
                implicit(),
                "the boundary grants nothing",
            ),
            (
                allowed("I"),
                Some(unproven("B")),
                None,
                unproven("B"),
                "a boundary under an unknown condition",
            ),
            (
                unproven("I"),
                None,
                None,
                unproven("I"),
                "an Allow under an unknown condition",
            ),
            (
                unproven("I"),
                None,
                Some(allowed("R")),
                allowed("R"),
                "the resource policy's plain Allow",
            ),
            (
                allowed("I"),
                None,
                Some(may_deny("R")),
                may_deny("R"),
                "a Deny under an unknown condition",
            ),
        ];
        for (identity, boundary, resource, expected, why) in cases {
            let boundary = boundary.as_ref().map(|b| (b, "B"));
            assert_eq!(
                combine(&identity, boundary, resource.as_ref()),
                expected,
                "{why}"
            );
        }
    }

    #[test]
    #[allow(clippy::too_many_lines)] // a table of cases
    fn a_resource_policy_speaks_to_the_role_it_names() {
        const ROLE: &str = "arn:aws:iam::111122223333:role/rotator";
        const SESSION: &str = "arn:aws:sts::111122223333:assumed-role/rotator/fn";
        let read_as = |effect: &str, key: &str, principal: Value, bounded: bool| {
            let document = json!({"Statement": [{"Effect": effect, key: principal,
                "Action": "secretsmanager:PutSecretValue", "Resource": "*"}]});
            let caller = Caller {
                role: ROLE,
                session: SESSION,
                bounded,
            };
            let kept = resource_policy_for_role(&document.to_string(), &caller).expect("policy");
            let request = Request::new(
                "secretsmanager:PutSecretValue",
                "arn:aws:secretsmanager:us-east-1:111122223333:secret:s",
            );
            decide(&[serde_json::from_str(&kept).expect("json")], &request)
        };
        let read =
            |effect: &str, key: &str, principal: Value| read_as(effect, key, principal, false);
        let denied = || Decision::ExplicitDeny {
            by: "p1 statement 1".to_owned(),
        };
        let allowed = || Decision::Allowed {
            by: "p1 statement 1".to_owned(),
        };
        for (effect, key, principal, expected, why) in [
            (
                "Deny",
                "Principal",
                json!({"AWS": ROLE}),
                denied(),
                "the role",
            ),
            (
                "Deny",
                "Principal",
                json!({"AWS": SESSION}),
                denied(),
                "the function's session of the role",
            ),
            (
                "Deny",
                "Principal",
                json!({"AWS": "arn:aws:sts::111122223333:assumed-role/rotator/someone"}),
                Decision::ImplicitDeny,
                "another session of the role",
            ),
            (
                "Deny",
                "Principal",
                json!({"AWS": 5}),
                Decision::ImplicitDeny,
                "not a principal",
            ),
            ("Deny", "Principal", json!("*"), denied(), "everyone"),
            (
                "Deny",
                "Principal",
                json!({"AWS": "111122223333"}),
                denied(),
                "the role's account",
            ),
            (
                "Deny",
                "Principal",
                json!({"AWS": "arn:aws:iam::111122223333:root"}),
                denied(),
                "the account's root",
            ),
            (
                "Deny",
                "Principal",
                json!({"AWS": "arn:aws:iam::111122223333:role/other"}),
                Decision::ImplicitDeny,
                "another role",
            ),
            (
                "Deny",
                "Principal",
                json!({"AWS": "arn:aws:iam::444455556666:root"}),
                Decision::ImplicitDeny,
                "another account",
            ),
            (
                "Deny",
                "Principal",
                json!({"Service": "lambda.amazonaws.com"}),
                Decision::ImplicitDeny,
                "a service",
            ),
            (
                "Deny",
                "NotPrincipal",
                json!({"AWS": "arn:aws:iam::111122223333:role/admin"}),
                denied(),
                "everyone but another role",
            ),
            (
                "Deny",
                "NotPrincipal",
                json!({"AWS": [ROLE, "arn:aws:iam::111122223333:root"]}),
                denied(),
                "the role's ARN does not spare its session",
            ),
            (
                "Deny",
                "NotPrincipal",
                json!({"AWS": ["arn:aws:iam::111122223333:role/admin", "arn:aws:iam::111122223333:root"]}),
                denied(),
                "the account's ARN spares none of its other principals",
            ),
            (
                "Deny",
                "NotPrincipal",
                json!({"AWS": [ROLE, SESSION]}),
                denied(),
                "without the account it might deny: denied",
            ),
            (
                "Deny",
                "NotPrincipal",
                json!({"AWS": [ROLE, SESSION, "111122223333"]}),
                Decision::ImplicitDeny,
                "everyone but the role's session",
            ),
            (
                "Allow",
                "Principal",
                json!({"AWS": ROLE}),
                allowed(),
                "the role",
            ),
            (
                "Allow",
                "Principal",
                json!({"AWS": "*"}),
                allowed(),
                "everyone",
            ),
            (
                "Allow",
                "Principal",
                json!({"AWS": SESSION}),
                allowed(),
                "the function's session",
            ),
            (
                "Allow",
                "Principal",
                json!({"AWS": "111122223333"}),
                Decision::ImplicitDeny,
                "the account only delegates",
            ),
            (
                "Allow",
                "NotPrincipal",
                json!({"AWS": "arn:aws:iam::111122223333:role/admin"}),
                Decision::ImplicitDeny,
                "not credited",
            ),
        ] {
            assert_eq!(
                read(effect, key, principal),
                expected,
                "{effect} {key}: {why}"
            );
        }
        assert_eq!(
            read_as(
                "Deny",
                "NotPrincipal",
                json!({"AWS": [ROLE, SESSION, "111122223333"]}),
                true
            ),
            denied(),
            "a Deny with NotPrincipal always denies a role with a permissions boundary"
        );
        let caller = Caller {
            role: ROLE,
            session: SESSION,
            bounded: false,
        };
        assert!(resource_policy_for_role("{", &caller).is_err());
    }

    #[test]
    fn an_unreadable_document_is_an_error_naming_it() {
        let policies = [NamedPolicy {
            name: "inline policy broken",
            document: "{not json",
        }];
        let error = evaluate(&policies, &Request::new("kms:Decrypt", "*")).expect_err("error");
        assert!(error.starts_with("inline policy broken"), "{error}");
    }

    #[test]
    fn url_encoded_documents_are_decoded() {
        let encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D";
        assert_eq!(
            decode_policy_document(encoded),
            r#"{"Version":"2012-10-17","Statement":[]}"#
        );
        let plain = r#"{"Statement":[{"Resource":"arn:%2A"}]}"#;
        assert_eq!(decode_policy_document(plain), plain);
        assert_eq!(decode_policy_document("100%"), "100%");
    }
}
