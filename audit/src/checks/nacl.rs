//! Network ACLs: can TCP traffic from one subnet reach another on a port, and get
//! its answer back?
//!
//! Security groups are stateful; network ACLs are not, and they are easy to
//! forget: a rule that denies 443 on the function's subnet makes every rotation
//! time out while every security-group check passes. So the endpoint and database
//! checks also walk the ACLs, with AWS's semantics (Amazon VPC user guide,
//! "Control subnet traffic with network access control lists" and "Network ACL
//! rules"; EC2 API reference, `CreateNetworkAclEntry`):
//!
//! - each ACL has numbered inbound and outbound rules, evaluated from the lowest
//!   number up; the first rule that matches the traffic decides, whatever a later
//!   rule says; the last rule, `*` (reported as number 32767), denies whatever no
//!   rule matched, and cannot be removed;
//! - ACLs are stateless: the answer is judged again, by the other direction's
//!   rules, on the client's ephemeral port (1024-65535 for Lambda and Linux
//!   clients, the range the VPC guide's examples open);
//! - protocol `-1` is every protocol and every port; `6` is TCP, with its port range;
//! - a subnet not associated with an ACL of its own uses the VPC's default ACL;
//! - traffic between two addresses of the same subnet crosses no ACL.
//!
//! A path from subnet A (the client) to subnet B on port P therefore needs: A's
//! outbound to B on P, B's inbound from A on P, B's outbound to A on 1024-65535,
//! A's inbound from B on 1024-65535. The audit does not know which address of a
//! subnet the client or server has, so it requires the whole subnet range to pass:
//! the evaluation is exact over (address range × port range), by subtracting what
//! each `allow` rule covers and failing on the first `deny` that meets what is left.

use crate::inventory::{NetworkAcl, NetworkAclEntry};

/// The client ports answers go back to.
pub const EPHEMERAL_PORTS: (u16, u16) = (1024, 65535);

/// One direction of traffic through one ACL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flow<'a> {
    /// Outbound from the ACL's subnet (else inbound to it).
    pub egress: bool,
    /// The other end's IPv4 range (destination when outbound, source when inbound).
    pub peer: &'a str,
    /// The destination ports.
    pub ports: (u16, u16),
}

/// Why a flow is not fully allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocked {
    /// The rule that denies (part of) it: its number, or `*` for the default rule.
    pub rule: String,
}

/// A box of addresses × ports (inclusive bounds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Block {
    addresses: (u32, u32),
    ports: (u16, u16),
}

impl Block {
    fn intersect(&self, other: &Block) -> Option<Block> {
        let addresses = (
            self.addresses.0.max(other.addresses.0),
            self.addresses.1.min(other.addresses.1),
        );
        let ports = (
            self.ports.0.max(other.ports.0),
            self.ports.1.min(other.ports.1),
        );
        (addresses.0 <= addresses.1 && ports.0 <= ports.1).then_some(Block { addresses, ports })
    }

    /// `self` minus `cut` (which lies inside it), as up to four boxes.
    fn minus(&self, cut: &Block) -> Vec<Block> {
        let mut rest = Vec::new();
        if self.addresses.0 < cut.addresses.0 {
            rest.push(Block {
                addresses: (self.addresses.0, cut.addresses.0 - 1),
                ports: self.ports,
            });
        }
        if cut.addresses.1 < self.addresses.1 {
            rest.push(Block {
                addresses: (cut.addresses.1 + 1, self.addresses.1),
                ports: self.ports,
            });
        }
        if self.ports.0 < cut.ports.0 {
            rest.push(Block {
                addresses: cut.addresses,
                ports: (self.ports.0, cut.ports.0 - 1),
            });
        }
        if cut.ports.1 < self.ports.1 {
            rest.push(Block {
                addresses: cut.addresses,
                ports: (cut.ports.1 + 1, self.ports.1),
            });
        }
        rest
    }
}

/// An IPv4 CIDR as an inclusive address range.
fn range_of(cidr: &str) -> Option<(u32, u32)> {
    let (address, prefix) = cidr.trim().split_once('/').unwrap_or((cidr.trim(), "32"));
    let address: std::net::Ipv4Addr = address.parse().ok()?;
    let prefix: u32 = prefix.parse().ok().filter(|p| *p <= 32)?;
    let mask = if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - prefix)
    };
    let start = u32::from(address) & mask;
    Some((start, start | !mask))
}

