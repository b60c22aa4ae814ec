//! [`RedisStore`]: the [`MessageStore`] on Redis, with compare-and-set Lua scripts.

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use chatcore::analytics::{AnalyticsCounts, AnalyticsWindow, DailyActivity};
use chatcore::store::{apply_append, apply_rating, effective_message_limit, prepare_new_room};
use chatcore::{
    Agent, AgentId, AgentRole, Appended, BotRule, Error, Message, MessageStore, NewAgent,
    NewMessage, NewRule, Participant, Rating, Result, Room, RoomId, RoomQuery, RoomStatus, RuleId,
    RuleSet, Sender, Timestamp, Transition,
};
use redis::aio::ConnectionManager;
use redis::{AsyncCommands, Script};
use serde::{Deserialize, Serialize};

use crate::keys::{client_id_field, Keys};
use crate::{map_err, RedisConfig, RedisError};

/// Attempts of one compare-and-set before giving up with `Unavailable`: each failed attempt means
/// another writer changed the room, so this bounds only pathological contention.
const MAX_CAS_ATTEMPTS: usize = 1000;

/// Writes a room (and optionally one message) if its revision is still the one read. Returns
/// `{1}` done, `{0}` revision moved (retry), `{-1}` no such room, `{2, seq}` a resend of `seq`.
const SAVE_ROOM: &str = r"
local rev = redis.call('HGET', KEYS[1], 'rev')
if not rev then return {-1} end
if rev ~= ARGV[1] then return {0} end
if ARGV[8] ~= '' then
  local seq = redis.call('HGET', KEYS[3], ARGV[8])
  if seq then return {2, tonumber(seq)} end
end
if ARGV[6] ~= '' then
  local len = redis.call('LLEN', KEYS[2])
  if len + 1 ~= tonumber(ARGV[7]) then
    return redis.error_reply('chatcore: seq ' .. ARGV[7] .. ' does not follow ' .. len)
  end
  redis.call('RPUSH', KEYS[2], ARGV[6])
  if ARGV[8] ~= '' then redis.call('HSET', KEYS[3], ARGV[8], ARGV[7]) end
  if ARGV[9] ~= '' then
    redis.call('HINCRBY', KEYS[4], ARGV[9], 1)
    redis.call('HINCRBY', KEYS[8], 'messages', 1)
  end
end
redis.call('HSET', KEYS[1], 'json', ARGV[2], 'rev', tonumber(rev) + 1)
if KEYS[5] ~= KEYS[6] then
  redis.call('SREM', KEYS[5], ARGV[3])
  redis.call('SADD', KEYS[6], ARGV[3])
end
if ARGV[5] ~= '' then
  redis.call('ZADD', KEYS[7], ARGV[5], ARGV[3])
else
  redis.call('ZREM', KEYS[7], ARGV[3])
end
if ARGV[10] ~= '' then redis.call('SADD', KEYS[9], ARGV[3]) end
return {1}
";

/// Creates a room with its opening messages; 0 when the id exists.
const CREATE_ROOM: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'json', ARGV[1], 'rev', 1)
redis.call('SADD', KEYS[5], ARGV[2])
redis.call('ZADD', KEYS[6], ARGV[3], ARGV[2])
if ARGV[4] ~= '' then redis.call('SADD', KEYS[7], ARGV[2]) end
if ARGV[5] ~= '' then redis.call('ZADD', KEYS[9], ARGV[5], ARGV[2]) end
if ARGV[6] ~= '' then redis.call('SADD', KEYS[10], ARGV[2]) end
redis.call('HINCRBY', KEYS[8], 'rooms', 1)
local n = (#ARGV - 6) / 3
for i = 1, n do
  local base = 6 + (i - 1) * 3
  redis.call('RPUSH', KEYS[2], ARGV[base + 1])
  if ARGV[base + 2] ~= '' then
    redis.call('HINCRBY', KEYS[4], ARGV[base + 2], 1)
    redis.call('HINCRBY', KEYS[10 + i], 'messages', 1)
  end
  if ARGV[base + 3] ~= '' then redis.call('HSET', KEYS[3], ARGV[base + 3], i) end
end
return 1
";

const READ_RULES: &str = r"
return {redis.call('GET', KEYS[1]) or '0', redis.call('HGETALL', KEYS[2])}
";

const CREATE_RULE: &str = r"
local id = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[1], id, ARGV[1])
redis.call('INCR', KEYS[3])
return id
";

