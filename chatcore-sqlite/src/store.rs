//! The [`MessageStore`] implementation: SQL for each operation, rows to domain types and back.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chatcore::analytics::{AnalyticsCounts, AnalyticsWindow, DailyActivity};
use chatcore::store::{apply_append, apply_rating, effective_message_limit, prepare_new_room};
use chatcore::{
    Agent, AgentId, AgentRole, Appended, BotRule, Error, Intent, Message, MessageStore, NewAgent,
    NewMessage, NewRule, Participant, Rating, Result, Room, RoomId, RoomOrder, RoomQuery,
    RoomStatus, RuleId, RuleSet, Sender, Timestamp, Transition,
};
use rusqlite::types::Value;
use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::{map_err, SqliteError, SqliteStore};

const ROOM_COLUMNS: &str =
    "id, participant_kind, customer_id, visitor_credential, status, agent_id, \
    language, context, last_seq, created_at, updated_at, escalated_at, accepted_at, \
    first_agent_reply_at, closed_at, closed_by, rating";

const MESSAGE_COLUMNS: &str =
    "room_id, seq, sender_kind, agent_id, text, created_at, client_id, explanation, event";

const DAY_MS: i64 = 86_400_000;

fn corrupt(what: impl std::fmt::Display) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        0,
        rusqlite::types::Type::Text,
        Box::new(SqliteError::Corrupt(what.to_string())),
    )
}

fn json<T: serde::Serialize>(value: &T) -> rusqlite::Result<String> {
    // Our own types always serialise; an error here would be a bug, reported as a bad value.
    serde_json::to_string(value).map_err(corrupt)
}

fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> rusqlite::Result<T> {
    serde_json::from_str(text).map_err(|e| corrupt(format!("{e}: {text}")))
}

fn room_id(bytes: Vec<u8>) -> rusqlite::Result<RoomId> {
    let bytes: [u8; 16] = bytes
        .try_into()
        .map_err(|_| corrupt("room id is not 16 bytes"))?;
    Ok(RoomId::from_bytes(bytes))
}

fn timestamp(value: Option<i64>) -> Option<Timestamp> {
    value.map(Timestamp)
}

fn parse<T: std::str::FromStr>(text: &str, what: &str) -> rusqlite::Result<T> {
    text.parse()
        .map_err(|_| corrupt(format!("invalid {what}: {text:?}")))
}

fn room_from_row(row: &Row<'_>) -> rusqlite::Result<Room> {
    let id = room_id(row.get(0)?)?;
    let participant = match row.get::<_, String>(1)?.as_str() {
        "anonymous" => Participant::Anonymous,
        "customer" => Participant::Customer(row.get(2)?),
        other => return Err(corrupt(format!("participant kind {other:?}"))),
    };
    let created_at = Timestamp(row.get(9)?);
    let mut room = Room::new(id, participant, created_at);
    room.visitor_credential = row.get(3)?;
    room.status = parse(&row.get::<_, String>(4)?, "room status")?;
    room.agent = row.get::<_, Option<i64>>(5)?.map(|id| AgentId(id as u64));
    room.language = row.get(6)?;
    room.context = from_json(&row.get::<_, String>(7)?)?;
    room.last_seq = row.get::<_, i64>(8)? as u64;
    room.updated_at = Timestamp(row.get(10)?);
    room.escalated_at = timestamp(row.get(11)?);
    room.accepted_at = timestamp(row.get(12)?);
    room.first_agent_reply_at = timestamp(row.get(13)?);
    room.closed_at = timestamp(row.get(14)?);
    room.closed_by = row
        .get::<_, Option<String>>(15)?
        .map(|text| from_json(&text))
        .transpose()?;
    room.rating = row
        .get::<_, Option<u8>>(16)?
        .map(|score| Rating::new(score).map_err(corrupt))
        .transpose()?;
    Ok(room)
}

fn sender_columns(sender: Sender) -> (&'static str, Option<i64>) {
    match sender {
        Sender::Agent(id) => ("agent", Some(id.0 as i64)),
        other => (other.kind(), None),
    }
}

