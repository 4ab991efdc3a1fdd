//! What can go wrong with a booking, and how each case is answered over vendor.v1
//! (docs/vendor-protocol.md §6–§10: a gRPC code, and a `google.rpc.ErrorInfo` reason under
//! domain `vendor.v1`, with `BadRequest` details for malformed requests).

use std::collections::HashMap;

use tonic_types::{ErrorDetails, FieldViolation, StatusExt};

/// A field and the rule it breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The field, in proto3 JSON names (e.g. `customer.type`).
    pub field: String,
    /// What is wrong.
    pub message: String,
}

/// The errors of the booking use cases.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BookingError {
    /// Malformed input, every field at once.
    #[error("invalid request: {}", .0.iter().map(|v| format!("{}: {}", v.field, v.message)).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<Violation>),
    /// No unit with this reference.
    #[error("unit '{0}' is not booked through this vendor")]
    UnknownUnit(String),
    /// No booking with this id.
    #[error("booking {0} does not exist")]
    UnknownBooking(String),
    /// The time is taken, partly or wholly.
    #[error("{0}")]
    SlotUnavailable(String),
    /// A booking rule is broken; the message says which.
    #[error("{0}")]
    BookingRule(String),
    /// The idempotency key was used before with another request.
    #[error("idempotency key '{0}' was used before with a different request")]
    IdempotencyKeyReused(String),
    /// Customers may no longer cancel.
    #[error("{0}")]
    CancellationDeadlinePassed(String),
    /// The booking is not in a state that allows this.
    #[error("a {from} booking cannot be {action}")]
    IllegalTransition {
        /// Its status.
        from: &'static str,
        /// What was asked.
        action: &'static str,
    },
    /// A stale version.
    #[error("the booking is at version {actual}, not {expected}")]
    StaleVersion {
        /// The version the caller read.
        expected: i64,
        /// The version now.
        actual: i64,
    },
    /// Needs credentials.
    #[error("{0}")]
    Unauthenticated(String),
    /// Not allowed for this caller.
    #[error("{0}")]
    Forbidden(String),
    /// The database (or the registry, for hours never read) cannot be reached.
    #[error("{0}")]
    Unavailable(String),
    /// Our own fault.
    #[error("internal error: {0}")]
    Internal(String),
}

impl BookingError {
    /// One invalid field.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        BookingError::Invalid(vec![Violation { field: field.into(), message: message.into() }])
    }

    /// The ErrorInfo reason.
    pub fn reason(&self) -> &'static str {
        match self {
            BookingError::Invalid(_) => "INVALID_REQUEST",
            BookingError::UnknownUnit(_) => "UNKNOWN_UNIT",
            BookingError::UnknownBooking(_) => "UNKNOWN_BOOKING",
            BookingError::SlotUnavailable(_) => "SLOT_UNAVAILABLE",
            BookingError::BookingRule(_) => "BOOKING_RULE",
            BookingError::IdempotencyKeyReused(_) => "IDEMPOTENCY_KEY_REUSED",
            BookingError::CancellationDeadlinePassed(_) => "CANCELLATION_DEADLINE_PASSED",
            BookingError::IllegalTransition { .. } => "ILLEGAL_TRANSITION",
            BookingError::StaleVersion { .. } => "STALE_VERSION",
            BookingError::Unauthenticated(_) => "UNAUTHENTICATED",
            BookingError::Forbidden(_) => "FORBIDDEN",
            BookingError::Unavailable(_) => "UNAVAILABLE",
            BookingError::Internal(_) => "INTERNAL",
        }
    }

    /// The gRPC code.
    pub fn code(&self) -> tonic::Code {
        use tonic::Code;
        match self {
            BookingError::Invalid(_) => Code::InvalidArgument,
            BookingError::UnknownUnit(_) | BookingError::UnknownBooking(_) => Code::NotFound,
            BookingError::SlotUnavailable(_)
            | BookingError::BookingRule(_)
            | BookingError::CancellationDeadlinePassed(_)
            | BookingError::IllegalTransition { .. }
            | BookingError::StaleVersion { .. } => Code::FailedPrecondition,
            BookingError::IdempotencyKeyReused(_) => Code::AlreadyExists,
            BookingError::Unauthenticated(_) => Code::Unauthenticated,
            BookingError::Forbidden(_) => Code::PermissionDenied,
            BookingError::Unavailable(_) => Code::Unavailable,
            BookingError::Internal(_) => Code::Internal,
        }
    }
}

impl From<diesel::result::Error> for BookingError {
    /// Through the registry's table, so a database that went away (closed, lost under a
    /// query, shutting down) is UNAVAILABLE (retry with the same key), not INTERNAL.
    fn from(e: diesel::result::Error) -> Self {
        match registry_core::Error::from(e) {
            registry_core::Error::Unavailable(m) => BookingError::Unavailable(m),
            other => BookingError::Internal(format!("database: {other}")),
        }
    }
}

impl From<registry_core::Error> for BookingError {
    fn from(e: registry_core::Error) -> Self {
        match e {
            registry_core::Error::Unavailable(m) => BookingError::Unavailable(m),
            other => BookingError::Internal(other.to_string()),
        }
    }
}

impl From<deadpool_error::PoolError> for BookingError {
    fn from(e: deadpool_error::PoolError) -> Self {
        BookingError::Unavailable(format!("no database connection: {e}"))
    }
}

/// The pool's error type.
pub(crate) mod deadpool_error {
    /// A failure to get a pooled connection.
    pub type PoolError = diesel_async::pooled_connection::deadpool::PoolError;
}

/// Domain of `google.rpc.ErrorInfo` details.
pub const ERROR_DOMAIN: &str = "vendor.v1";

impl From<BookingError> for tonic::Status {
    fn from(e: BookingError) -> Self {
        if matches!(e, BookingError::Internal(_)) {
            tracing::error!(error = %e, "internal error");
        }
        let mut details = ErrorDetails::new();
        details.set_error_info(e.reason(), ERROR_DOMAIN, HashMap::new());
        if let BookingError::Invalid(v) = &e {
            details.set_bad_request(v.iter().map(|v| FieldViolation::new(v.field.clone(), v.message.clone())).collect::<Vec<_>>());
        }
        let message = match &e {
            BookingError::Internal(_) => "internal error".to_string(),
            other => other.to_string(),
        };
        tonic::Status::with_error_details(e.code(), message, details)
    }
}

/// Shorthand for results of this crate.
pub type Result<T> = std::result::Result<T, BookingError>;
