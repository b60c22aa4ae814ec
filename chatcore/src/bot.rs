//! What the bot decides for a visitor's message, before it calls any catalog: which rule answers, in
//! which language, what it asks for, and what the room remembers afterwards.
//!
//! The decision is a pure function of the rules, the room's language and context, the message and the
//! day. The service ([`crate::ChatService`]) renders it (texts, catalog calls); what-if replay
//! ([`mod@crate::replay`]) runs the same function over old conversations, which is why replaying with the
//! rules a message was answered with reproduces its stored explanation exactly.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use chrono::NaiveDate;

use crate::catalog::Template;
use crate::entities::{primary_language, DateRange, EntityExtractor, VehicleClass};
use crate::matcher::{BotMatcher, Match, MatcherFactory};
use crate::{
    BotExplanation, BotRule, ContextPatch, EntityKind, FollowUpExplanation, Intent, Result,
    ResumedExplanation, RuleId, RuleSet,
};

/// Keys of [`crate::Room::context`] the bot reads and writes.
pub mod context_key {
    /// The vehicle class the visitor named last (a [`crate::VehicleClass`] name).
    pub const VEHICLE_CLASS: &str = "vehicle_class";
    /// The dates the visitor named last, `start/end` in ISO form.
    pub const DATES: &str = "dates";
    /// The pick-up location; set by the host ([`crate::ChatService::set_room_context`]), passed to
    /// the catalog.
    pub const LOCATION: &str = "location";
    /// The rule answering from the catalog that the conversation is about: a follow-up question
    /// waits for its answer, and a message naming only a class or dates ("and a convertible?")
    /// asks it again.
    pub const TOPIC_RULE: &str = "topic_rule";
    /// What the bot's last reply asked for (`vehicle_class` or `dates`), while it waits.
    pub const ASKED: &str = "asked";
}

/// The active rules of one rule version and the matcher built from them.
pub struct RuleBook {
    version: u64,
    matcher: Arc<dyn BotMatcher>,
    /// The active rules: where a reply in the room's language is looked up.
    rules: Vec<BotRule>,
}

impl fmt::Debug for RuleBook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RuleBook")
            .field("version", &self.version)
            .field("rules", &self.rules.len())
            .finish()
    }
}

impl RuleBook {
    /// Builds the matcher for `set` with `factory`.
    pub fn new(factory: &dyn MatcherFactory, set: &RuleSet) -> Result<Self> {
        Ok(RuleBook {
            version: set.version,
            matcher: factory.build(set)?,
            rules: set
                .rules
                .iter()
                .filter(|rule| rule.active)
                .cloned()
                .collect(),
        })
    }

    /// The rule version it was built from.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The matcher.
    pub fn matcher(&self) -> &Arc<dyn BotMatcher> {
        &self.matcher
    }

    fn rule(&self, id: RuleId) -> Option<&BotRule> {
        self.rules.iter().find(|rule| rule.id == id)
    }

    /// The rule of `like`'s intent in `language`: the one of the same priority (the translation of
    /// `like` in the default rules), else the highest priority, then the lowest id.
    fn in_language(&self, like: &BotRule, language: &str) -> Option<&BotRule> {
        self.rules
            .iter()
            .filter(|r| r.intent == like.intent && same_language(&r.language, language))
            .min_by_key(|r| {
                (
                    r.priority != like.priority,
                    std::cmp::Reverse(r.priority),
                    r.id,
                )
            })
    }
}

/// Whether two language tags have the same primary language, ignoring case (`es-MX` and `ES`).
pub(crate) fn same_language(a: &str, b: &str) -> bool {
    primary_language(a).eq_ignore_ascii_case(primary_language(b))
}

/// Why the bot asks for the dates again although the visitor named some.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DatesRefused {
    /// The rental would start before today.
    Past,
    /// Longer than the bot quotes.
    TooLong,
}

/// What the bot sends, before rendering.
#[derive(Debug)]
pub(crate) enum Action<'a> {
    /// The fallback text.
    Fallback,
    /// The rule's static response (or, from a custom matcher whose rule the store lacks, its match's).
    Static(Option<&'a BotRule>),
    /// The rule's catalog response, filled from the catalog.
    Catalog {
        rule: &'a BotRule,
        template: Template,
        class: Option<VehicleClass>,
        dates: Option<DateRange>,
    },
    /// A follow-up question.
    Ask {
        asked: EntityKind,
        refused: Option<DatesRefused>,
    },
}

/// The bot's decision for one message.
#[derive(Debug)]
pub(crate) struct Decision<'a> {
    pub(crate) found: Option<Match>,
    pub(crate) explanation: BotExplanation,
    pub(crate) action: Action<'a>,
    /// The room's language afterwards.
    pub(crate) language: Option<String>,
    pub(crate) patch: ContextPatch,
}

