//! The one error type of chatcore and of every backend built on it.

use crate::{RoomId, RoomStatus};

/// Shorthand for results whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A boxed source error from a backend or driver.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong in chatcore, a backend or the chat flow.
///
/// Variants describing bad input ([`Error::Empty`], [`Error::TooLong`], …) mean nothing was changed.
/// Backend failures keep their source error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The thing asked for does not exist.
    #[error("{kind} {id} not found")]
    NotFound {
        /// What was looked for: `room`, `rule`, `agent`.
        kind: &'static str,
        /// Its id as given.
        id: String,
    },

    /// A string that should be an id, status or role is not one.
    #[error("{value:?} is not a valid {kind}")]
    InvalidId {
        /// What it should have been.
        kind: &'static str,
        /// What it was (cut short when long).
        value: String,
    },

    /// The lifecycle does not allow this move (e.g. accepting a room nobody escalated).
    #[error("room cannot go from {from} to {to}")]
    InvalidTransition {
        /// The room's status.
        from: RoomStatus,
        /// Where the caller wanted it to go.
        to: RoomStatus,
    },

    /// A compare-and-set lost: the room's status was not the one the caller expected, usually because
    /// someone else changed it first (two agents accepting at once).
    #[error("room {room} is {actual}, not {expected}")]
    Conflict {
        /// The room.
        room: RoomId,
        /// What the caller expected.
        expected: RoomStatus,
        /// What it was.
        actual: RoomStatus,
    },

    /// The room is closed and takes no more messages.
    #[error("room {0} is closed")]
    RoomClosed(RoomId),

    /// The caller may not do this in this room (e.g. an agent writing to a room another agent holds).
    #[error("{0}")]
    Forbidden(String),

    /// Message text is empty or only whitespace.
    #[error("message is empty")]
    Empty,

    /// Message text is longer than the limit, counted in characters.
    #[error("message is {len} characters long; the limit is {max}")]
    TooLong {
        /// Its length in characters.
        len: usize,
        /// The limit.
        max: usize,
    },

    /// Message text has characters that are not allowed (control characters, bidi overrides).
    #[error("message contains a disallowed character: {0}")]
    InvalidText(String),

    /// A rating outside 1..=5.
    #[error("rating {score} is not between 1 and 5")]
    InvalidRating {
        /// The score given.
        score: i64,
    },

    /// The room was rated already; a room is rated once.
    #[error("room {0} was already rated")]
    AlreadyRated(RoomId),

    /// Only a closed room can be rated.
    #[error("room {0} is still open; rate it after it is closed")]
    NotClosed(RoomId),

    /// A bot rule is malformed.
    #[error("invalid bot rule: {reason}")]
    InvalidRule {
        /// What is wrong.
        reason: String,
    },

    /// An agent account is malformed.
    #[error("invalid agent account: {reason}")]
    InvalidAgent {
        /// What is wrong.
        reason: String,
    },

    /// Something unique exists already (a username).
    #[error("{kind} {key:?} already exists")]
    AlreadyExists {
        /// What kind of thing.
        kind: &'static str,
        /// The clashing key.
        key: String,
    },

    /// A request is malformed in a way no other variant covers (bad paging, bad time window).
    #[error("invalid request: {0}")]
    InvalidRequest(String),

    /// The backend cannot be reached right now (connection refused, timeout). Retrying later may work.
    #[error("{backend} is unavailable: {source}")]
    Unavailable {
        /// Which backend.
        backend: &'static str,
        /// What the driver said.
        #[source]
        source: BoxError,
    },

    /// The backend failed in a way retrying will not fix (corrupt data, schema newer than this code).
    #[error("{backend} failed: {source}")]
    Backend {
        /// Which backend.
        backend: &'static str,
        /// What went wrong.
        #[source]
        source: BoxError,
    },
}

impl Error {
    /// A [`Error::NotFound`] for a room.
    pub fn room_not_found(room: RoomId) -> Self {
        Error::NotFound {
            kind: "room",
            id: room.to_string(),
        }
    }

    /// A short, stable, machine-readable code for protocols and logs (`not_found`, `too_long`, …).
    pub fn code(&self) -> &'static str {
        match self {
            Error::NotFound { .. } => "not_found",
            Error::InvalidId { .. } => "invalid_id",
            Error::InvalidTransition { .. } => "invalid_transition",
            Error::Conflict { .. } => "conflict",
            Error::RoomClosed(_) => "room_closed",
            Error::Forbidden(_) => "forbidden",
            Error::Empty => "empty",
            Error::TooLong { .. } => "too_long",
            Error::InvalidText(_) => "invalid_text",
            Error::InvalidRating { .. } => "invalid_rating",
            Error::AlreadyRated(_) => "already_rated",
            Error::NotClosed(_) => "not_closed",
            Error::InvalidRule { .. } => "invalid_rule",
            Error::InvalidAgent { .. } => "invalid_agent",
            Error::AlreadyExists { .. } => "already_exists",
            Error::InvalidRequest(_) => "invalid_request",
            Error::Unavailable { .. } => "unavailable",
            Error::Backend { .. } => "backend",
        }
    }

    /// Whether the caller's input was at fault (as opposed to the backend).
    pub fn is_client_error(&self) -> bool {
        !matches!(self, Error::Unavailable { .. } | Error::Backend { .. })
    }
}