const UPDATE_RULE: &str = r"
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('INCR', KEYS[3])
return 1
";

const DELETE_RULE: &str = r"
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('INCR', KEYS[3])
return 1
";

const REPLACE_RULES: &str = r"
redis.call('DEL', KEYS[1])
local ids = {}
for i = 1, #ARGV do
  local id = redis.call('INCR', KEYS[2])
  redis.call('HSET', KEYS[1], id, ARGV[i])
  ids[i] = id
end
local version = redis.call('INCR', KEYS[3])
return {version, ids}
";

const CREATE_AGENT: &str = r"
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then return 0 end
local id = redis.call('INCR', KEYS[3])
redis.call('HSET', KEYS[1], id, ARGV[2])
redis.call('HSET', KEYS[2], ARGV[1], id)
return id
";

/// Renames and rewrites an agent: -1 unknown id, 0 username taken, 1 done.
const UPDATE_AGENT: &str = r"
local current = redis.call('HGET', KEYS[1], ARGV[1])
if not current then return -1 end
local owner = redis.call('HGET', KEYS[2], ARGV[2])
if owner and owner ~= ARGV[1] then return 0 end
local old = cjson.decode(current)['username']
redis.call('HDEL', KEYS[2], old)
redis.call('HSET', KEYS[2], ARGV[2], ARGV[1])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1
";

/// The agent as stored: its id is the hash field.
#[derive(Serialize, Deserialize)]
struct StoredAgent {
    username: String,
    display_name: String,
    role: AgentRole,
    active: bool,
    password_hash: String,
    created_at: Timestamp,
}

impl StoredAgent {
    fn new(agent: NewAgent, created_at: Timestamp) -> Self {
        StoredAgent {
            username: agent.username,
            display_name: agent.display_name,
            role: agent.role,
            active: agent.active,
            password_hash: agent.password_hash,
            created_at,
        }
    }

    fn into_agent(self, id: AgentId) -> Agent {
        NewAgent::new(
            self.username,
            self.display_name,
            self.role,
            self.password_hash,
        )
        .active(self.active)
        .into_agent(id, self.created_at)
    }
}

/// A [`MessageStore`] in Redis. Cheap to clone: clones share one self-reconnecting connection.
#[derive(Clone)]
pub struct RedisStore {
    conn: ConnectionManager,
    keys: Keys,
    scripts: std::sync::Arc<Scripts>,
}

struct Scripts {
    save_room: Script,
    create_room: Script,
    read_rules: Script,
    create_rule: Script,
    update_rule: Script,
    delete_rule: Script,
    replace_rules: Script,
    create_agent: Script,
    update_agent: Script,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("keys", &self.keys)
            .finish_non_exhaustive()
    }
}

fn decode<T: serde::de::DeserializeOwned>(key: &str, json: &str) -> Result<T> {
    serde_json::from_str(json).map_err(|e| {
        RedisError::Corrupt {
            key: key.to_owned(),
            reason: e.to_string(),
        }
        .into()
    })
}

fn encode<T: Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| {
        RedisError::Corrupt {
            key: "(encoding)".into(),
            reason: e.to_string(),
        }
        .into()
    })
}

fn counted_kind(sender: Sender) -> &'static str {
    match sender {
        Sender::System => "",
        other => other.kind(),
    }
}

impl RedisStore {
    /// Connects (failing with `Unavailable` within the connect timeout when Redis is unreachable).
    pub async fn connect(config: &RedisConfig) -> Result<Self> {
        let client = config.client()?;
        let conn = ConnectionManager::new_with_config(client, config.manager_config())
            .await
            .map_err(map_err)?;
        Ok(RedisStore {
            conn,
            keys: Keys::new(&config.prefix),
            scripts: std::sync::Arc::new(Scripts {
                save_room: Script::new(SAVE_ROOM),
                create_room: Script::new(CREATE_ROOM),
                read_rules: Script::new(READ_RULES),
                create_rule: Script::new(CREATE_RULE),
                update_rule: Script::new(UPDATE_RULE),
                delete_rule: Script::new(DELETE_RULE),
                replace_rules: Script::new(REPLACE_RULES),
                create_agent: Script::new(CREATE_AGENT),
                update_agent: Script::new(UPDATE_AGENT),
            }),
        })
    }

