//! What-if replay: what a proposed rule set would have answered to real visitor messages.
//!
//! Replaying takes transcripts (from the store with [`crate::ChatService::transcripts`], or a JSONL
//! file with [`Transcript::from_jsonl`]) and two rule sets, the current rules and the proposed ones,
//! and reports per intent how many visitor messages would change intent, which ones, and what that
//! does to the bot's resolution: fallbacks and escalations avoided or added.
//!
//! Each conversation is replayed message by message through the very decision the service makes
//! (`chatcore::bot`): the keyword match, the car class and dates the visitor named (read relative to
//! the day each message was sent), the room's language and remembered context, follow-up questions
//! and the replies to them, fallbacks in a row and escalations. Only the catalog is not called: what
//! it would answer does not change what the bot decides.
//!
//! Replay is exact and deterministic: replaying a stored transcript with the rules it was answered
//! with reproduces every stored explanation — matches, fallbacks, follow-up questions and replies to
//! them. [`ReplayReport::stored_mismatches`] counts the messages where it does not (the rules, or the
//! catalog setting, changed since). Each room starts without a language (a room whose language came
//! from the visitor's browser may pick another language's rule of the same intent; with the default
//! rules every language decides alike).
//!
//! Only visitor messages the bot answered are replayed: a message written while an agent had the
//! room never reached the bot. When a proposed rule set escalates a room earlier, its later messages
//! are counted as reaching an agent ([`ReplayReport::to_agent_after`]).

use std::collections::BTreeMap;
use std::io::BufRead;

use serde::{Deserialize, Serialize};

use crate::bot::{decide, RuleBook, Setting};
use crate::entities::EntityExtractor;
use crate::{BotExplanation, Error, Intent, Match, Message, Result, RuleId, Sender, Timestamp};

/// The longest JSONL line accepted, in bytes: a message is at most a few KiB.
const MAX_LINE_BYTES: usize = 64 * 1024;

/// One conversation's visitor messages as the bot saw them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transcript {
    /// The room (or any label a JSONL file gives it).
    pub room: String,
    /// Visitor messages the bot answered, in order.
    pub messages: Vec<ReplayMessage>,
}

/// A visitor message and, when known, what the bot made of it at the time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplayMessage {
    /// The message's seq in its room, when it came from a store.
    pub seq: Option<u64>,
    /// When it was sent, when known: dates like "tomorrow" are read relative to it.
    pub at: Option<Timestamp>,
    /// What the visitor wrote.
    pub text: String,
    /// The stored explanation of the bot's reply, when known.
    pub stored: Option<BotExplanation>,
}

/// One line of a JSONL transcript file: a stored [`Message`] (as `reference-server rooms export`
/// and the JSON API write them) or just `{"room": "...", "text": "..."}` for a visitor message.
#[derive(Deserialize)]
#[serde(untagged)]
enum JsonlLine {
    Stored(Box<Message>),
    Plain { room: String, text: String },
}

impl Transcript {
    /// A transcript of a room's stored messages: each visitor message with the bot's reply to it.
    /// Messages the bot did not answer (an agent had the room) are left out.
    pub fn from_messages(room: impl Into<String>, messages: &[Message]) -> Self {
        let mut replayed = Vec::new();
        for (index, message) in messages.iter().enumerate() {
            if message.sender != Sender::Visitor {
                continue;
            }
            // The bot's answer is the next bot message before the visitor writes again.
            let answer = messages[index + 1..]
                .iter()
                .take_while(|m| m.sender != Sender::Visitor)
                .find_map(|m| match (&m.sender, &m.explanation) {
                    (Sender::Bot, Some(explanation)) if explanation.is_answer() => {
                        Some(explanation.clone())
                    }
                    _ => None,
                });
            if let Some(answer) = answer {
                replayed.push(ReplayMessage {
                    seq: Some(message.seq),
                    at: Some(message.created_at),
                    text: message.text.clone(),
                    stored: Some(answer),
                });
            }
        }
        Transcript {
            room: room.into(),
            messages: replayed,
        }
    }

