//! The database's subnet group over the private subnets: provision's step, the
//! lookup by name, discovery and deletion (after the instance that uses it).

use anyhow::{Result, anyhow, bail};

use super::context::Provisioner;
use super::deletion::{Deletion, Outcome};
use super::kind::{Clients, Kind, Resource};
use super::spec::{Plan, Spec};
use crate::aws;
use crate::names::Names;
use crate::tags::rds_tags;

/// This kind's declaration: what makes it, what it depends on, how it is found,
/// created, made ready and deleted (its row of the table, `TABLE`).
pub(crate) const SPEC: Spec = Spec {
    kind: Kind::DbSubnetGroup,
    label: "DB subnet group",
    depends_on: &[Kind::Subnet],
    plan: Plan {
        found_by: "rds:DescribeDBSubnetGroups by name, in the run's VPC only",
        create: "rds:CreateDBSubnetGroup over the private subnets (tagged)",
        ready: "",
        delete: "rds:DeleteDBSubnetGroup",
    },
    discover: Some(|clients, names, found| Box::pin(discover(clients, names, found))),
    delete: |d| Box::pin(delete(d)),
    provision: Some(|p| Box::pin(p.db_subnet_group())),
    deploy: None,
};

/// `rds:DeleteDBSubnetGroup`, retried while the instance is still being released.
pub(crate) async fn delete(d: &mut Deletion<'_>) -> Result<Outcome> {
    let (rds, id) = (&d.clients.rds, d.resource.id.as_str());
    d.patiently("rds:DeleteDBSubnetGroup", || {
        rds.delete_db_subnet_group().db_subnet_group_name(id).send()
    })
    .await
}

impl Provisioner<'_> {
    pub(crate) async fn db_subnet_group(&mut self) -> Result<()> {
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
}

/// The DB subnet group, by name, kept only with the run's tags (discovery).
pub(crate) async fn discover(
    clients: &Clients,
    names: &Names,
    found: &mut Vec<Resource>,
) -> Result<()> {
    match clients
        .rds
        .describe_db_subnet_groups()
        .db_subnet_group_name(&names.db_subnet_group)
        .send()
        .await
    {
        Ok(out) => {
            for group in out.db_subnet_groups() {
                let Some(arn) = group.db_subnet_group_arn() else {
                    continue;
                };
                if crate::tags::owns_rds(&clients.rds, names, arn).await? {
                    found.push(Resource::new(
                        Kind::DbSubnetGroup,
                        &names.db_subnet_group,
                        &names.db_subnet_group,
                    ));
                }
            }
        }
        Err(e) if aws::is_not_found(&e) => {}
        Err(e) => return Err(aws::failed("rds:DescribeDBSubnetGroups")(e)),
    }
    Ok(())
}
