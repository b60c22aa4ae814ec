//! The WebSocket protocol: JSON frames with a `type`, decoded strictly (docs/PROTOCOL.md).
//!
//! This module only translates between text frames and typed values; what a frame *does* is decided
//! in `ws.rs`, and the chat rules in chatcore.

use chatcore::{
    AgentId, BotExplanation, Error, Message, QueueEstimate, Room, RoomId, RoomStatus, Sender,
    SystemEvent, Timestamp,
};
use serde::{Deserialize, Serialize};

/// The largest text frame accepted, in bytes: a 1000-character message in the widest UTF-8 plus the
/// JSON around it fits; anything bigger is refused before parsing.
pub const MAX_FRAME_BYTES: usize = 16 * 1024;

/// What a client may send.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientFrame {
    /// A chat message; `client_id` is echoed in the acknowledgement and makes resends safe.
    Message {
        /// The text.
        text: String,
        /// The client's id for the message.
        #[serde(default)]
        client_id: Option<String>,
    },
    /// "Talk to a human".
    Escalate,
    /// The sender is typing.
    Typing,
    /// Send everything after this seq (on connect and after a gap).
    Resume {
        /// The last seq the client has.
        after_seq: u64,
    },
    /// The visitor's 1–5 rating after close.
    Rate {
        /// The score.
        score: u8,
    },
    /// End the chat.
    Close,
}

/// Why a frame could not be decoded; sent back as an `error` frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameError {
    /// Stable code.
    pub code: &'static str,
    /// Human-readable detail.
    pub message: String,
}

impl ClientFrame {
    /// Decodes a text frame: size first, then JSON, then the frame's shape.
    pub fn decode(text: &str) -> Result<ClientFrame, FrameError> {
        if text.len() > MAX_FRAME_BYTES {
            return Err(FrameError {
                code: "frame_too_large",
                message: format!(
                    "frames are limited to {MAX_FRAME_BYTES} bytes; this one has {}",
                    text.len()
                ),
            });
        }
        let value: serde_json::Value = serde_json::from_str(text).map_err(|e| FrameError {
            code: "invalid_json",
            message: format!("not valid JSON: {e}"),
        })?;
        let Some(kind) = value
            .get("type")
            .and_then(|t| t.as_str())
            .map(str::to_owned)
        else {
            return Err(FrameError {
                code: "invalid_frame",
                message: "a frame is a JSON object with a string \"type\"".into(),
            });
        };
        if !matches!(
            kind.as_str(),
            "message" | "escalate" | "typing" | "resume" | "rate" | "close"
        ) {
            return Err(FrameError {
                code: "unknown_type",
                message: format!("unknown frame type {:?}", truncate(&kind)),
            });
        }
        serde_json::from_value(value).map_err(|e| FrameError {
            code: "invalid_frame",
            message: format!("invalid {kind} frame: {e}"),
        })
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(40).collect()
}

/// What the server sends.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// A stored message (and, for the sender's own message, its acknowledgement: same `client_id`).
    Message(MessageFrame),
    /// The room's status changed (or on connect).
    Status {
        /// The status.
        status: RoomStatus,
        /// 1-based place in the agents' queue while waiting.
        #[serde(skip_serializing_if = "Option::is_none")]
        queue_position: Option<u64>,
        /// While waiting: the expected wait in seconds, from the recent mean (absent without data).
        #[serde(skip_serializing_if = "Option::is_none")]
        expected_wait_secs: Option<u64>,
        /// The agent's display name once one joined.
        #[serde(skip_serializing_if = "Option::is_none")]
        agent_name: Option<String>,
        /// The rating, once given.
        #[serde(skip_serializing_if = "Option::is_none")]
        rating: Option<u8>,
    },
    /// Someone in the room is typing.
    Typing {
        /// `visitor` or `agent`.
        sender: &'static str,
    },
    /// Agents' feed: a room appeared or changed.
    Room {
        /// The room as agents see it.
        room: RoomView,
    },
    /// Agents' feed: a message in a room that is waiting for or with an agent.
    RoomMessage {
        /// The room.
        room_id: RoomId,
        /// The message.
        message: MessageFrame,
    },
    /// A frame was refused; nothing was stored.
    Error {
        /// Stable code (`invalid_json`, `too_long`, `room_closed`, …).
        code: String,
        /// Human-readable detail.
        message: String,
    },
}