    fn conn(&self) -> ConnectionManager {
        self.conn.clone()
    }

    /// The room and its revision.
    async fn load(&self, id: RoomId) -> Result<(Room, String)> {
        let key = self.keys.room(id);
        let (json, rev): (Option<String>, Option<String>) = redis::cmd("HMGET")
            .arg(&key)
            .arg("json")
            .arg("rev")
            .query_async(&mut self.conn())
            .await
            .map_err(map_err)?;
        match (json, rev) {
            (Some(json), Some(rev)) => Ok((decode(&key, &json)?, rev)),
            _ => Err(Error::room_not_found(id)),
        }
    }

    /// Runs `change` on the current room and writes the result (with the message it returns) if
    /// nobody changed the room meanwhile; otherwise retries on the new state.
    async fn update_room<F>(&self, id: RoomId, mut change: F) -> Result<CasOutcome>
    where
        F: FnMut(&mut Room) -> Result<Option<NewMessage>>,
    {
        for _ in 0..MAX_CAS_ATTEMPTS {
            let (before, rev) = self.load(id).await?;
            let mut room = before.clone();
            let message = change(&mut room)?.map(|m| m.into_message(room.last_seq));
            match self.save(&before, &room, &rev, message.as_ref()).await? {
                Saved::Done => return Ok(CasOutcome::Saved(room, message)),
                Saved::Duplicate(seq) => {
                    let earlier = self.message_at(id, seq).await?;
                    return Ok(CasOutcome::Duplicate(before, earlier));
                }
                Saved::Moved => continue,
            }
        }
        Err(RedisError::Contention(id.to_string(), MAX_CAS_ATTEMPTS).into())
    }

    async fn save(
        &self,
        before: &Room,
        room: &Room,
        rev: &str,
        message: Option<&Message>,
    ) -> Result<Saved> {
        let k = &self.keys;
        let day = message.map_or(room.updated_at, |m| m.created_at).date();
        let agent_key = room
            .agent
            .map_or_else(|| k.room(room.id), |a| k.agent_rooms(a));
        let escalated = match (room.status, room.escalated_at) {
            (RoomStatus::WaitingForAgent, Some(at)) => at.0.to_string(),
            _ => String::new(),
        };
        let mut invocation = self.scripts.save_room.prepare_invoke();
        invocation
            .key(k.room(room.id))
            .key(k.messages(room.id))
            .key(k.client_ids(room.id))
            .key(k.counts(room.id))
            .key(k.rooms_in(before.status))
            .key(k.rooms_in(room.status))
            .key(k.queue())
            .key(k.daily(day))
            .key(agent_key)
            .arg(rev)
            .arg(encode(room)?)
            .arg(room.id.to_string())
            .arg(room.status.as_str())
            .arg(escalated);
        match message {
            Some(message) => {
                invocation
                    .arg(encode(message)?)
                    .arg(message.seq)
                    .arg(
                        message
                            .client_id
                            .as_deref()
                            .map(|c| client_id_field(message.sender, c))
                            .unwrap_or_default(),
                    )
                    .arg(counted_kind(message.sender));
            }
            None => {
                invocation.arg("").arg(0).arg("").arg("");
            }
        }
        invocation.arg(if room.agent.is_some() { "1" } else { "" });
        let reply: Vec<i64> = invocation
            .invoke_async(&mut self.conn())
            .await
            .map_err(map_err)?;
        match reply.as_slice() {
            [1] => Ok(Saved::Done),
            [0] => Ok(Saved::Moved),
            [-1] => Err(Error::room_not_found(room.id)),
            [2, seq] => Ok(Saved::Duplicate(*seq as u64)),
            other => Err(RedisError::Corrupt {
                key: k.room(room.id),
                reason: format!("unexpected script reply {other:?}"),
            }
            .into()),
        }
    }

    /// A room change that records a system message (transitions, ratings), compare-and-set.
    async fn record<F>(&self, id: RoomId, mut change: F) -> Result<(Room, Message)>
    where
        F: FnMut(&mut Room) -> Result<NewMessage>,
    {
        match self.update_room(id, |room| change(room).map(Some)).await? {
            CasOutcome::Saved(room, Some(message)) => Ok((room, message)),
            _ => Err(internal("a room change stored no system message")),
        }
    }