/// What the decision needs to know beyond the rules and the room.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Setting<'a> {
    pub(crate) extractor: &'a EntityExtractor,
    /// Whether a catalog answers catalog responses.
    pub(crate) catalog: bool,
    pub(crate) max_rental_days: u32,
}

/// Decides the bot's answer to `text`, sent on `today`, in a room with this language and context.
pub(crate) fn decide<'a>(
    book: &'a RuleBook,
    setting: Setting<'_>,
    room_language: Option<&str>,
    context: &BTreeMap<String, String>,
    text: &str,
    today: NaiveDate,
) -> Decision<'a> {
    let mut decision = decide_all(book, setting, room_language, context, text, today);
    // Only what changes: a turn that repeats what the room knows writes no context at all.
    let patch = &mut decision.patch;
    patch
        .set
        .retain(|key, value| context.get(key) != Some(&*value));
    patch.remove.retain(|key| context.contains_key(key));
    patch.remove.dedup();
    decision
}

fn decide_all<'a>(
    book: &'a RuleBook,
    setting: Setting<'_>,
    room_language: Option<&str>,
    context: &BTreeMap<String, String>,
    text: &str,
    today: NaiveDate,
) -> Decision<'a> {
    let found = book.matcher.match_text(text);
    let entities = setting.extractor.extract(text, today);
    let mut patch = ContextPatch::default();
    let mut class = context
        .get(context_key::VEHICLE_CLASS)
        .and_then(|class| VehicleClass::new(class.as_str()).ok());
    if let Some(named) = &entities.vehicle_class {
        patch
            .set
            .insert(context_key::VEHICLE_CLASS.into(), named.value.to_string());
        class = Some(named.value.clone());
    }
    let mut dates = context
        .get(context_key::DATES)
        .and_then(|d| parse_stored_dates(d));
    let mut refused = None;
    // "for 10 days" alone changes the length of the dates named earlier.
    let named_dates = entities
        .dates
        .as_ref()
        .map(|found| found.value)
        .or_else(|| {
            let days = entities.duration_days.as_ref()?.value;
            DateRange::for_days(dates?.start, days)
        });
    if let Some(named) = named_dates {
        if named.start < today {
            refused = Some(DatesRefused::Past);
        } else if named.days() > setting.max_rental_days {
            refused = Some(DatesRefused::TooLong);
        } else {
            patch.set.insert(
                context_key::DATES.into(),
                format!("{}/{}", named.start, named.end),
            );
            dates = Some(named);
        }
        if refused.is_some() {
            // Never answer for older dates when the visitor just named others.
            patch.remove.push(context_key::DATES.into());
            dates = None;
        }
    }
    let language = reply_language(book, room_language, found.as_ref());
    if language.as_deref() != room_language {
        patch.language = language.clone();
    }
    let topic = context
        .get(context_key::TOPIC_RULE)
        .and_then(|id| id.parse().ok())
        .and_then(|id| book.rule(RuleId(id)));
    let named_something = entities.vehicle_class.is_some() || named_dates.is_some();
    // A question is answered once: whatever comes next, the bot stops waiting.
    if context.contains_key(context_key::ASKED) {
        patch.remove.push(context_key::ASKED.into());
    }
    // "ok, an SUV please" or "great, this weekend" answer the topic; the politeness does not.
    let small_talk = found
        .as_ref()
        .is_some_and(|m| matches!(m.intent.as_str(), Intent::GREETING | Intent::GOODBYE));
    let found = if small_talk && named_something && topic.is_some() {
        None
    } else {
        found
    };
    let (rule, explanation) = match (&found, topic) {
        (Some(found), _) => (
            book.rule(found.rule_id)
                .map(|rule| localized(book, rule, language.as_deref())),
            BotExplanation::Matched(found.explanation()),
        ),
        (None, Some(topic)) if named_something => (
            Some(localized(book, topic, language.as_deref())),
            BotExplanation::Resumed(ResumedExplanation {
                rule_id: topic.id,
                intent: topic.intent.clone(),
            }),
        ),
        // The visitor replied to the question without the answer ("not sure yet", "the cheapest"):
        // the rule's general answer (e.g. the base rates) instead of asking again, and not a
        // fallback. The topic stays: naming a class or dates later still gets the quote.
        (None, Some(topic)) if context.contains_key(context_key::ASKED) => {
            return Decision {
                found,
                explanation: BotExplanation::Resumed(ResumedExplanation {
                    rule_id: topic.id,
                    intent: topic.intent.clone(),
                }),
                action: Action::Static(Some(localized(book, topic, language.as_deref()))),
                language,
                patch,
            };
        }
        // Not about the topic: it stays for the next message that is.
        (None, _) => {
            return Decision {
                found,
                explanation: BotExplanation::Fallback,
                action: Action::Fallback,
                language,
                patch,
            }
        }
    };
    // The topic is kept under the id the visitor's words chose, so it resumes in whatever language
    // the room speaks by then.
    let topic_id = match &explanation {
        BotExplanation::Matched(m) => m.rule_id,
        BotExplanation::Resumed(r) => r.rule_id,
        _ => unreachable!("a rule answers"),
    };
    let template = rule
        .filter(|_| setting.catalog)
        .and_then(|rule| rule.catalog_response.as_deref())
        .and_then(|template| Template::parse(template).ok());
    // A static answer leaves the topic as it is: "and a convertible?" after the phone number still
    // asks about the price.
    let (Some(rule), Some(template)) = (rule, template) else {
        return Decision {
            found,
            explanation,
            action: Action::Static(rule),
            language,
            patch,
        };
    };
    patch
        .set
        .insert(context_key::TOPIC_RULE.into(), topic_id.to_string());
    let missing = if template.needs_class() && class.is_none() {
        Some(EntityKind::VehicleClass)
    } else if template.needs_dates() && dates.is_none() {
        Some(EntityKind::Dates)
    } else {
        None
    };
    let Some(asked) = missing else {
        return Decision {
            found,
            explanation,
            action: Action::Catalog {
                rule,
                template,
                class,
                dates,
            },
            language,
            patch,
        };
    };
    let matched = match explanation {
        BotExplanation::Matched(m) => Some(m),
        _ => None,
    };
    patch.remove.retain(|key| key != context_key::ASKED);
    let asked_key = match asked {
        EntityKind::VehicleClass => "vehicle_class",
        _ => "dates",
    };
    patch
        .set
        .insert(context_key::ASKED.into(), asked_key.into());
    Decision {
        found,
        explanation: BotExplanation::FollowUp(FollowUpExplanation {
            rule_id: topic_id,
            intent: rule.intent.clone(),
            asked,
            matched,
        }),
        action: Action::Ask {
            asked,
            refused: refused.filter(|_| asked == EntityKind::Dates),
        },
        language,
        patch,
    }
}

