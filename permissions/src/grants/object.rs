//! The object of a grant row (`*.*`, `` `db`.* ``, `` `db`.`t` ``, `` PROCEDURE `db`.`p` ``),
//! read into its names, so a check can ask the server whether it still exists.
//!
//! `SHOW GRANTS` quotes every database, table and routine name (MySQL: "SHOW GRANTS
//! Statement", <https://dev.mysql.com/doc/refman/8.0/en/show-grants.html>; MariaDB:
//! <https://mariadb.com/kb/en/show-grants/>) and prints the routine kind before a
//! routine's name; only `*` stands unquoted.

use super::{Kind, tokenize, unquote};

/// What a grant row's `ON ...` part names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrantObject {
    /// `*.*`
    Global,
    /// `` `db`.* `` (a name or a `LIKE` pattern)
    Database(String),
    /// `` `db`.`t` `` or `` TABLE `db`.`t` ``
    Table { database: String, table: String },
    /// `` PROCEDURE `db`.`p` ``, `FUNCTION`, MariaDB's `PACKAGE` and `PACKAGE BODY`.
    Routine {
        kind: String,
        database: String,
        name: String,
    },
}

/// Reads a grant row's object as `SHOW GRANTS` printed it; `None` when it has another shape.
pub fn parse_object(object: &str) -> Option<GrantObject> {
    let tokens = tokenize(object).ok()?;
    let text = |i: usize| &object[tokens[i].start..tokens[i].end];
    let mut kind = Vec::new();
    let mut index = 0;
    while index < tokens.len()
        && tokens[index].kind == Kind::Word
        && ["TABLE", "PROCEDURE", "FUNCTION", "PACKAGE", "BODY"]
            .iter()
            .any(|w| text(index).eq_ignore_ascii_case(w))
    {
        kind.push(text(index).to_ascii_uppercase());
        index += 1;
    }
    let rest: Vec<(&Kind, &str)> = (index..tokens.len())
        .map(|i| (&tokens[i].kind, text(i)))
        .collect();
    let routine = !kind.is_empty() && kind != ["TABLE"];
    match rest.as_slice() {
        [(Kind::Word, "*.*")] if kind.is_empty() => Some(GrantObject::Global),
        [(Kind::Quoted, database), (Kind::Word, ".*")] if kind.is_empty() => {
            Some(GrantObject::Database(unquote(database)))
        }
        [
            (Kind::Quoted, database),
            (Kind::Word, "."),
            (Kind::Quoted, name),
        ] if routine => Some(GrantObject::Routine {
            kind: kind.join(" "),
            database: unquote(database),
            name: unquote(name),
        }),
        [
            (Kind::Quoted, database),
            (Kind::Word, "."),
            (Kind::Quoted, name),
        ] => Some(GrantObject::Table {
            database: unquote(database),
            table: unquote(name),
        }),
        _ => None,
    }
}

/// The column names of a row's column grants (`SELECT (`a`, `b`), INSERT (`a`)`),
/// unquoted, sorted, each once.
pub fn columns(privileges: &str) -> Vec<String> {
    let mut columns: Vec<String> = super::privilege_items(privileges)
        .unwrap_or_default()
        .into_iter()
        .flat_map(|item| item.columns.unwrap_or_default())
        .map(|quoted| unquote(&quoted))
        .collect();
    columns.sort();
    columns.dedup();
    columns
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_read_as_show_grants_prints_them() {
        let table = |d: &str, t: &str| {
            Some(GrantObject::Table {
                database: d.into(),
                table: t.into(),
            })
        };
        let routine = |k: &str, d: &str, n: &str| {
            Some(GrantObject::Routine {
                kind: k.into(),
                database: d.into(),
                name: n.into(),
            })
        };
        for (object, expected) in [
            ("*.*", Some(GrantObject::Global)),
            ("`app`.*", Some(GrantObject::Database("app".into()))),
            ("`app\\_%`.*", Some(GrantObject::Database("app\\_%".into()))),
            ("`app`.`t`", table("app", "t")),
            ("TABLE `app`.`t`", table("app", "t")),
            ("`a.b`.`t``x`", table("a.b", "t`x")),
            ("PROCEDURE `app`.`p`", routine("PROCEDURE", "app", "p")),
            ("FUNCTION `app`.`f`", routine("FUNCTION", "app", "f")),
            (
                "PACKAGE BODY `app`.`k`",
                routine("PACKAGE BODY", "app", "k"),
            ),
            ("`app`", None),
            ("PROCEDURE *.*", None),
            ("", None),
        ] {
            assert_eq!(parse_object(object), expected, "{object}");
        }
    }

    #[test]
    fn columns_are_read_from_every_privilege_of_the_row() {
        assert_eq!(
            columns("SELECT (`b`, `a`), INSERT (`a`), UPDATE"),
            vec!["a".to_owned(), "b".to_owned()]
        );
        assert!(columns("SELECT, INSERT").is_empty());
    }
}