/// A room as the agents' dashboard shows it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RoomView {
    /// The room.
    pub id: RoomId,
    /// Its status.
    pub status: RoomStatus,
    /// `anonymous` or `customer`.
    pub visitor: &'static str,
    /// The agent who accepted it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<AgentId>,
    /// Opened (Unix ms).
    pub created_at: Timestamp,
    /// Last activity (Unix ms).
    pub updated_at: Timestamp,
    /// Escalated (Unix ms).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub escalated_at: Option<Timestamp>,
    /// Its newest message's seq (unread counts: compare with the last seq an agent saw).
    pub last_seq: u64,
    /// The visitor's rating.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rating: Option<u8>,
    /// The room's language, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// What the bot learnt (`vehicle_class`, `dates`) and what the host set (`location`, …).
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub context: std::collections::BTreeMap<String, String>,
}

impl From<&Room> for RoomView {
    fn from(room: &Room) -> Self {
        RoomView {
            id: room.id,
            status: room.status,
            visitor: match room.participant {
                chatcore::Participant::Anonymous => "anonymous",
                _ => "customer",
            },
            agent_id: room.agent,
            created_at: room.created_at,
            updated_at: room.updated_at,
            escalated_at: room.escalated_at,
            last_seq: room.last_seq,
            rating: room.rating.map(|r| r.get()),
            language: room.language.clone(),
            context: room.context.clone(),
        }
    }
}

/// A message as sent to clients.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MessageFrame {
    /// The room's seq.
    pub seq: u64,
    /// `visitor`, `bot`, `agent` or `system`.
    pub sender: &'static str,
    /// The agent's id for agent messages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<AgentId>,
    /// The text.
    pub text: String,
    /// For bot messages: the intent that answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub intent: Option<String>,
    /// For bot messages: why (rule, keyword, span), or `fallback` / `welcome`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explanation: Option<BotExplanation>,
    /// For system messages: the event.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event: Option<SystemEvent>,
    /// When it was written (Unix milliseconds).
    pub created_at: Timestamp,
    /// The sender's client id (acknowledgements).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
}

impl From<&Message> for MessageFrame {
    fn from(message: &Message) -> Self {
        let intent = message
            .explanation
            .as_ref()
            .and_then(BotExplanation::intent)
            .map(ToString::to_string);
        MessageFrame {
            seq: message.seq,
            sender: message.sender.kind(),
            agent_id: match message.sender {
                Sender::Agent(id) => Some(id),
                _ => None,
            },
            text: message.text.clone(),
            intent,
            explanation: message.explanation.clone(),
            event: message.event,
            created_at: message.created_at,
            client_id: message.client_id.clone(),
        }
    }
}

impl ServerFrame {
    /// An `error` frame for a chatcore error.
    pub fn error(error: &Error) -> Self {
        ServerFrame::Error {
            code: error.code().to_owned(),
            message: error.to_string(),
        }
    }

    /// A `status` frame for a room.
    pub fn status(room: &Room, queue: Option<QueueEstimate>, agent_name: Option<String>) -> Self {
        ServerFrame::Status {
            status: room.status,
            queue_position: queue.map(|q| q.position),
            expected_wait_secs: queue.and_then(|q| q.expected_wait_secs),
            agent_name,
            rating: room.rating.map(|r| r.get()),
        }
    }

    /// The frame as JSON text.
    pub fn encode(&self) -> String {
        // Every field is a plain string, number or derived-serialisable chatcore type.
        serde_json::to_string(self).unwrap_or_else(|e| {
            format!(
                r#"{{"type":"error","code":"internal","message":"cannot encode a frame: {e}"}}"#
            )
        })
    }
}