fn message_from_row(row: &Row<'_>) -> rusqlite::Result<Message> {
    let room = room_id(row.get(0)?)?;
    let seq = row.get::<_, i64>(1)? as u64;
    let sender = match (
        row.get::<_, String>(2)?.as_str(),
        row.get::<_, Option<i64>>(3)?,
    ) {
        ("visitor", _) => Sender::Visitor,
        ("bot", _) => Sender::Bot,
        ("system", _) => Sender::System,
        ("agent", Some(id)) => Sender::Agent(AgentId(id as u64)),
        (other, _) => return Err(corrupt(format!("sender {other:?}"))),
    };
    let text: String = row.get(4)?;
    let mut message = NewMessage::new(room, sender, text, Timestamp(row.get(5)?));
    message.client_id = row.get(6)?;
    message.explanation = row
        .get::<_, Option<String>>(7)?
        .map(|text| from_json(&text))
        .transpose()?;
    message.event = row
        .get::<_, Option<String>>(8)?
        .map(|text| from_json(&text))
        .transpose()?;
    Ok(message.into_message(seq))
}

fn rule_from_row(row: &Row<'_>) -> rusqlite::Result<BotRule> {
    let intent: String = row.get(1)?;
    let intent = Intent::new(intent).map_err(corrupt)?;
    let keywords: Vec<String> = from_json(&row.get::<_, String>(2)?)?;
    let mut rule = NewRule::new(intent, keywords, row.get::<_, String>(3)?, row.get(4)?)
        .active(row.get(5)?)
        .language(row.get::<_, String>(6)?);
    rule.catalog_response = row.get(7)?;
    Ok(rule.into_rule(RuleId(row.get::<_, i64>(0)? as u64)))
}

fn agent_from_row(row: &Row<'_>) -> rusqlite::Result<Agent> {
    let role: AgentRole = parse(&row.get::<_, String>(3)?, "agent role")?;
    let agent = NewAgent::new(
        row.get::<_, String>(1)?,
        row.get::<_, String>(2)?,
        role,
        row.get::<_, String>(5)?,
    )
    .active(row.get(4)?);
    Ok(agent.into_agent(
        AgentId(row.get::<_, i64>(0)? as u64),
        Timestamp(row.get(6)?),
    ))
}

fn load_room(conn: &Connection, id: RoomId) -> Result<Room> {
    conn.prepare_cached(&format!("SELECT {ROOM_COLUMNS} FROM rooms WHERE id = ?1"))
        .and_then(|mut stmt| {
            stmt.query_row([id.as_bytes().as_slice()], room_from_row)
                .optional()
        })
        .map_err(map_err)?
        .ok_or_else(|| Error::room_not_found(id))
}

fn insert_room(conn: &Connection, room: &Room) -> Result<()> {
    let (kind, customer) = match &room.participant {
        Participant::Anonymous => ("anonymous", None),
        Participant::Customer(id) => ("customer", Some(id.as_str())),
        other => {
            return Err(Error::InvalidRequest(format!(
                "participant {other:?} is not supported by this store"
            )))
        }
    };
    conn.prepare_cached(&format!(
        "INSERT INTO rooms ({ROOM_COLUMNS}) VALUES \
         (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)"
    ))
    .and_then(|mut stmt| {
        stmt.execute(params![
            room.id.as_bytes().as_slice(),
            kind,
            customer,
            room.visitor_credential,
            room.status.as_str(),
            room.agent.map(|a| a.0 as i64),
            room.language,
            json(&room.context)?,
            room.last_seq as i64,
            room.created_at.0,
            room.updated_at.0,
            room.escalated_at.map(|t| t.0),
            room.accepted_at.map(|t| t.0),
            room.first_agent_reply_at.map(|t| t.0),
            room.closed_at.map(|t| t.0),
            room.closed_by.map(|by| json(&by)).transpose()?,
            room.rating.map(Rating::get),
        ])
    })
    .map_err(map_err)?;
    Ok(())
}

/// Writes every field a room operation may change.
fn save_room(conn: &Connection, room: &Room) -> Result<()> {
    let changed = conn
        .prepare_cached(
            "UPDATE rooms SET status = ?2, agent_id = ?3, language = ?4, context = ?5, \
             last_seq = ?6, updated_at = ?7, escalated_at = ?8, accepted_at = ?9, \
             first_agent_reply_at = ?10, closed_at = ?11, closed_by = ?12, rating = ?13 \
             WHERE id = ?1",
        )
        .and_then(|mut stmt| {
            stmt.execute(params![
                room.id.as_bytes().as_slice(),
                room.status.as_str(),
                room.agent.map(|a| a.0 as i64),
                room.language,
                json(&room.context)?,
                room.last_seq as i64,
                room.updated_at.0,
                room.escalated_at.map(|t| t.0),
                room.accepted_at.map(|t| t.0),
                room.first_agent_reply_at.map(|t| t.0),
                room.closed_at.map(|t| t.0),
                room.closed_by.map(|by| json(&by)).transpose()?,
                room.rating.map(Rating::get),
            ])
        })
        .map_err(map_err)?;
    if changed == 1 {
        Ok(())
    } else {
        Err(Error::room_not_found(room.id))
    }
}