impl Decision<'_> {
    /// Which text the reply is made from: two decisions with the same source read the same (for the
    /// same entities), so a rule edit that changes only wording shows up in a replay.
    pub(crate) fn reply_source(&self) -> String {
        match &self.action {
            Action::Fallback => "fallback".into(),
            Action::Static(Some(rule)) => format!("static:{}", rule.response),
            Action::Static(None) => format!(
                "static:{}",
                self.found.as_ref().map_or("", |m| m.response.as_str())
            ),
            Action::Catalog { rule, .. } => format!(
                "catalog:{}",
                rule.catalog_response.as_deref().unwrap_or_default()
            ),
            Action::Ask { asked, refused } => format!("ask:{asked:?}:{refused:?}"),
        }
    }
}

/// The dates stored under [`context_key::DATES`] (`start/end`, ISO), if they read as a rental.
pub fn parse_stored_dates(stored: &str) -> Option<DateRange> {
    let (start, end) = stored.split_once('/')?;
    DateRange::new(start.parse().ok()?, end.parse().ok()?).ok()
}

/// The language to answer in. The visitor's words are the best evidence: a keyword of another
/// language switches the room to it, except
/// - greetings and farewells ("hello", "ok thanks", "ciao"), which people borrow from other
///   languages: they are answered in the room's language;
/// - words the room's language has for the same intent ("taxi", "contact").
///
/// Without a match the room keeps its language.
fn reply_language(book: &RuleBook, room: Option<&str>, found: Option<&Match>) -> Option<String> {
    let Some(found) = found else {
        return room.map(str::to_owned);
    };
    let Some(room) = room else {
        return Some(found.language.clone());
    };
    if same_language(room, &found.language) {
        return Some(room.to_owned());
    }
    let small_talk = matches!(found.intent.as_str(), Intent::GREETING | Intent::GOODBYE);
    let keyword = crate::matcher::normalize(&found.keyword).text;
    let shared = || {
        book.rules.iter().any(|rule| {
            rule.intent == found.intent
                && same_language(&rule.language, room)
                && rule
                    .keywords
                    .iter()
                    .any(|k| crate::matcher::normalize(k).text == keyword)
        })
    };
    let has_intent = || {
        book.rules
            .iter()
            .any(|r| r.intent == found.intent && same_language(&r.language, room))
    };
    let keep = (small_talk && has_intent()) || shared();
    Some(if keep { room } else { &found.language }.to_owned())
}

/// The rule of the same intent in the reply's language, or `rule` itself when there is none.
fn localized<'a>(book: &'a RuleBook, rule: &'a BotRule, language: Option<&str>) -> &'a BotRule {
    match language {
        Some(language) if !same_language(&rule.language, language) => {
            book.in_language(rule, language).unwrap_or(rule)
        }
        _ => rule,
    }
}