/// What of TCP traffic an entry matches: `None` for another protocol or IPv6.
fn entry_block(entry: &NetworkAclEntry) -> Option<Block> {
    let addresses = range_of(entry.cidr_ipv4.as_deref()?)?;
    let ports = match entry.protocol.trim().to_ascii_lowercase().as_str() {
        "-1" | "all" => (0, u16::MAX),
        "6" | "tcp" => {
            let clamp = |p: Option<i32>, default: u16| {
                p.and_then(|p| u16::try_from(p).ok()).unwrap_or(default)
            };
            (clamp(entry.from_port, 0), clamp(entry.to_port, u16::MAX))
        }
        _ => return None,
    };
    Some(Block { addresses, ports })
}

/// Whether every address of `flow.peer` × every port of `flow.ports` is allowed by
/// `acl`'s rules of that direction; the rule that blocks it otherwise. A peer that
/// is not an IPv4 range cannot be judged and is reported as such.
pub fn flow_allowed(acl: &NetworkAcl, flow: &Flow<'_>) -> Result<(), Blocked> {
    let Some(addresses) = range_of(flow.peer) else {
        return Err(Blocked {
            rule: format!("? (peer {} is not an IPv4 range)", flow.peer),
        });
    };
    let mut remaining = vec![Block {
        addresses,
        ports: flow.ports,
    }];
    let mut entries: Vec<&NetworkAclEntry> = acl
        .entries
        .iter()
        .filter(|e| e.egress == flow.egress)
        .collect();
    entries.sort_by_key(|e| e.rule_number);
    for entry in entries {
        let Some(rule) = entry_block(entry) else {
            continue;
        };
        let mut next = Vec::new();
        for block in &remaining {
            match block.intersect(&rule) {
                None => next.push(*block),
                Some(_) if !entry.action.eq_ignore_ascii_case("allow") => {
                    return Err(Blocked {
                        rule: rule_label(entry.rule_number),
                    });
                }
                Some(cut) => next.extend(block.minus(&cut)),
            }
        }
        remaining = next;
        if remaining.is_empty() {
            return Ok(());
        }
    }
    // Nothing matched what is left: the `*` rule denies it.
    Err(Blocked {
        rule: "*".to_owned(),
    })
}

fn rule_label(number: i32) -> String {
    if number >= 32767 {
        "*".to_owned()
    } else {
        number.to_string()
    }
}

/// The ACL that governs a subnet: the one associated with it, else the VPC's default.
pub fn acl_of<'a>(acls: &'a [NetworkAcl], subnet: &str) -> Option<&'a NetworkAcl> {
    acls.iter()
        .find(|a| a.subnet_ids.iter().any(|s| s == subnet))
        .or_else(|| acls.iter().find(|a| a.is_default))
}

/// One end of a path: a subnet and its IPv4 range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct End<'a> {
    pub subnet: &'a str,
    pub cidr: &'a str,
}