fn insert_message(conn: &Connection, message: &Message) -> Result<()> {
    let (kind, agent) = sender_columns(message.sender);
    let explanation = message
        .explanation
        .as_ref()
        .map(json)
        .transpose()
        .map_err(map_err)?;
    let event = message
        .event
        .as_ref()
        .map(json)
        .transpose()
        .map_err(map_err)?;
    conn.prepare_cached(&format!(
        "INSERT INTO messages ({MESSAGE_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
    ))
    .and_then(|mut stmt| {
        stmt.execute(params![
            message.room_id.as_bytes().as_slice(),
            message.seq as i64,
            kind,
            agent,
            message.text,
            message.created_at.0,
            message.client_id,
            explanation,
            event,
        ])
    })
    .map_err(map_err)?;
    Ok(())
}

fn find_resend(conn: &Connection, message: &NewMessage) -> Result<Option<Message>> {
    let Some(client_id) = &message.client_id else {
        return Ok(None);
    };
    let (kind, agent) = sender_columns(message.sender);
    conn.prepare_cached(&format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages WHERE room_id = ?1 AND sender_kind = ?2 \
         AND ifnull(agent_id, 0) = ?3 AND client_id = ?4"
    ))
    .and_then(|mut stmt| {
        stmt.query_row(
            params![
                message.room_id.as_bytes().as_slice(),
                kind,
                agent.unwrap_or(0),
                client_id
            ],
            message_from_row,
        )
        .optional()
    })
    .map_err(map_err)
}

fn rules_version(conn: &Connection) -> Result<u64> {
    conn.prepare_cached("SELECT value FROM meta WHERE key = 'rules_version'")
        .and_then(|mut stmt| stmt.query_row([], |row| row.get::<_, i64>(0)))
        .map(|v| v as u64)
        .map_err(map_err)
}

fn bump_rules_version(conn: &Connection) -> Result<()> {
    conn.prepare_cached("UPDATE meta SET value = value + 1 WHERE key = 'rules_version'")
        .and_then(|mut stmt| stmt.execute([]))
        .map_err(map_err)?;
    Ok(())
}

fn insert_rule(conn: &Connection, rule: &NewRule) -> Result<RuleId> {
    conn.prepare_cached(
        "INSERT INTO rules (intent, keywords, response, priority, active, language, \
         catalog_response) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            rule.intent.as_str(),
            json(&rule.keywords)?,
            rule.response,
            rule.priority,
            rule.active,
            rule.language,
            rule.catalog_response,
        ])
    })
    .map_err(map_err)?;
    Ok(RuleId(conn.last_insert_rowid() as u64))
}

fn rule_set(conn: &Connection) -> Result<RuleSet> {
    let version = rules_version(conn)?;
    let rules = conn
        .prepare_cached(
            "SELECT id, intent, keywords, response, priority, active, language, catalog_response \
             FROM rules ORDER BY id",
        )
        .and_then(|mut stmt| stmt.query_map([], rule_from_row)?.collect())
        .map_err(map_err)?;
    Ok(RuleSet { version, rules })
}

fn rule_not_found(id: RuleId) -> Error {
    Error::NotFound {
        kind: "rule",
        id: id.to_string(),
    }
}

fn agent_not_found(id: AgentId) -> Error {
    Error::NotFound {
        kind: "agent",
        id: id.to_string(),
    }
}

const AGENT_COLUMNS: &str = "id, username, display_name, role, active, password_hash, created_at";

fn load_agent(conn: &Connection, id: AgentId) -> Result<Agent> {
    conn.prepare_cached(&format!("SELECT {AGENT_COLUMNS} FROM agents WHERE id = ?1"))
        .and_then(|mut stmt| stmt.query_row([id.0 as i64], agent_from_row).optional())
        .map_err(map_err)?
        .ok_or_else(|| agent_not_found(id))
}