    /// Transcripts from JSONL: one JSON object per line, either a stored message or
    /// `{"room": "...", "text": "..."}`. Stored messages are grouped by room and ordered by seq;
    /// plain lines keep their order. Blank lines are skipped; the error names the first bad line.
    pub fn from_jsonl(reader: impl BufRead) -> Result<Vec<Transcript>> {
        let mut stored: BTreeMap<String, Vec<Message>> = BTreeMap::new();
        let mut plain: BTreeMap<String, Vec<ReplayMessage>> = BTreeMap::new();
        let mut order: Vec<String> = Vec::new();
        for (index, line) in reader.lines().enumerate() {
            let number = index + 1;
            let line = line.map_err(|e| {
                Error::InvalidRequest(format!("transcripts line {number}: cannot read it: {e}"))
            })?;
            if line.trim().is_empty() {
                continue;
            }
            if line.len() > MAX_LINE_BYTES {
                return Err(Error::InvalidRequest(format!(
                    "transcripts line {number} is longer than {MAX_LINE_BYTES} bytes"
                )));
            }
            let parsed: JsonlLine = serde_json::from_str(&line).map_err(|e| {
                // Say what is wrong with the line, not which variants serde tried.
                let why = match serde_json::from_str::<serde_json::Value>(&line) {
                    Err(_) => format!("it is not JSON ({e})"),
                    Ok(value) if !value.is_object() => "it is not a JSON object".to_owned(),
                    Ok(_) => "it has neither \"room\" and \"text\" strings nor the fields of a \
                              stored message"
                        .to_owned(),
                };
                Error::InvalidRequest(format!(
                    "transcripts line {number}: {why}; write {{\"room\": \"…\", \"text\": \"…\"}} \
                     or a message as the API returns it"
                ))
            })?;
            let room = match &parsed {
                JsonlLine::Stored(message) => message.room_id.to_string(),
                JsonlLine::Plain { room, .. } => room.clone(),
            };
            if !stored.contains_key(&room) && !plain.contains_key(&room) {
                order.push(room.clone());
            }
            match parsed {
                JsonlLine::Stored(message) => stored.entry(room).or_default().push(*message),
                JsonlLine::Plain { room, text } => {
                    plain.entry(room).or_default().push(ReplayMessage {
                        seq: None,
                        at: None,
                        text,
                        stored: None,
                    })
                }
            }
        }
        Ok(order
            .into_iter()
            .map(|room| {
                let mut transcript = match stored.remove(&room) {
                    Some(mut messages) => {
                        messages.sort_by_key(|m| m.seq);
                        messages.dedup_by_key(|m| m.seq);
                        Transcript::from_messages(room.clone(), &messages)
                    }
                    None => Transcript {
                        room: room.clone(),
                        messages: Vec::new(),
                    },
                };
                transcript
                    .messages
                    .extend(plain.remove(&room).unwrap_or_default());
                transcript
            })
            .collect())
    }
}

/// What the bot did (or would do) with a visitor's message, as the report shows it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Answer {
    /// How it answered.
    pub kind: AnswerKind,
    /// The intent served; `None` for a fallback or an agent.
    pub intent: Option<Intent>,
    /// The rule: the keyword's, or for a reply to a follow-up the rule that asked. Its stored id, or
    /// for a proposed rule set given as a list ([`crate::ChatService::what_if`]) its 1-based
    /// position in the list.
    pub rule_id: Option<RuleId>,
    /// The keyword that matched, if one did.
    pub keyword: Option<String>,
    /// The language of the keyword's rule, if one matched.
    pub language: Option<String>,
}

/// How the bot handled a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnswerKind {
    /// A rule's keyword matched and the rule answered.
    Matched,
    /// A rule's keyword matched (or a follow-up answer still left something open) and the bot asked
    /// for the car class or dates.
    FollowUp,
    /// The message answered the bot's follow-up question.
    Resumed,
    /// No rule matched.
    Fallback,
    /// The bot had handed the chat to an agent before this message.
    Agent,
}

impl Answer {
    fn of(explanation: &BotExplanation, found: Option<&Match>) -> Self {
        let kind = match explanation {
            BotExplanation::Matched(_) => AnswerKind::Matched,
            BotExplanation::FollowUp(_) => AnswerKind::FollowUp,
            BotExplanation::Resumed(_) => AnswerKind::Resumed,
            _ => AnswerKind::Fallback,
        };
        let rule_id = match explanation {
            BotExplanation::Matched(m) => Some(m.rule_id),
            BotExplanation::FollowUp(f) => Some(f.rule_id),
            BotExplanation::Resumed(r) => Some(r.rule_id),
            _ => None,
        };
        Answer {
            kind,
            intent: explanation.intent().cloned(),
            rule_id,
            keyword: found.map(|m| m.keyword.clone()),
            language: found.map(|m| m.language.clone()),
        }
    }

