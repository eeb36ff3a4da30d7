//! The function's log filter: its own level from `AWS_LAMBDA_LOG_LEVEL`, dependencies
//! never below WARN.
//!
//! Lambda sets `AWS_LAMBDA_LOG_LEVEL` (TRACE, DEBUG, INFO, WARN, ERROR, FATAL) for the
//! function's application logs. Used as a plain `EnvFilter`, DEBUG or TRACE would also
//! turn on every dependency: sqlx logs each statement with its full SQL at DEBUG
//! (`db.statement`, sqlx-core 0.9 `src/logger.rs`), so `ALTER USER … IDENTIFIED BY
//! '<password>'` would be printed, and the AWS SDK logs request bodies at TRACE
//! (`PutSecretValue` carries the new secret). So the level applies to this crate and
//! the binary only; dependencies stay at WARN, or stricter when the level is stricter.
//! Statement logging is also switched off on every connection (`db::connect`), because
//! sqlx logs a statement slower than 1 s at WARN.

/// A tracing level name, as `EnvFilter` reads it.
fn level_name(value: Option<&str>) -> &'static str {
    match value.map(|v| v.trim().to_ascii_uppercase()).as_deref() {
        Some("TRACE") => "trace",
        Some("DEBUG") => "debug",
        Some("WARN" | "WARNING") => "warn",
        Some("ERROR" | "FATAL") => "error",
        _ => "info",
    }
}

/// The `EnvFilter` directives for the function's level (`AWS_LAMBDA_LOG_LEVEL`).
pub fn directives(aws_lambda_log_level: Option<&str>) -> String {
    let own = level_name(aws_lambda_log_level);
    let dependencies = if own == "error" { "error" } else { "warn" };
    format!("{dependencies},rotator={own},bootstrap={own}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dependencies_stay_at_warn_or_stricter_whatever_the_level() {
        for (level, expected) in [
            (None, "warn,rotator=info,bootstrap=info"),
            (Some("TRACE"), "warn,rotator=trace,bootstrap=trace"),
            (Some("debug"), "warn,rotator=debug,bootstrap=debug"),
            (Some("INFO"), "warn,rotator=info,bootstrap=info"),
            (Some("WARN"), "warn,rotator=warn,bootstrap=warn"),
            (Some("ERROR"), "error,rotator=error,bootstrap=error"),
            (Some("FATAL"), "error,rotator=error,bootstrap=error"),
            (Some("sqlx=trace"), "warn,rotator=info,bootstrap=info"),
        ] {
            assert_eq!(directives(level), expected, "{level:?}");
        }
    }
}
