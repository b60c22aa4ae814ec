//! What-if replay: what a proposed rule set would have answered to real visitor messages.
//!
//! Replaying takes transcripts (from the store with [`crate::ChatService::transcripts`], or a JSONL
//! file with [`Transcript::from_jsonl`]) and two matchers, the current rules and the proposed ones,
//! and reports per intent how many visitor messages would change intent, which ones, and what that
//! does to the bot's resolution: fallbacks and escalations avoided or added.
//!
//! Replay is exact and deterministic: the matcher is a pure function of the rules and the text, so
//! replaying a stored transcript with the rules it was answered with reproduces every stored
//! explanation — [`ReplayReport::stored_mismatches`] counts the messages where it does not (the
//! rules changed since).
//!
//! Only visitor messages the bot answered are replayed: a message an agent handled never reached the
//! matcher. Escalations are simulated per room in message order: the escalation intent, or
//! [`crate::ChatConfig::fallbacks_before_escalation`] fallbacks in a row, escalates the room; a
//! follow-up reply that names only a class or dates counts as neither.

use std::collections::BTreeMap;
use std::io::BufRead;

use serde::{Deserialize, Serialize};

use crate::{BotExplanation, BotMatcher, Error, Intent, Match, Message, Result, RuleId, Sender};

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
                Error::InvalidRequest(format!(
                    "transcripts line {number} is neither a stored message nor \
                     {{\"room\": ..., \"text\": ...}}: {e}"
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

/// A rule's answer, as the report shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    /// The rule: its stored id, or for a proposed rule set given as a list
    /// ([`crate::ChatService::what_if`]) its 1-based position in the list.
    pub rule_id: RuleId,
    /// Its intent.
    pub intent: Intent,
    /// The keyword that matched.
    pub keyword: String,
    /// The rule's language.
    pub language: String,
}

impl From<&Match> for Answer {
    fn from(found: &Match) -> Self {
        Answer {
            rule_id: found.rule_id,
            intent: found.intent.clone(),
            keyword: found.keyword.clone(),
            language: found.language.clone(),
        }
    }
}

/// A visitor message the proposed rules answer differently: another intent, language or keyword.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangedMessage {
    /// Its room.
    pub room: String,
    /// Its seq, when known.
    pub seq: Option<u64>,
    /// What the visitor wrote.
    pub text: String,
    /// The current rules' answer; `None` is the fallback.
    pub before: Option<Answer>,
    /// The proposed rules' answer; `None` is the fallback.
    pub after: Option<Answer>,
}