/// Why TCP from `client` to `server` on `port` does not pass the ACLs, one line per
/// blocked leg (naming the ACL, the subnet, the direction and the rule); empty
/// when every leg passes. Subnets with no known ACL are not judged.
pub fn path_faults(
    acls: &[NetworkAcl],
    client: End<'_>,
    server: End<'_>,
    port: u16,
) -> Vec<String> {
    if client.subnet == server.subnet {
        return Vec::new(); // traffic inside a subnet crosses no ACL
    }
    let legs = [
        (
            client,
            true,
            server.cidr,
            (port, port),
            format!("TCP {port} out to {} ({})", server.subnet, server.cidr),
        ),
        (
            server,
            false,
            client.cidr,
            (port, port),
            format!("TCP {port} in from {} ({})", client.subnet, client.cidr),
        ),
        (
            server,
            true,
            client.cidr,
            EPHEMERAL_PORTS,
            format!(
                "the answers (TCP {}-{}) out to {} ({})",
                EPHEMERAL_PORTS.0, EPHEMERAL_PORTS.1, client.subnet, client.cidr
            ),
        ),
        (
            client,
            false,
            server.cidr,
            EPHEMERAL_PORTS,
            format!(
                "the answers (TCP {}-{}) in from {} ({})",
                EPHEMERAL_PORTS.0, EPHEMERAL_PORTS.1, server.subnet, server.cidr
            ),
        ),
    ];
    let mut faults = Vec::new();
    for (end, egress, peer, ports, what) in legs {
        let Some(acl) = acl_of(acls, end.subnet) else {
            continue;
        };
        if let Err(blocked) = flow_allowed(
            acl,
            &Flow {
                egress,
                peer,
                ports,
            },
        ) {
            faults.push(format!(
                "network ACL {} of subnet {} denies {what} (rule {})",
                acl.id, end.subnet, blocked.rule
            ));
        }
    }
    faults
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn entry(
        number: i32,
        egress: bool,
        protocol: &str,
        action: &str,
        cidr: &str,
        ports: Option<(i32, i32)>,
    ) -> NetworkAclEntry {
        NetworkAclEntry {
            rule_number: number,
            egress,
            protocol: protocol.to_owned(),
            action: action.to_owned(),
            cidr_ipv4: (!cidr.contains(':')).then(|| cidr.to_owned()),
            cidr_ipv6: cidr.contains(':').then(|| cidr.to_owned()),
            from_port: ports.map(|p| p.0),
            to_port: ports.map(|p| p.1),
        }
    }

    /// The default ACL as AWS (and the emulator) creates it: allow all, then `*`.
    pub fn default_acl(id: &str) -> NetworkAcl {
        NetworkAcl {
            id: id.to_owned(),
            is_default: true,
            subnet_ids: Vec::new(),
            entries: vec![
                entry(100, true, "-1", "allow", "0.0.0.0/0", None),
                entry(32767, true, "-1", "deny", "0.0.0.0/0", None),
                entry(100, false, "-1", "allow", "0.0.0.0/0", None),
                entry(32767, false, "-1", "deny", "0.0.0.0/0", None),
            ],
        }
    }

    fn acl(entries: Vec<NetworkAclEntry>) -> NetworkAcl {
        let mut acl = default_acl("acl-custom");
        acl.is_default = false;
        acl.entries = entries;
        acl.entries
            .push(entry(32767, true, "-1", "deny", "0.0.0.0/0", None));
        acl.entries
            .push(entry(32767, false, "-1", "deny", "0.0.0.0/0", None));
        acl
    }

    #[test]
    #[allow(clippy::too_many_lines)] // a table of cases
    fn rules_are_read_in_number_order_and_the_first_match_decides() {
        let out_443 = Flow {
            egress: true,
            peer: "10.0.2.0/24",
            ports: (443, 443),
        };
        let cases: Vec<(&str, NetworkAcl, Flow<'_>, Result<(), &str>)> = vec![
            (
                "the default ACL allows everything",
                default_acl("acl-d"),
                out_443,
                Ok(()),
            ),
            (
                "an allow of exactly 443 to the VPC",
                acl(vec![entry(
                    100,
                    true,
                    "6",
                    "allow",
                    "10.0.0.0/16",
                    Some((443, 443)),
                )]),
                out_443,
                Ok(()),
            ),
            (
                "no rule matches: the * rule denies",
                acl(vec![entry(
                    100,
                    true,
                    "6",
                    "allow",
                    "10.0.0.0/16",
                    Some((80, 80)),
                )]),
                out_443,
                Err("*"),
            ),
            (
                "a lower-numbered deny wins over an allow",
                acl(vec![
                    entry(200, true, "-1", "allow", "0.0.0.0/0", None),
                    entry(90, true, "6", "deny", "0.0.0.0/0", Some((443, 443))),
                ]),
                out_443,
                Err("90"),
            ),
            (
                "a lower-numbered allow wins over a deny",
                acl(vec![
                    entry(100, true, "6", "allow", "10.0.2.0/24", Some((443, 443))),
                    entry(110, true, "-1", "deny", "0.0.0.0/0", None),
                ]),
                out_443,
                Ok(()),
            ),
            (
                "order is by number, not by position",
                acl(vec![
                    entry(120, true, "-1", "deny", "0.0.0.0/0", None),
                    entry(100, true, "-1", "allow", "0.0.0.0/0", None),
                ]),
                out_443,
                Ok(()),
            ),
            (
                "an inbound rule does not govern outbound traffic",
                acl(vec![entry(100, false, "-1", "allow", "0.0.0.0/0", None)]),
                out_443,
                Err("*"),
            ),
            (
                "a UDP allow does not carry TCP",
                acl(vec![entry(
                    100,
                    true,
                    "17",
                    "allow",
                    "0.0.0.0/0",
                    Some((443, 443)),
                )]),
                out_443,
                Err("*"),
            ),
            (
                "a UDP deny does not block TCP",
                acl(vec![
                    entry(90, true, "17", "deny", "0.0.0.0/0", None),
                    entry(100, true, "tcp", "allow", "0.0.0.0/0", Some((0, 65535))),
                ]),
                out_443,
                Ok(()),
            ),
            (
                "an IPv6 allow does not carry IPv4",
                acl(vec![entry(100, true, "-1", "allow", "::/0", None)]),
                out_443,
                Err("*"),
            ),
            (
                "a deny of part of the peer range blocks",
                acl(vec![
                    entry(90, true, "-1", "deny", "10.0.2.128/25", None),
                    entry(100, true, "-1", "allow", "0.0.0.0/0", None),
                ]),
                out_443,
                Err("90"),
            ),
            (
                "two allows covering halves pass",
                acl(vec![
                    entry(100, true, "6", "allow", "10.0.2.0/25", Some((443, 443))),
                    entry(110, true, "6", "allow", "10.0.2.128/25", Some((443, 443))),
                ]),
                out_443,
                Ok(()),
            ),
            (
                "a deny after an allow of the same range never applies",
                acl(vec![
                    entry(100, true, "6", "allow", "10.0.2.0/24", Some((443, 443))),
                    entry(110, true, "6", "deny", "10.0.2.0/24", Some((443, 443))),
                ]),
                out_443,
                Ok(()),
            ),
            (
                "a deny of another subnet does not block",
                acl(vec![
                    entry(90, true, "-1", "deny", "10.0.0.0/24", None),
                    entry(100, true, "-1", "allow", "0.0.0.0/0", None),
                ]),
                out_443,
                Ok(()),
            ),
            (
                "ephemeral answers need the whole range",
                acl(vec![entry(
                    100,
                    false,
                    "6",
                    "allow",
                    "0.0.0.0/0",
                    Some((32768, 65535)),
                )]),
                Flow {
                    egress: false,
                    peer: "10.0.1.0/24",
                    ports: EPHEMERAL_PORTS,
                },
                Err("*"),
            ),
            (
                "ephemeral answers allowed",
                acl(vec![entry(
                    100,
                    false,
                    "6",
                    "allow",
                    "0.0.0.0/0",
                    Some((1024, 65535)),
                )]),
                Flow {
                    egress: false,
                    peer: "10.0.1.0/24",
                    ports: EPHEMERAL_PORTS,
                },
                Ok(()),
            ),
            (
                "a deny of one ephemeral port blocks",
                acl(vec![
                    entry(50, false, "6", "deny", "0.0.0.0/0", Some((8080, 8080))),
                    entry(100, false, "-1", "allow", "0.0.0.0/0", None),
                ]),
                Flow {
                    egress: false,
                    peer: "10.0.1.0/24",
                    ports: EPHEMERAL_PORTS,
                },
                Err("50"),
            ),
        ];
        for (name, acl, flow, expected) in cases {
            let got = flow_allowed(&acl, &flow).map_err(|b| b.rule);
            assert_eq!(got, expected.map_err(str::to_owned), "{name}");
        }
    }

    #[test]
    fn a_path_needs_four_legs_and_names_the_blocked_one() {
        let client = End {
            subnet: "subnet-a",
            cidr: "10.0.1.0/24",
        };
        let server = End {
            subnet: "subnet-b",
            cidr: "10.0.2.0/24",
        };
        let mut denying = acl(vec![
            entry(90, true, "6", "deny", "0.0.0.0/0", Some((443, 443))),
            entry(100, true, "-1", "allow", "0.0.0.0/0", None),
            entry(100, false, "-1", "allow", "0.0.0.0/0", None),
        ]);
        denying.id = "acl-deny443".to_owned();
        denying.subnet_ids = vec!["subnet-a".to_owned()];
        let acls = vec![default_acl("acl-default"), denying.clone()];
        assert_eq!(
            path_faults(&acls, client, server, 443),
            [
                "network ACL acl-deny443 of subnet subnet-a denies TCP 443 out to subnet-b (10.0.2.0/24) (rule 90)"
            ]
        );
        // The same ACL on the server's subnet blocks only the answers (egress).
        denying.subnet_ids = vec!["subnet-b".to_owned()];
        let acls = vec![default_acl("acl-default"), denying];
        assert!(
            path_faults(&acls, client, server, 443).is_empty(),
            "443 out of the server is not the answer's port"
        );
        // No answers: a server ACL allowing only 443 in and nothing out.
        let mut one_way = acl(vec![entry(
            100,
            false,
            "6",
            "allow",
            "10.0.0.0/16",
            Some((443, 443)),
        )]);
        one_way.id = "acl-oneway".to_owned();
        one_way.subnet_ids = vec!["subnet-b".to_owned()];
        let acls = vec![default_acl("acl-default"), one_way];
        assert_eq!(
            path_faults(&acls, client, server, 443),
            [
                "network ACL acl-oneway of subnet subnet-b denies the answers (TCP 1024-65535) out to subnet-a (10.0.1.0/24) (rule *)"
            ]
        );
        // Inside one subnet nothing is judged; without any ACL nothing is known.
        assert!(path_faults(&acls, server, server, 443).is_empty());
        assert!(path_faults(&[], client, server, 443).is_empty());
    }
}
