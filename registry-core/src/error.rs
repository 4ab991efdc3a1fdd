//! The one error type of the core. The API crate maps each variant to an HTTP status with
//! problem+json and to a gRPC code with `google.rpc` details, in one table.

use std::time::Duration;

/// One broken rule on one field of an input.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldViolation {
    /// Path of the field in proto3 JSON names, e.g. `address.postalCode` or `units[2].name`.
    pub field: String,
    /// Stable machine-readable rule id, e.g. `required`, `format`, `unknown_code`.
    pub rule: &'static str,
    /// Human-readable explanation in English.
    pub message: String,
}

impl FieldViolation {
    /// Builds a violation.
    pub fn new(field: impl Into<String>, rule: &'static str, message: impl Into<String>) -> Self {
        Self { field: field.into(), rule, message: message.into() }
    }
}

/// Every way a use case can fail.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The resource does not exist (or is deleted, or is not visible to the caller).
    #[error("{entity} {id} was not found")]
    NotFound { entity: &'static str, id: String },
    /// The input broke one or more rules; nothing was written.
    #[error("invalid input: {}", summarize(.0))]
    Invalid(Vec<FieldViolation>),
    /// The write conflicts with the current state (a duplicate, or a transition that is not allowed).
    #[error("{message}")]
    Conflict {
        /// The field the conflict is about, if any.
        field: Option<String>,
        /// Stable rule id, e.g. `unique` or `invalid_transition`.
        rule: &'static str,
        /// Explanation in English.
        message: String,
    },
    /// The caller's expected version is not the current one (optimistic concurrency).
    #[error("{entity} {id} is at version {actual}, not the expected version {expected}")]
    PreconditionFailed { entity: &'static str, id: String, expected: i64, actual: i64 },
    /// No valid credentials were presented.
    #[error("authentication required: {0}")]
    Unauthenticated(String),
    /// The caller is known but may not do this.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// The caller exceeded its rate limit.
    #[error("rate limit exceeded; retry after {} ms", .retry_after.as_millis())]
    RateLimited { retry_after: Duration },
    /// A dependency (the database) is unavailable; retrying later may succeed.
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// A bug or an unexpected state. The message is for logs, not for callers.
    #[error("internal error: {0}")]
    Internal(String),
}

fn summarize(v: &[FieldViolation]) -> String {
    v.iter().map(|v| format!("{} ({}): {}", v.field, v.rule, v.message)).collect::<Vec<_>>().join("; ")
}

impl Error {
    /// Shorthand for a not-found error.
    pub fn not_found(entity: &'static str, id: impl ToString) -> Self {
        Error::NotFound { entity, id: id.to_string() }
    }

    /// Shorthand for a single-field validation error.
    pub fn invalid(field: impl Into<String>, rule: &'static str, message: impl Into<String>) -> Self {
        Error::Invalid(vec![FieldViolation::new(field, rule, message)])
    }
}

/// What a caller is told when the database cannot be reached; what the driver said goes to the
/// log only (it names addresses, users and timeouts).
pub const DATABASE_UNAVAILABLE: &str = "the database is unavailable; retry after the Retry-After seconds";

impl Error {
    /// The database cannot be reached or went away: logged with `detail`, told without it.
    pub fn database_unavailable(detail: impl std::fmt::Display) -> Self {
        tracing::warn!(error = %detail, "database unavailable");
        Error::Unavailable(DATABASE_UNAVAILABLE.into())
    }
}

impl From<diesel::result::Error> for Error {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind as K, Error as D};
        match e {
            D::NotFound => Error::Internal("row unexpectedly missing".into()),
            D::DatabaseError(K::UniqueViolation, info) => Error::Conflict {
                field: None,
                rule: "unique",
                message: format!("duplicate value ({})", info.constraint_name().unwrap_or("unique constraint")),
            },
            D::DatabaseError(K::ForeignKeyViolation, info) => Error::invalid(
                info.column_name().unwrap_or("reference"),
                "unknown_code",
                format!("references a value that does not exist ({})", info.constraint_name().unwrap_or("foreign key")),
            ),
            D::DatabaseError(K::CheckViolation, info) => Error::invalid(
                info.constraint_name().unwrap_or("value"),
                "constraint",
                format!("rejected by the database: {}", info.message()),
            ),
            // The connection went away: closed, or lost under a running query (diesel-async
            // reports that as "unable to send command"), or the server is shutting down
            // (SQLSTATE 57P01 and friends, which diesel does not classify).
            D::DatabaseError(K::ClosedConnection | K::UnableToSendCommand, info) => Error::database_unavailable(info.message()),
            D::DatabaseError(_, info) if is_shutdown(info.message()) => Error::database_unavailable(info.message()),
            D::DatabaseError(K::SerializationFailure, _) => Error::Unavailable("a concurrent update got in the way; retry".into()),
            // A NUL character that a field's validation let through (PostgreSQL text cannot
            // hold one): the caller's input, not our failure. Every text field refuses it
            // itself (validate::Violations::plain_chars); this keeps a missed one from a 500.
            D::DatabaseError(_, info) if info.message().contains("0x00") => {
                Error::invalid("body", "format", "must not contain NUL characters")
            }
            other => Error::Internal(other.to_string()),
        }
    }
}

/// Whether a database error says the server is going away (an administrator's or a crash's
/// shutdown, a recovery in progress): retrying later will do.
fn is_shutdown(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("terminating connection")
        || m.contains("the database system is shutting down")
        || m.contains("the database system is in recovery mode")
        || m.contains("the database system is starting up")
        || m.contains("connection closed")
}

impl From<diesel_async::pooled_connection::deadpool::PoolError> for Error {
    fn from(e: diesel_async::pooled_connection::deadpool::PoolError) -> Self {
        Error::database_unavailable(format!("database connection: {e}"))
    }
}

/// Result type of the core.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::result::{DatabaseErrorKind as K, Error as D};

    fn db(kind: K, message: &str) -> Error {
        D::DatabaseError(kind, Box::new(message.to_string())).into()
    }

    /// A database that goes away is "retry later" (503), never a 500: found by
    /// tests/tests/outages.rs, where a connection lost under a running query gave 500s.
    #[test]
    fn a_database_that_goes_away_is_unavailable() {
        for (kind, message) in [
            (K::ClosedConnection, "server closed the connection unexpectedly"),
            (K::UnableToSendCommand, "connection closed"),
            (K::Unknown, "terminating connection due to administrator command"),
            (K::Unknown, "the database system is shutting down"),
            (K::Unknown, "the database system is in recovery mode"),
        ] {
            assert!(matches!(db(kind, message), Error::Unavailable(_)), "{message}");
        }
        assert!(matches!(db(K::Unknown, "syntax error at or near \"SELEC\""), Error::Internal(_)));
        // What the driver said stays in the log.
        let Error::Unavailable(told) = db(K::ClosedConnection, "connection to 10.0.0.5:5432 refused") else { panic!() };
        assert_eq!(told, DATABASE_UNAVAILABLE);
        assert!(matches!(db(K::Unknown, "invalid byte sequence for encoding \"UTF8\": 0x00"), Error::Invalid(_)));
    }
}