impl ChangedMessage {
    /// Whether the intent changed (not only the rule or keyword within one intent).
    pub fn intent_changed(&self) -> bool {
        self.before.as_ref().map(|a| &a.intent) != self.after.as_ref().map(|a| &a.intent)
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
    /// Messages it takes from other intents.
    pub gained: usize,
    /// Messages it loses to other intents.
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
    /// Messages whose answering rule changes, in transcript order.
    pub changed: Vec<ChangedMessage>,
    /// Messages no current rule matches.
    pub fallbacks_before: usize,
    /// Messages no proposed rule matches.
    pub fallbacks_after: usize,
    /// Rooms the current rules' bot escalates (escalation intent or repeated fallbacks).
    pub escalations_before: usize,
    /// Rooms the proposed rules' bot escalates.
    pub escalations_after: usize,
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

/// Replays `transcripts` with the `current` and `proposed` matchers. `fallbacks_before_escalation`
/// is the service's setting (0: fallbacks never escalate).
pub fn replay(
    current: &dyn BotMatcher,
    proposed: &dyn BotMatcher,
    transcripts: &[Transcript],
    fallbacks_before_escalation: u32,
) -> ReplayReport {
    let mut report = ReplayReport::default();
    // Per intent: (before, after, gained, lost).
    let mut counts: BTreeMap<Option<Intent>, (usize, usize, usize, usize)> = BTreeMap::new();
    for transcript in transcripts {
        if transcript.messages.is_empty() {
            continue;
        }
        report.rooms += 1;
        let mut escalation_before = Escalation::new(fallbacks_before_escalation);
        let mut escalation_after = Escalation::new(fallbacks_before_escalation);
        for message in &transcript.messages {
            report.messages += 1;
            let before = current.match_text(&message.text);
            let after = proposed.match_text(&message.text);
            if let Some(stored) = &message.stored {
                let replayed = before.as_ref().map(Match::explanation);
                if stored.keyword_match() != replayed.as_ref() {
                    report.stored_mismatches += 1;
                }
            }
            // A reply to a follow-up question is neither a fallback nor a match.
            let answers_follow_up = matches!(message.stored, Some(BotExplanation::Resumed(_)));
            escalation_before.see(before.as_ref(), answers_follow_up);
            escalation_after.see(after.as_ref(), answers_follow_up);
            let intent_before = before.as_ref().map(|m| m.intent.clone());
            let intent_after = after.as_ref().map(|m| m.intent.clone());
            counts.entry(intent_before.clone()).or_default().0 += 1;
            counts.entry(intent_after.clone()).or_default().1 += 1;
            if intent_before != intent_after {
                counts.entry(intent_after.clone()).or_default().2 += 1;
                counts.entry(intent_before.clone()).or_default().3 += 1;
            }
            if before.is_none() {
                report.fallbacks_before += 1;
            }
            if after.is_none() {
                report.fallbacks_after += 1;
            }
            // Rule ids of a proposed set need not be the stored ones (a rules file has none), so an
            // answer is the same when its intent, language and keyword are.
            let answer = |m: &Option<Match>| {
                m.as_ref()
                    .map(|m| (m.intent.clone(), m.language.clone(), m.keyword.clone()))
            };
            if answer(&before) != answer(&after) {
                report.changed.push(ChangedMessage {
                    room: transcript.room.clone(),
                    seq: message.seq,
                    text: message.text.clone(),
                    before: before.as_ref().map(Answer::from),
                    after: after.as_ref().map(Answer::from),
                });
            }
        }
        report.escalations_before += usize::from(escalation_before.escalated);
        report.escalations_after += usize::from(escalation_after.escalated);
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

/// Whether a room's bot would have escalated, message by message.
struct Escalation {
    threshold: u32,
    streak: u32,
    escalated: bool,
}

impl Escalation {
    fn new(threshold: u32) -> Self {
        Escalation {
            threshold,
            streak: 0,
            escalated: false,
        }
    }

    fn see(&mut self, found: Option<&Match>, answers_follow_up: bool) {
        match found {
            Some(found) if found.intent.is_escalation() => self.escalated = true,
            Some(_) => self.streak = 0,
            None if answers_follow_up => self.streak = 0,
            None => {
                self.streak += 1;
                if self.threshold > 0 && self.streak >= self.threshold {
                    self.escalated = true;
                }
            }
        }
    }
}

impl std::fmt::Display for ReplayReport {
    /// The report as a reader wants it: the summary, the intents that move, then each message.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = |intent: &Option<Intent>| {
            intent
                .as_ref()
                .map_or_else(|| "(fallback)".to_owned(), ToString::to_string)
        };
        writeln!(
            f,
            "Replayed {} visitor messages from {} chats.",
            self.messages, self.rooms
        )?;
        writeln!(
            f,
            "Messages changing intent: {}; answered by another rule of the same intent: {}.",
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
            let answer = |a: &Option<Answer>| match a {
                Some(a) => format!("{} (rule {}, \"{}\")", a.intent, a.rule_id, a.keyword),
                None => "(fallback)".to_owned(),
            };
            for change in &self.changed {
                let seq = change.seq.map(|s| format!(" #{s}")).unwrap_or_default();
                writeln!(
                    f,
                    "- [{}{seq}] {:?}: {} -> {}",
                    change.room,
                    change.text,
                    answer(&change.before),
                    answer(&change.after)
                )?;
            }
        }
        Ok(())
    }
}