fn username_taken(conn: &Connection, username: &str, except: Option<AgentId>) -> Result<bool> {
    conn.prepare_cached("SELECT count(*) FROM agents WHERE username = ?1 AND id != ?2")
        .and_then(|mut stmt| {
            stmt.query_row(
                params![username, except.map_or(-1, |a| a.0 as i64)],
                |row| row.get::<_, i64>(0),
            )
        })
        .map(|n| n > 0)
        .map_err(map_err)
}

/// Appends a message whose seq `room` was just advanced to, and saves the room.
fn store_message(conn: &Connection, room: &Room, message: NewMessage) -> Result<Message> {
    let message = message.into_message(room.last_seq);
    insert_message(conn, &message)?;
    save_room(conn, room)?;
    Ok(message)
}

/// The hot path's room update: a plain append changes only these fields (see
/// `chatcore::store::apply_append`). Naming only them keeps SQLite from touching the room's indexes
/// for every message.
fn save_appended_room(conn: &Connection, room: &Room) -> Result<()> {
    conn.prepare_cached(
        "UPDATE rooms SET last_seq = ?2, updated_at = ?3, first_agent_reply_at = ?4 WHERE id = ?1",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            room.id.as_bytes().as_slice(),
            room.last_seq as i64,
            room.updated_at.0,
            room.first_agent_reply_at.map(|t| t.0),
        ])
    })
    .map_err(map_err)?;
    Ok(())
}

fn list_rooms_sql(query: &RoomQuery) -> (String, Vec<Value>) {
    let mut sql = format!("SELECT {ROOM_COLUMNS} FROM rooms WHERE 1 = 1");
    let mut values: Vec<Value> = Vec::new();
    if !query.statuses.is_empty() {
        sql.push_str(" AND status IN (");
        for (i, status) in query.statuses.iter().enumerate() {
            sql.push_str(if i == 0 { "?" } else { ", ?" });
            values.push(Value::Text(status.as_str().to_owned()));
        }
        sql.push(')');
    }
    if let Some(customer) = &query.customer {
        sql.push_str(" AND customer_id = ?");
        values.push(Value::Text(customer.clone()));
    }
    if let Some(agent) = query.agent {
        sql.push_str(" AND agent_id = ?");
        values.push(Value::Integer(agent.0 as i64));
    }
    if let Some(before) = query.updated_before {
        sql.push_str(" AND updated_at < ?");
        values.push(Value::Integer(before.0));
    }
    sql.push_str(match query.order {
        RoomOrder::UpdatedDesc => " ORDER BY updated_at DESC, id",
        RoomOrder::CreatedDesc => " ORDER BY created_at DESC, id",
        RoomOrder::EscalatedAsc => " ORDER BY escalated_at IS NULL, escalated_at, id",
    });
    sql.push_str(" LIMIT ? OFFSET ?");
    values.push(Value::Integer(query.effective_limit() as i64));
    values.push(Value::Integer(
        i64::try_from(query.offset).unwrap_or(i64::MAX),
    ));
    (sql, values)
}