    fn agent() -> Self {
        Answer {
            kind: AnswerKind::Agent,
            intent: None,
            rule_id: None,
            keyword: None,
            language: None,
        }
    }

    /// Whether two answers are the same for a visitor: rule ids aside, which differ between a stored
    /// rule set and a list of proposed rules.
    fn same_as(&self, other: &Answer) -> bool {
        (self.kind, &self.intent, &self.keyword, &self.language)
            == (other.kind, &other.intent, &other.keyword, &other.language)
    }
}

impl PartialEq for Answer {
    fn eq(&self, other: &Self) -> bool {
        self.same_as(other) && self.rule_id == other.rule_id
    }
}

impl Eq for Answer {}

impl std::fmt::Display for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let intent = self.intent.as_ref().map_or("", Intent::as_str);
        let rule = self
            .rule_id
            .map(|id| format!("rule {id}"))
            .unwrap_or_default();
        let keyword = self
            .keyword
            .as_ref()
            .map(|k| format!(", \"{k}\""))
            .unwrap_or_default();
        match self.kind {
            AnswerKind::Matched => write!(f, "{intent} ({rule}{keyword})"),
            AnswerKind::FollowUp => {
                write!(f, "{intent}, asking a follow-up question ({rule}{keyword})")
            }
            AnswerKind::Resumed => write!(f, "{intent}, answering the follow-up ({rule})"),
            AnswerKind::Fallback => f.write_str("(fallback)"),
            AnswerKind::Agent => f.write_str("(with an agent)"),
        }
    }
}

/// A visitor message the proposed rules answer differently: another kind of answer, intent,
/// keyword or language, or the same answer in new words.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangedMessage {
    /// Its room.
    pub room: String,
    /// Its seq, when known.
    pub seq: Option<u64>,
    /// What the visitor wrote.
    pub text: String,
    /// The current rules' answer.
    pub before: Answer,
    /// The proposed rules' answer.
    pub after: Answer,
    /// The same answer in new words: the rule's response or catalog response was edited.
    pub reworded: bool,
}

impl ChangedMessage {
    /// Whether the intent changed (not only the rule, keyword or kind of answer within one intent).
    pub fn intent_changed(&self) -> bool {
        self.before.intent != self.after.intent
    }
}

/// How one intent fares under the proposed rules. `intent: None` is the fallback.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntentChange {
    /// The intent; `None` for messages no rule matches.
    pub intent: Option<Intent>,
    /// Messages the current rules give this intent.
    pub before: usize,
    /// Messages the proposed rules give it.
    pub after: usize,
    /// Messages it takes from other intents (or from an agent).
    pub gained: usize,
    /// Messages it loses to other intents (or to an agent).
    pub lost: usize,
}

/// What a proposed rule set would change.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ReplayReport {
    /// Conversations replayed.
    pub rooms: usize,
    /// Visitor messages replayed.
    pub messages: usize,
    /// Per intent (and the fallback), only those with messages before or after, by intent name.
    pub intents: Vec<IntentChange>,
    /// Messages answered differently, in transcript order.
    pub changed: Vec<ChangedMessage>,
    /// Messages the current rules answer with the fallback.
    pub fallbacks_before: usize,
    /// Messages the proposed rules answer with the fallback.
    pub fallbacks_after: usize,
    /// Rooms the current rules' bot hands to an agent (escalation intent or repeated fallbacks).
    pub escalations_before: usize,
    /// Rooms the proposed rules' bot hands to an agent.
    pub escalations_after: usize,
    /// Messages that reach an agent instead of the bot, because the bot escalated earlier in the
    /// room, with the current rules.
    pub to_agent_before: usize,
    /// The same with the proposed rules.
    pub to_agent_after: usize,
    /// Messages whose stored explanation the current rules do not reproduce (rules changed since
    /// they were answered).
    pub stored_mismatches: usize,
}

impl ReplayReport {
    /// Messages whose intent changes.
    pub fn intent_changes(&self) -> usize {
        self.changed.iter().filter(|c| c.intent_changed()).count()
    }
}