    async fn message_at(&self, id: RoomId, seq: u64) -> Result<Message> {
        let key = self.keys.messages(id);
        let json: Option<String> = self
            .conn()
            .lindex(&key, seq as isize - 1)
            .await
            .map_err(map_err)?;
        match json {
            Some(json) => decode(&key, &json),
            None => Err(RedisError::Corrupt {
                key,
                reason: format!("seq {seq} is recorded for a resend but missing"),
            }
            .into()),
        }
    }

    /// The rooms with these ids (as the indexes hold them), in that order; ids whose room is gone are
    /// skipped.
    async fn rooms_by_ids(&self, ids: &[String]) -> Result<Vec<Room>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for id in ids {
            let id: RoomId = id.parse().map_err(|_| RedisError::Corrupt {
                key: self.keys.rooms_by_created(),
                reason: format!("room id {id:?} in an index"),
            })?;
            pipe.hget(self.keys.room(id), "json");
        }
        let jsons: Vec<Option<String>> =
            pipe.query_async(&mut self.conn()).await.map_err(map_err)?;
        let mut rooms = Vec::with_capacity(jsons.len());
        for (id, json) in ids.iter().zip(jsons) {
            if let Some(json) = json {
                rooms.push(decode(id, &json)?);
            }
        }
        Ok(rooms)
    }
}

enum Saved {
    Done,
    Moved,
    Duplicate(u64),
}

enum CasOutcome {
    Saved(Room, Option<Message>),
    Duplicate(Room, Message),
}

fn rule_from(id: &str, json: &str) -> Result<BotRule> {
    let rule: NewRule = decode(id, json)?;
    let id: u64 = id.parse().map_err(|_| RedisError::Corrupt {
        key: "rules".into(),
        reason: format!("rule id {id:?}"),
    })?;
    Ok(rule.into_rule(RuleId(id)))
}

fn rule_set(version: &str, fields: Vec<(String, String)>) -> Result<RuleSet> {
    let mut rules = fields
        .iter()
        .map(|(id, json)| rule_from(id, json))
        .collect::<Result<Vec<_>>>()?;
    rules.sort_by_key(|r| r.id);
    Ok(RuleSet {
        version: version.parse().unwrap_or(0),
        rules,
    })
}

#[async_trait]
impl MessageStore for RedisStore {
    async fn create_room(
        &self,
        room: Room,
        opening: Vec<NewMessage>,
    ) -> Result<(Room, Vec<Message>)> {
        let (room, messages) = prepare_new_room(room, opening)?;
        let k = &self.keys;
        let customer_key = match &room.participant {
            Participant::Customer(id) => Some(k.customer_rooms(id)),
            _ => None,
        };
        let mut invocation = self.scripts.create_room.prepare_invoke();
        invocation
            .key(k.room(room.id))
            .key(k.messages(room.id))
            .key(k.client_ids(room.id))
            .key(k.counts(room.id))
            .key(k.rooms_in(room.status))
            .key(k.rooms_by_created())
            .key(customer_key.clone().unwrap_or_else(|| k.room(room.id)))
            .key(k.daily(room.created_at.date()))
            .key(k.queue())
            .key(
                room.agent
                    .map_or_else(|| k.room(room.id), |a| k.agent_rooms(a)),
            );
        for message in &messages {
            invocation.key(k.daily(message.created_at.date()));
        }
        // The indexes of a room created already waiting or assigned (the trait allows it).
        let queued = match (room.status, room.escalated_at) {
            (RoomStatus::WaitingForAgent, Some(at)) => at.0.to_string(),
            _ => String::new(),
        };
        invocation
            .arg(encode(&room)?)
            .arg(room.id.to_string())
            .arg(room.created_at.0)
            .arg(if customer_key.is_some() { "1" } else { "" })
            .arg(queued)
            .arg(if room.agent.is_some() { "1" } else { "" });
        for message in &messages {
            invocation
                .arg(encode(message)?)
                .arg(counted_kind(message.sender))
                .arg(
                    message
                        .client_id
                        .as_deref()
                        .map(|c| client_id_field(message.sender, c))
                        .unwrap_or_default(),
                );
        }
        let created: i64 = invocation
            .invoke_async(&mut self.conn())
            .await
            .map_err(map_err)?;
        if created == 0 {
            return Err(Error::AlreadyExists {
                kind: "room",
                key: room.id.to_string(),
            });
        }
        Ok((room, messages))
    }

