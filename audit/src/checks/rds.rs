//! The database the `rds.*` checks judge ([`database`]), shared by them.

use super::context::Context;
use crate::finding::{CheckDefinition, Finding};
use crate::inventory::{Collected, DbInstance};

/// The database, or the finding that explains why it is not there.
pub(super) fn database<'a>(
    context: &Context<'a>,
    def: &CheckDefinition,
) -> Result<&'a DbInstance, Box<Finding>> {
    let id = &context.scope.db_instance_id;
    match &context.region.database {
        Collected::Ok(Some(db)) => Ok(db),
        Collected::Ok(None) => Err(Box::new(context.fail(
            def,
            id,
            format!("RDS instance {id} was not found; expected the tutorial's database"),
        ))),
        other => Err(Box::new(
            context
                .missing(def, id, other)
                .unwrap_or_else(|| context.skip(def, id, "no database")),
        )),
    }
}