/// How the bot is set up: the settings the service answers with, which the replay needs to decide
/// the same way.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ReplaySettings {
    /// [`crate::ChatConfig::fallbacks_before_escalation`].
    pub fallbacks_before_escalation: u32,
    /// Whether a catalog answers catalog responses (follow-up questions happen only then).
    pub catalog: bool,
    /// [`crate::ChatConfig::max_rental_days`].
    pub max_rental_days: u32,
    /// [`crate::ChatConfig::utc_offset_minutes`]: which day a message was sent on.
    pub utc_offset_minutes: i32,
    /// The extractor the service uses.
    pub extractor: EntityExtractor,
}

impl ReplaySettings {
    /// The settings of a service with `config`, with or without a catalog, and the default extractor.
    pub fn new(config: &crate::ChatConfig, catalog: bool) -> Self {
        ReplaySettings {
            fallbacks_before_escalation: config.fallbacks_before_escalation,
            catalog,
            max_rental_days: config.max_rental_days,
            utc_offset_minutes: config.utc_offset_minutes,
            extractor: EntityExtractor::new(),
        }
    }
}

/// One side of the replay: a room as the bot of one rule set would have seen it.
#[derive(Default)]
struct Simulated {
    language: Option<String>,
    context: BTreeMap<String, String>,
    fallbacks_in_a_row: u32,
    escalated: bool,
}

impl Simulated {
    /// What the bot of `book` does with the message, and the room afterwards.
    fn answer(
        &mut self,
        book: &RuleBook,
        settings: &ReplaySettings,
        text: &str,
        today: chrono::NaiveDate,
    ) -> (Answer, Option<BotExplanation>, String) {
        if self.escalated {
            return (Answer::agent(), None, String::new());
        }
        let setting = Setting {
            extractor: &settings.extractor,
            catalog: settings.catalog,
            max_rental_days: settings.max_rental_days,
        };
        let decision = decide(
            book,
            setting,
            self.language.as_deref(),
            &self.context,
            text,
            today,
        );
        let mut room = crate::Room::new(
            crate::RoomId::from_bytes([0; 16]),
            crate::Participant::Anonymous,
            crate::Timestamp(0),
        );
        room.language = self.language.take();
        room.context = std::mem::take(&mut self.context);
        decision.patch.apply(&mut room);
        self.language = room.language;
        self.context = room.context;
        if decision.explanation == BotExplanation::Fallback {
            self.fallbacks_in_a_row += 1;
        } else {
            self.fallbacks_in_a_row = 0;
        }
        let threshold = settings.fallbacks_before_escalation;
        let escalates = decision
            .found
            .as_ref()
            .is_some_and(|m| m.intent.is_escalation())
            || (threshold > 0 && self.fallbacks_in_a_row >= threshold);
        self.escalated |= escalates;
        let source = decision.reply_source();
        (
            Answer::of(&decision.explanation, decision.found.as_ref()),
            Some(decision.explanation),
            source,
        )
    }
}