impl From<FrameError> for ServerFrame {
    fn from(error: FrameError) -> Self {
        ServerFrame::Error {
            code: error.code.to_owned(),
            message: error.message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Table of frames: the text, and the decoded frame or the error code.
    #[test]
    fn decoding_table() {
        let ok = |frame: ClientFrame| Ok::<ClientFrame, &'static str>(frame);
        let huge = format!(
            r#"{{"type":"message","text":"{}"}}"#,
            "x".repeat(MAX_FRAME_BYTES)
        );
        let cases: Vec<(&str, Result<ClientFrame, &'static str>)> = vec![
            (
                r#"{"type":"message","text":"hi","client_id":"c1"}"#,
                ok(ClientFrame::Message {
                    text: "hi".into(),
                    client_id: Some("c1".into()),
                }),
            ),
            (
                r#"{"type":"message","text":"hi"}"#,
                ok(ClientFrame::Message {
                    text: "hi".into(),
                    client_id: None,
                }),
            ),
            (r#"{"type":"escalate"}"#, ok(ClientFrame::Escalate)),
            (r#"{"type":"typing"}"#, ok(ClientFrame::Typing)),
            (
                r#"{"type":"resume","after_seq":41}"#,
                ok(ClientFrame::Resume { after_seq: 41 }),
            ),
            (
                r#"{"type":"rate","score":5}"#,
                ok(ClientFrame::Rate { score: 5 }),
            ),
            (r#"{"type":"close"}"#, ok(ClientFrame::Close)),
            ("not json", Err("invalid_json")),
            ("", Err("invalid_json")),
            ("[1,2]", Err("invalid_frame")),
            ("42", Err("invalid_frame")),
            (r#"{"text":"no type"}"#, Err("invalid_frame")),
            (r#"{"type":7}"#, Err("invalid_frame")),
            (r#"{"type":"shout"}"#, Err("unknown_type")),
            (r#"{"type":"message"}"#, Err("invalid_frame")),
            (r#"{"type":"message","text":42}"#, Err("invalid_frame")),
            (
                r#"{"type":"message","text":"hi","client_id":7}"#,
                Err("invalid_frame"),
            ),
            (
                r#"{"type":"message","text":"hi","admin":true}"#,
                Err("invalid_frame"),
            ),
            (r#"{"type":"resume","after_seq":-1}"#, Err("invalid_frame")),
            (
                r#"{"type":"resume","after_seq":1e400}"#,
                Err("invalid_json"),
            ),
            (r#"{"type":"resume","after_seq":"5"}"#, Err("invalid_frame")),
            (r#"{"type":"rate","score":300}"#, Err("invalid_frame")),
            (r#"{"type":"rate"}"#, Err("invalid_frame")),
            (&huge, Err("frame_too_large")),
        ];
        for (text, expected) in cases {
            let got = ClientFrame::decode(text).map_err(|e| e.code);
            assert_eq!(got, expected, "frame {:?}", &text[..text.len().min(80)]);
        }
    }

    #[test]
    fn deep_nesting_is_refused_without_blowing_the_stack() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(
            ClientFrame::decode(&deep).map_err(|e| e.code),
            Err("frame_too_large")
        );
        let nested = format!(
            r#"{{"type":"message","text":"hi","x":{}{}}}"#,
            "[".repeat(5000),
            "]".repeat(5000)
        );
        assert!(ClientFrame::decode(&nested).is_err());
    }

    #[test]
    fn server_frames_encode_as_documented() {
        let frame = ServerFrame::Error {
            code: "too_long".into(),
            message: "too long".into(),
        };
        assert_eq!(
            frame.encode(),
            r#"{"type":"error","code":"too_long","message":"too long"}"#
        );
        let typing = ServerFrame::Typing { sender: "agent" };
        assert_eq!(typing.encode(), r#"{"type":"typing","sender":"agent"}"#);
    }
}