fn analytics_counts(conn: &Connection, window: &AnalyticsWindow) -> Result<AnalyticsCounts> {
    let (from, to) = (window.from.0, window.to.0);
    let mut counts = conn
        .prepare_cached(
            "SELECT count(*),
                    ifnull(sum(status = 'bot'), 0),
                    ifnull(sum(status = 'waiting_for_agent'), 0),
                    ifnull(sum(status = 'with_agent'), 0),
                    ifnull(sum(status = 'closed'), 0),
                    ifnull(sum(status = 'closed' AND escalated_at IS NULL), 0),
                    ifnull(sum(escalated_at IS NOT NULL), 0),
                    ifnull(sum(escalated_at IS NOT NULL AND first_agent_reply_at IS NOT NULL), 0),
                    ifnull(sum(CASE WHEN escalated_at IS NOT NULL AND first_agent_reply_at IS NOT NULL
                                    THEN first_agent_reply_at - escalated_at END), 0),
                    ifnull(sum(rating IS NOT NULL), 0),
                    ifnull(sum(rating), 0)
             FROM rooms WHERE created_at >= ?1 AND created_at < ?2",
        )
        .and_then(|mut stmt| {
            stmt.query_row([from, to], |row| {
                let n = |i: usize| row.get::<_, i64>(i).map(|v| v as u64);
                let mut counts = AnalyticsCounts::default();
                counts.rooms = n(0)?;
                counts.with_bot = n(1)?;
                counts.waiting_for_agent = n(2)?;
                counts.with_agent = n(3)?;
                counts.closed = n(4)?;
                counts.closed_without_escalation = n(5)?;
                counts.escalated = n(6)?;
                counts.first_replies = n(7)?;
                counts.first_reply_ms_total = row.get(8)?;
                counts.rated = n(9)?;
                counts.rating_total = n(10)?;
                Ok(counts)
            })
        })
        .map_err(map_err)?;
    conn.prepare_cached(
        "SELECT m.sender_kind, count(*) FROM rooms r JOIN messages m ON m.room_id = r.id
         WHERE r.created_at >= ?1 AND r.created_at < ?2 GROUP BY m.sender_kind",
    )
    .and_then(|mut stmt| {
        let mut rows = stmt.query([from, to])?;
        while let Some(row) = rows.next()? {
            let n = row.get::<_, i64>(1)? as u64;
            match row.get::<_, String>(0)?.as_str() {
                "visitor" => counts.visitor_messages = n,
                "bot" => counts.bot_messages = n,
                "agent" => counts.agent_messages = n,
                _ => {}
            }
        }
        Ok(())
    })
    .map_err(map_err)?;

    let (start, end) = window.daily_range();
    let mut daily: Vec<DailyActivity> = window
        .daily_days()
        .into_iter()
        .map(|date| DailyActivity {
            date,
            rooms: 0,
            messages: 0,
        })
        .collect();
    let per_day = |sql: &str| -> Result<Vec<(usize, u64)>> {
        conn.prepare_cached(sql)
            .and_then(|mut stmt| {
                stmt.query_map([start.0, end.0], |row| {
                    Ok((row.get::<_, i64>(0)? as usize, row.get::<_, i64>(1)? as u64))
                })?
                .collect()
            })
            .map_err(map_err)
    };
    for (day, n) in per_day(
        "SELECT (created_at - ?1) / 86400000, count(*) FROM rooms
         WHERE created_at >= ?1 AND created_at < ?2 GROUP BY 1",
    )? {
        if let Some(slot) = daily.get_mut(day) {
            slot.rooms = n;
        }
    }
    for (day, n) in per_day(
        "SELECT (created_at - ?1) / 86400000, count(*) FROM messages
         WHERE created_at >= ?1 AND created_at < ?2 AND sender_kind != 'system' GROUP BY 1",
    )? {
        if let Some(slot) = daily.get_mut(day) {
            slot.messages = n;
        }
    }
    debug_assert_eq!((end.0 - start.0) / DAY_MS, daily.len() as i64);
    counts.daily = daily;
    Ok(counts)
}

#[async_trait]
impl MessageStore for SqliteStore {
    async fn create_room(
        &self,
        room: Room,
        opening: Vec<NewMessage>,
    ) -> Result<(Room, Vec<Message>)> {
        self.workers
            .write(move |conn| {
                let (room, messages) = prepare_new_room(room, opening)?;
                let exists = conn
                    .prepare_cached("SELECT count(*) FROM rooms WHERE id = ?1")
                    .and_then(|mut stmt| {
                        stmt.query_row([room.id.as_bytes().as_slice()], |row| row.get::<_, i64>(0))
                    })
                    .map_err(map_err)?;
                if exists > 0 {
                    return Err(Error::AlreadyExists {
                        kind: "room",
                        key: room.id.to_string(),
                    });
                }
                insert_room(conn, &room)?;
                for message in &messages {
                    insert_message(conn, message)?;
                }
                Ok((room, messages))
            })
            .await
    }

    async fn get_room(&self, id: RoomId) -> Result<Room> {
        self.workers.read(move |conn| load_room(conn, id)).await
    }

    async fn list_rooms(&self, query: &RoomQuery) -> Result<Vec<Room>> {
        let (sql, values) = list_rooms_sql(query);
        self.workers
            .read(move |conn| {
                conn.prepare_cached(&sql)
                    .and_then(|mut stmt| {
                        stmt.query_map(rusqlite::params_from_iter(values), room_from_row)?
                            .collect()
                    })
                    .map_err(map_err)
            })
            .await
    }