    async fn get_room(&self, id: RoomId) -> Result<Room> {
        Ok(self.load(id).await?.0)
    }

    async fn list_rooms(&self, query: &RoomQuery) -> Result<Vec<Room>> {
        let k = &self.keys;
        let mut conn = self.conn();
        // Candidates from the most selective index; the exact filter runs on the rooms themselves.
        let ids: Vec<String> = if let Some(customer) = &query.customer {
            conn.smembers(k.customer_rooms(customer))
                .await
                .map_err(map_err)?
        } else if let Some(agent) = query.agent {
            conn.smembers(k.agent_rooms(agent)).await.map_err(map_err)?
        } else if !query.statuses.is_empty() {
            let keys: Vec<String> = query.statuses.iter().map(|s| k.rooms_in(*s)).collect();
            conn.sunion(keys).await.map_err(map_err)?
        } else {
            conn.zrange(k.rooms_by_created(), 0, -1)
                .await
                .map_err(map_err)?
        };
        let mut rooms: Vec<Room> = self
            .rooms_by_ids(&ids)
            .await?
            .into_iter()
            .filter(|room| query.matches(room))
            .collect();
        query.sort(&mut rooms);
        Ok(rooms
            .into_iter()
            .skip(query.offset)
            .take(query.effective_limit())
            .collect())
    }

    async fn queue_position(&self, id: RoomId) -> Result<Option<u64>> {
        let room = self.get_room(id).await?;
        if room.status != RoomStatus::WaitingForAgent {
            return Ok(None);
        }
        let rank: Option<u64> = self
            .conn()
            .zrank(self.keys.queue(), id.to_string())
            .await
            .map_err(map_err)?;
        Ok(rank.map(|r| r + 1))
    }

    async fn transition(&self, id: RoomId, transition: Transition) -> Result<(Room, Message)> {
        self.record(id, |room| transition.apply(room)).await
    }

    async fn rate_room(
        &self,
        id: RoomId,
        rating: Rating,
        at: Timestamp,
    ) -> Result<(Room, Message)> {
        self.record(id, |room| apply_rating(room, rating, at)).await
    }

    async fn set_room_context(
        &self,
        id: RoomId,
        language: Option<String>,
        context: BTreeMap<String, String>,
    ) -> Result<Room> {
        match self
            .update_room(id, |room| {
                room.language = language.clone();
                room.context = context.clone();
                Ok(None)
            })
            .await?
        {
            CasOutcome::Saved(room, _) => Ok(room),
            CasOutcome::Duplicate(..) => Err(internal("context change reported a resend")),
        }
    }

