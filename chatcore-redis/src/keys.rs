//! The key layout (docs/REDIS.md has it as a table). Every key starts with the configured prefix.

use chatcore::{AgentId, RoomId, RoomStatus, Sender};
use chrono::NaiveDate;

/// Builds keys and channel names under one prefix.
#[derive(Clone, Debug)]
pub(crate) struct Keys {
    prefix: String,
}

impl Keys {
    pub(crate) fn new(prefix: &str) -> Self {
        Keys {
            prefix: prefix.to_owned(),
        }
    }

    /// HASH `json` (the room), `rev` (its revision for compare-and-set).
    pub(crate) fn room(&self, id: RoomId) -> String {
        format!("{}room:{id}", self.prefix)
    }

    /// LIST of message JSON; the element at index i has seq i + 1.
    pub(crate) fn messages(&self, id: RoomId) -> String {
        format!("{}room:{id}:messages", self.prefix)
    }

    /// HASH "sender|client id" → seq, for resends.
    pub(crate) fn client_ids(&self, id: RoomId) -> String {
        format!("{}room:{id}:client_ids", self.prefix)
    }

    /// HASH visitor / bot / agent → message count, for analytics.
    pub(crate) fn counts(&self, id: RoomId) -> String {
        format!("{}room:{id}:counts", self.prefix)
    }

    /// ZSET room id → created_at.
    pub(crate) fn rooms_by_created(&self) -> String {
        format!("{}rooms:created", self.prefix)
    }

    /// SET of room ids in a status.
    pub(crate) fn rooms_in(&self, status: RoomStatus) -> String {
        format!("{}rooms:status:{}", self.prefix, status.as_str())
    }

    /// ZSET waiting room id → escalated_at: the agents' queue.
    pub(crate) fn queue(&self) -> String {
        format!("{}rooms:queue", self.prefix)
    }

    /// SET of a customer's room ids.
    pub(crate) fn customer_rooms(&self, customer: &str) -> String {
        format!("{}rooms:customer:{customer}", self.prefix)
    }

    /// SET of an agent's room ids.
    pub(crate) fn agent_rooms(&self, agent: AgentId) -> String {
        format!("{}rooms:agent:{agent}", self.prefix)
    }

    /// HASH rooms / messages → count, per UTC day.
    pub(crate) fn daily(&self, day: NaiveDate) -> String {
        format!("{}daily:{day}", self.prefix)
    }

    /// HASH rule id → rule JSON.
    pub(crate) fn rules(&self) -> String {
        format!("{}rules", self.prefix)
    }

    /// STRING: last rule id handed out.
    pub(crate) fn rule_ids(&self) -> String {
        format!("{}rules:next_id", self.prefix)
    }

    /// STRING: the rule version.
    pub(crate) fn rules_version(&self) -> String {
        format!("{}rules:version", self.prefix)
    }

    /// HASH agent id → agent JSON.
    pub(crate) fn agents(&self) -> String {
        format!("{}agents", self.prefix)
    }

    /// HASH username → agent id.
    pub(crate) fn agent_names(&self) -> String {
        format!("{}agents:by_username", self.prefix)
    }

    /// STRING: last agent id handed out.
    pub(crate) fn agent_ids(&self) -> String {
        format!("{}agents:next_id", self.prefix)
    }

    /// The pub/sub channel of a room.
    pub(crate) fn room_channel(&self, id: RoomId) -> String {
        format!("{}events:room:{id}", self.prefix)
    }

    /// The pub/sub channel of the agents' feed.
    pub(crate) fn agents_channel(&self) -> String {
        format!("{}events:agents", self.prefix)
    }
}

/// The field of a resend in [`Keys::client_ids`]: client ids are scoped to their sender.
pub(crate) fn client_id_field(sender: Sender, client_id: &str) -> String {
    match sender {
        Sender::Agent(id) => format!("agent:{id}|{client_id}"),
        other => format!("{}|{client_id}", other.kind()),
    }
}