    async fn queue_position(&self, id: RoomId) -> Result<Option<u64>> {
        self.workers
            .read(move |conn| {
                let room = load_room(conn, id)?;
                let (RoomStatus::WaitingForAgent, Some(escalated)) =
                    (room.status, room.escalated_at)
                else {
                    return Ok(None);
                };
                let ahead: i64 = conn
                    .prepare_cached(
                        "SELECT count(*) FROM rooms WHERE status = 'waiting_for_agent' \
                         AND (escalated_at < ?1 OR (escalated_at = ?1 AND id < ?2))",
                    )
                    .and_then(|mut stmt| {
                        stmt.query_row(params![escalated.0, id.as_bytes().as_slice()], |row| {
                            row.get(0)
                        })
                    })
                    .map_err(map_err)?;
                Ok(Some(ahead as u64 + 1))
            })
            .await
    }

    async fn transition(&self, id: RoomId, transition: Transition) -> Result<(Room, Message)> {
        self.workers
            .write(move |conn| {
                let mut room = load_room(conn, id)?;
                let event = transition.apply(&mut room)?;
                let message = store_message(conn, &room, event)?;
                Ok((room, message))
            })
            .await
    }

    async fn rate_room(
        &self,
        id: RoomId,
        rating: Rating,
        at: Timestamp,
    ) -> Result<(Room, Message)> {
        self.workers
            .write(move |conn| {
                let mut room = load_room(conn, id)?;
                let event = apply_rating(&mut room, rating, at)?;
                let message = store_message(conn, &room, event)?;
                Ok((room, message))
            })
            .await
    }

    async fn set_room_context(
        &self,
        id: RoomId,
        language: Option<String>,
        context: BTreeMap<String, String>,
    ) -> Result<Room> {
        self.workers
            .write(move |conn| {
                let mut room = load_room(conn, id)?;
                room.language = language;
                room.context = context;
                save_room(conn, &room)?;
                Ok(room)
            })
            .await
    }

    async fn append_message(&self, message: NewMessage) -> Result<Appended> {
        self.workers
            .write(move |conn| {
                let mut room = load_room(conn, message.room_id)?;
                if let Some(earlier) = find_resend(conn, &message)? {
                    return Ok(Appended::new(earlier, room, true));
                }
                apply_append(&mut room, &message)?;
                // Most appends change only the seq and times; a bot reply may also change the
                // language and context.
                let whole_room = message.context.is_some();
                let message = message.into_message(room.last_seq);
                insert_message(conn, &message)?;
                if whole_room {
                    save_room(conn, &room)?;
                } else {
                    save_appended_room(conn, &room)?;
                }
                Ok(Appended::new(message, room, false))
            })
            .await
    }

    async fn messages_after(
        &self,
        room: RoomId,
        after_seq: u64,
        limit: usize,
    ) -> Result<Vec<Message>> {
        let limit = effective_message_limit(limit) as i64;
        let after = i64::try_from(after_seq).unwrap_or(i64::MAX);
        self.workers
            .read(move |conn| {
                let messages: Vec<Message> = conn
                    .prepare_cached(&format!(
                        "SELECT {MESSAGE_COLUMNS} FROM messages WHERE room_id = ?1 AND seq > ?2 \
                         ORDER BY seq LIMIT ?3"
                    ))
                    .and_then(|mut stmt| {
                        stmt.query_map(
                            params![room.as_bytes().as_slice(), after, limit],
                            message_from_row,
                        )?
                        .collect()
                    })
                    .map_err(map_err)?;
                if messages.is_empty() {
                    // Tell an empty page of a real room from an unknown room.
                    load_room(conn, room)?;
                }
                Ok(messages)
            })
            .await
    }

    async fn rules(&self) -> Result<RuleSet> {
        self.workers.read(rule_set).await
    }

    async fn rules_version(&self) -> Result<u64> {
        self.workers.read(rules_version).await
    }

    async fn create_rule(&self, rule: NewRule) -> Result<BotRule> {
        self.workers
            .write(move |conn| {
                let id = insert_rule(conn, &rule)?;
                bump_rules_version(conn)?;
                Ok(rule.into_rule(id))
            })
            .await
    }