    async fn append_message(&self, message: NewMessage) -> Result<Appended> {
        let id = message.room_id;
        let outcome = self
            .update_room(id, |room| {
                apply_append(room, &message)?;
                Ok(Some(message.clone()))
            })
            .await;
        match outcome {
            Ok(CasOutcome::Saved(room, Some(message))) => Ok(Appended::new(message, room, false)),
            Ok(CasOutcome::Duplicate(room, earlier)) => Ok(Appended::new(earlier, room, true)),
            Ok(CasOutcome::Saved(_, None)) => Err(internal("append stored no message")),
            // A resend to a room that closed since is still a resend: answer with the original.
            Err(e @ (Error::RoomClosed(_) | Error::Conflict { .. })) => {
                let Some(client_id) = &message.client_id else {
                    return Err(e);
                };
                let field = client_id_field(message.sender, client_id);
                let seq: Option<u64> = self
                    .conn()
                    .hget(self.keys.client_ids(id), field)
                    .await
                    .map_err(map_err)?;
                match seq {
                    Some(seq) => {
                        let earlier = self.message_at(id, seq).await?;
                        Ok(Appended::new(earlier, self.get_room(id).await?, true))
                    }
                    None => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    }

    async fn messages_after(
        &self,
        room: RoomId,
        after_seq: u64,
        limit: usize,
    ) -> Result<Vec<Message>> {
        let limit = effective_message_limit(limit);
        let key = self.keys.messages(room);
        let jsons: Vec<String> = if limit == 0 || after_seq >= isize::MAX as u64 {
            Vec::new()
        } else {
            let start = after_seq as isize;
            self.conn()
                .lrange(&key, start, start.saturating_add(limit as isize - 1))
                .await
                .map_err(map_err)?
        };
        if jsons.is_empty() {
            // Tell an empty page of a real room from an unknown room.
            let exists: bool = self
                .conn()
                .exists(self.keys.room(room))
                .await
                .map_err(map_err)?;
            if !exists {
                return Err(Error::room_not_found(room));
            }
        }
        jsons.iter().map(|json| decode(&key, json)).collect()
    }

    async fn rules(&self) -> Result<RuleSet> {
        let (version, fields): (String, Vec<(String, String)>) = self
            .scripts
            .read_rules
            .key(self.keys.rules_version())
            .key(self.keys.rules())
            .invoke_async(&mut self.conn())
            .await
            .map_err(map_err)?;
        rule_set(&version, fields)
    }

    async fn rules_version(&self) -> Result<u64> {
        let version: Option<u64> = self
            .conn()
            .get(self.keys.rules_version())
            .await
            .map_err(map_err)?;
        Ok(version.unwrap_or(0))
    }

    async fn create_rule(&self, rule: NewRule) -> Result<BotRule> {
        let id: u64 = self
            .scripts
            .create_rule
            .key(self.keys.rules())
            .key(self.keys.rule_ids())
            .key(self.keys.rules_version())
            .arg(encode(&rule)?)
            .invoke_async(&mut self.conn())
            .await
            .map_err(map_err)?;
        Ok(rule.into_rule(RuleId(id)))
    }

    async fn update_rule(&self, id: RuleId, rule: NewRule) -> Result<BotRule> {
        let updated: i64 = self
            .scripts
            .update_rule
            .key(self.keys.rules())
            .key(self.keys.rule_ids())
            .key(self.keys.rules_version())
            .arg(id.0)
            .arg(encode(&rule)?)
            .invoke_async(&mut self.conn())
            .await
            .map_err(map_err)?;
        if updated == 0 {
            return Err(rule_not_found(id));
        }
        Ok(rule.into_rule(id))
    }

    async fn delete_rule(&self, id: RuleId) -> Result<()> {
        let deleted: i64 = self
            .scripts
            .delete_rule
            .key(self.keys.rules())
            .key(self.keys.rule_ids())
            .key(self.keys.rules_version())
            .arg(id.0)
            .invoke_async(&mut self.conn())
            .await
            .map_err(map_err)?;
        if deleted == 0 {
            return Err(rule_not_found(id));
        }
        Ok(())
    }

    async fn replace_rules(&self, rules: Vec<NewRule>) -> Result<RuleSet> {
        let mut invocation = self.scripts.replace_rules.prepare_invoke();
        invocation
            .key(self.keys.rules())
            .key(self.keys.rule_ids())
            .key(self.keys.rules_version());
        for rule in &rules {
            invocation.arg(encode(rule)?);
        }
        let (version, ids): (u64, Vec<u64>) = invocation
            .invoke_async(&mut self.conn())
            .await
            .map_err(map_err)?;
        Ok(RuleSet {
            version,
            rules: rules
                .into_iter()
                .zip(ids)
                .map(|(rule, id)| rule.into_rule(RuleId(id)))
                .collect(),
        })
    }

    async fn create_agent(&self, agent: NewAgent, at: Timestamp) -> Result<Agent> {
        let username = agent.username.clone();
        let stored = StoredAgent::new(agent, at);
        let id: u64 = self
            .scripts
            .create_agent
            .key(self.keys.agents())
            .key(self.keys.agent_names())
            .key(self.keys.agent_ids())
            .arg(&username)
            .arg(encode(&stored)?)
            .invoke_async(&mut self.conn())
            .await
            .map_err(map_err)?;
        if id == 0 {
            return Err(Error::AlreadyExists {
                kind: "agent",
                key: username,
            });
        }
        Ok(stored.into_agent(AgentId(id)))
    }

    async fn get_agent(&self, id: AgentId) -> Result<Agent> {
        let json: Option<String> = self
            .conn()
            .hget(self.keys.agents(), id.0)
            .await
            .map_err(map_err)?;
        match json {
            Some(json) => Ok(decode::<StoredAgent>(&self.keys.agents(), &json)?.into_agent(id)),
            None => Err(agent_not_found(id)),
        }
    }

    async fn find_agent(&self, username: &str) -> Result<Option<Agent>> {
        let id: Option<u64> = self
            .conn()
            .hget(self.keys.agent_names(), username)
            .await
            .map_err(map_err)?;
        match id {
            Some(id) => match self.get_agent(AgentId(id)).await {
                Ok(agent) => Ok(Some(agent)),
                // Renamed or removed between the two reads.
                Err(Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(e),
            },
            None => Ok(None),
        }
    }

    async fn list_agents(&self) -> Result<Vec<Agent>> {
        let all: HashMap<String, String> = self
            .conn()
            .hgetall(self.keys.agents())
            .await
            .map_err(map_err)?;
        let mut agents = Vec::with_capacity(all.len());
        for (id, json) in all {
            let id: u64 = id.parse().map_err(|_| RedisError::Corrupt {
                key: self.keys.agents(),
                reason: format!("agent id {id:?}"),
            })?;
            agents.push(decode::<StoredAgent>(&self.keys.agents(), &json)?.into_agent(AgentId(id)));
        }
        agents.sort_by_key(|a| a.id);
        Ok(agents)
    }

    async fn update_agent(&self, id: AgentId, agent: NewAgent) -> Result<Agent> {
        let existing = self.get_agent(id).await?;
        let username = agent.username.clone();
        let stored = StoredAgent::new(agent, existing.created_at);
        let updated: i64 = self
            .scripts
            .update_agent
            .key(self.keys.agents())
            .key(self.keys.agent_names())
            .arg(id.0)
            .arg(&username)
            .arg(encode(&stored)?)
            .invoke_async(&mut self.conn())
            .await
            .map_err(map_err)?;
        match updated {
            1 => Ok(stored.into_agent(id)),
            0 => Err(Error::AlreadyExists {
                kind: "agent",
                key: username,
            }),
            _ => Err(agent_not_found(id)),
        }
    }

    async fn analytics(&self, window: &AnalyticsWindow) -> Result<AnalyticsCounts> {
        let k = &self.keys;
        let ids: Vec<String> = redis::cmd("ZRANGE")
            .arg(k.rooms_by_created())
            .arg(window.from.0)
            .arg(format!("({}", window.to.0))
            .arg("BYSCORE")
            .query_async(&mut self.conn())
            .await
            .map_err(map_err)?;
        let rooms = self.rooms_by_ids(&ids).await?;
        let mut pipe = redis::pipe();
        for room in &rooms {
            pipe.hgetall(k.counts(room.id));
        }
        let per_room: Vec<HashMap<String, u64>> = if rooms.is_empty() {
            Vec::new()
        } else {
            pipe.query_async(&mut self.conn()).await.map_err(map_err)?
        };
        let mut counts = AnalyticsCounts::default();
        for (room, messages) in rooms.iter().zip(per_room) {
            counts.add_room(room);
            counts.visitor_messages += messages.get("visitor").copied().unwrap_or(0);
            counts.bot_messages += messages.get("bot").copied().unwrap_or(0);
            counts.agent_messages += messages.get("agent").copied().unwrap_or(0);
        }
        let days = window.daily_days();
        let mut pipe = redis::pipe();
        for day in &days {
            pipe.cmd("HMGET")
                .arg(k.daily(*day))
                .arg("rooms")
                .arg("messages");
        }
        let daily: Vec<(Option<u64>, Option<u64>)> =
            pipe.query_async(&mut self.conn()).await.map_err(map_err)?;
        counts.daily = days
            .into_iter()
            .zip(daily)
            .map(|(date, (rooms, messages))| DailyActivity {
                date,
                rooms: rooms.unwrap_or(0),
                messages: messages.unwrap_or(0),
            })
            .collect();
        Ok(counts)
    }
}

fn internal(what: &str) -> Error {
    Error::Backend {
        backend: "redis",
        source: what.to_owned().into(),
    }
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