/// Replays `transcripts` with the `current` and `proposed` rules, deciding exactly as the service
/// does ([`crate::ChatService`] and the replay share one decision function). Messages without a
/// time (plain JSONL lines) count as sent at `now`.
pub fn replay(
    current: &RuleBook,
    proposed: &RuleBook,
    transcripts: &[Transcript],
    settings: &ReplaySettings,
    now: Timestamp,
) -> ReplayReport {
    let day = |at: Timestamp| {
        let offset = chrono::Duration::minutes(i64::from(settings.utc_offset_minutes));
        (at.to_datetime() + offset).date_naive()
    };
    let mut report = ReplayReport::default();
    // Per intent: (before, after, gained, lost).
    let mut counts: BTreeMap<Option<Intent>, (usize, usize, usize, usize)> = BTreeMap::new();
    for transcript in transcripts {
        if transcript.messages.is_empty() {
            continue;
        }
        report.rooms += 1;
        let mut before_room = Simulated::default();
        let mut after_room = Simulated::default();
        for message in &transcript.messages {
            report.messages += 1;
            let today = day(message.at.unwrap_or(now));
            let (before, replayed, before_text) =
                before_room.answer(current, settings, &message.text, today);
            let (after, _, after_text) =
                after_room.answer(proposed, settings, &message.text, today);
            if let Some(stored) = &message.stored {
                if replayed.as_ref() != Some(stored) {
                    report.stored_mismatches += 1;
                }
            }
            for (answer, fallbacks, to_agent) in [
                (
                    &before,
                    &mut report.fallbacks_before,
                    &mut report.to_agent_before,
                ),
                (
                    &after,
                    &mut report.fallbacks_after,
                    &mut report.to_agent_after,
                ),
            ] {
                match answer.kind {
                    AnswerKind::Fallback => *fallbacks += 1,
                    AnswerKind::Agent => *to_agent += 1,
                    _ => {}
                }
            }
            let bot =
                |answer: &Answer| (answer.kind != AnswerKind::Agent).then(|| answer.intent.clone());
            if let Some(intent) = bot(&before) {
                counts.entry(intent).or_default().0 += 1;
            }
            if let Some(intent) = bot(&after) {
                counts.entry(intent).or_default().1 += 1;
            }
            if bot(&before) != bot(&after) {
                if let Some(intent) = bot(&after) {
                    counts.entry(intent).or_default().2 += 1;
                }
                if let Some(intent) = bot(&before) {
                    counts.entry(intent).or_default().3 += 1;
                }
            }
            let reworded = before_text != after_text;
            if !before.same_as(&after) || reworded {
                report.changed.push(ChangedMessage {
                    room: transcript.room.clone(),
                    seq: message.seq,
                    text: message.text.clone(),
                    reworded: reworded && before.same_as(&after),
                    before,
                    after,
                });
            }
        }
        report.escalations_before += usize::from(before_room.escalated);
        report.escalations_after += usize::from(after_room.escalated);
    }
    report.intents = counts
        .into_iter()
        .map(|(intent, (before, after, gained, lost))| IntentChange {
            intent,
            before,
            after,
            gained,
            lost,
        })
        .collect();
    report
}

impl std::fmt::Display for ReplayReport {
    /// The report as a reader wants it: the summary, the intents that move, then each message.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = |intent: &Option<Intent>| {
            intent
                .as_ref()
                .map_or_else(|| "(fallback)".to_owned(), ToString::to_string)
        };
        let plural =
            |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        writeln!(
            f,
            "Replayed {} from {}.",
            plural(self.messages, "visitor message", "visitor messages"),
            plural(self.rooms, "chat", "chats")
        )?;
        writeln!(
            f,
            "Messages changing intent: {}; answered otherwise (or in new words) within the same intent: {}.",
            self.intent_changes(),
            self.changed.len() - self.intent_changes()
        )?;
        writeln!(
            f,
            "Fallbacks: {} -> {} ({:+}).",
            self.fallbacks_before,
            self.fallbacks_after,
            self.fallbacks_after as i64 - self.fallbacks_before as i64
        )?;
        writeln!(
            f,
            "Chats the bot escalates: {} -> {} ({:+}).",
            self.escalations_before,
            self.escalations_after,
            self.escalations_after as i64 - self.escalations_before as i64
        )?;
        if self.to_agent_before + self.to_agent_after > 0 {
            writeln!(
                f,
                "Messages reaching an agent because the bot escalated earlier: {} -> {}.",
                self.to_agent_before, self.to_agent_after
            )?;
        }
        if self.stored_mismatches > 0 {
            writeln!(
                f,
                "Note: {} messages were answered by rules that have changed since.",
                self.stored_mismatches
            )?;
        }
        let moving: Vec<&IntentChange> = self
            .intents
            .iter()
            .filter(|i| i.gained > 0 || i.lost > 0)
            .collect();
        if !moving.is_empty() {
            writeln!(f, "\nIntent               before  after  gained  lost")?;
            for change in moving {
                writeln!(
                    f,
                    "{:<20} {:>6} {:>6} {:>7} {:>5}",
                    name(&change.intent),
                    change.before,
                    change.after,
                    change.gained,
                    change.lost
                )?;
            }
        }
        if !self.changed.is_empty() {
            writeln!(f, "\nChanged messages:")?;
            for change in &self.changed {
                let seq = change.seq.map(|s| format!(" #{s}")).unwrap_or_default();
                if change.reworded {
                    writeln!(
                        f,
                        "- [{}{seq}] {:?}: {}, in new words",
                        change.room, change.text, change.after
                    )?;
                } else {
                    writeln!(
                        f,
                        "- [{}{seq}] {:?}: {} -> {}",
                        change.room, change.text, change.before, change.after
                    )?;
                }
            }
        }
        Ok(())
    }
}