    async fn update_rule(&self, id: RuleId, rule: NewRule) -> Result<BotRule> {
        self.workers
            .write(move |conn| {
                let changed = conn
                    .prepare_cached(
                        "UPDATE rules SET intent = ?2, keywords = ?3, response = ?4, priority = ?5, \
                         active = ?6, language = ?7, catalog_response = ?8 WHERE id = ?1",
                    )
                    .and_then(|mut stmt| {
                        stmt.execute(params![
                            id.0 as i64,
                            rule.intent.as_str(),
                            json(&rule.keywords)?,
                            rule.response,
                            rule.priority,
                            rule.active,
                            rule.language,
                            rule.catalog_response,
                        ])
                    })
                    .map_err(map_err)?;
                if changed == 0 {
                    return Err(rule_not_found(id));
                }
                bump_rules_version(conn)?;
                Ok(rule.into_rule(id))
            })
            .await
    }

    async fn delete_rule(&self, id: RuleId) -> Result<()> {
        self.workers
            .write(move |conn| {
                let changed = conn
                    .prepare_cached("DELETE FROM rules WHERE id = ?1")
                    .and_then(|mut stmt| stmt.execute([id.0 as i64]))
                    .map_err(map_err)?;
                if changed == 0 {
                    return Err(rule_not_found(id));
                }
                bump_rules_version(conn)
            })
            .await
    }

    async fn replace_rules(&self, rules: Vec<NewRule>) -> Result<RuleSet> {
        self.workers
            .write(move |conn| {
                conn.execute("DELETE FROM rules", []).map_err(map_err)?;
                for rule in &rules {
                    insert_rule(conn, rule)?;
                }
                bump_rules_version(conn)?;
                rule_set(conn)
            })
            .await
    }

    async fn create_agent(&self, agent: NewAgent, at: Timestamp) -> Result<Agent> {
        self.workers
            .write(move |conn| {
                if username_taken(conn, &agent.username, None)? {
                    return Err(Error::AlreadyExists {
                        kind: "agent",
                        key: agent.username,
                    });
                }
                conn.prepare_cached(
                    "INSERT INTO agents (username, display_name, role, active, password_hash, created_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )
                .and_then(|mut stmt| {
                    stmt.execute(params![
                        agent.username,
                        agent.display_name,
                        agent.role.as_str(),
                        agent.active,
                        agent.password_hash,
                        at.0
                    ])
                })
                .map_err(map_err)?;
                Ok(agent.into_agent(AgentId(conn.last_insert_rowid() as u64), at))
            })
            .await
    }

    async fn get_agent(&self, id: AgentId) -> Result<Agent> {
        self.workers.read(move |conn| load_agent(conn, id)).await
    }

    async fn find_agent(&self, username: &str) -> Result<Option<Agent>> {
        let username = username.to_owned();
        self.workers
            .read(move |conn| {
                conn.prepare_cached(&format!(
                    "SELECT {AGENT_COLUMNS} FROM agents WHERE username = ?1"
                ))
                .and_then(|mut stmt| stmt.query_row([username], agent_from_row).optional())
                .map_err(map_err)
            })
            .await
    }

    async fn list_agents(&self) -> Result<Vec<Agent>> {
        self.workers
            .read(|conn| {
                conn.prepare_cached(&format!("SELECT {AGENT_COLUMNS} FROM agents ORDER BY id"))
                    .and_then(|mut stmt| stmt.query_map([], agent_from_row)?.collect())
                    .map_err(map_err)
            })
            .await
    }

    async fn update_agent(&self, id: AgentId, agent: NewAgent) -> Result<Agent> {
        self.workers
            .write(move |conn| {
                let existing = load_agent(conn, id)?;
                if username_taken(conn, &agent.username, Some(id))? {
                    return Err(Error::AlreadyExists {
                        kind: "agent",
                        key: agent.username,
                    });
                }
                conn.prepare_cached(
                    "UPDATE agents SET username = ?2, display_name = ?3, role = ?4, active = ?5, \
                     password_hash = ?6 WHERE id = ?1",
                )
                .and_then(|mut stmt| {
                    stmt.execute(params![
                        id.0 as i64,
                        agent.username,
                        agent.display_name,
                        agent.role.as_str(),
                        agent.active,
                        agent.password_hash
                    ])
                })
                .map_err(map_err)?;
                Ok(agent.into_agent(id, existing.created_at))
            })
            .await
    }

    async fn analytics(&self, window: &AnalyticsWindow) -> Result<AnalyticsCounts> {
        let window = *window;
        self.workers
            .read(move |conn| analytics_counts(conn, &window))
            .await
    }
}
