//! The bot's keyword engine: [`BotMatcher`], and [`KeywordMatcher`], its Aho-Corasick implementation.
//!
//! Semantics (docs/MATCHING.md has the long form):
//! - case-insensitive for all of Unicode (both sides case-folded and canonically decomposed), every
//!   run of characters that are not letters, digits or combining marks is one separator;
//! - keywords match whole words only ("hi" never matches "this"); a multi-word keyword matches across
//!   any separator run;
//! - among *all* matches anywhere in the message the rule with the highest priority wins; ties go to
//!   the earliest match, then the longest keyword, then the lowest rule id;
//! - no match: `None`, and the service sends the fallback reply.
//!
//! One automaton holds every keyword of every active rule, so a message costs one pass over its text
//! whatever the number of rules.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use aho_corasick::{AhoCorasick, MatchKind};

use crate::{BotRule, Error, Intent, MatchExplanation, Result, RuleId, RuleSet};

/// Picks the bot's answer for a visitor's message. Pure and synchronous: no I/O, so it can run on the
/// hot path of every message.
pub trait BotMatcher: Send + Sync + fmt::Debug + 'static {
    /// The winning rule for `text`, explained; `None` when nothing matches (the fallback).
    fn match_text(&self, text: &str) -> Option<Match>;
}

/// Builds a [`BotMatcher`] from the store's rules; the service calls it whenever the rule version
/// changes. Implement it to plug in a matcher of your own.
pub trait MatcherFactory: Send + Sync + fmt::Debug + 'static {
    /// A matcher for `rules` (inactive rules included; skip them).
    fn build(&self, rules: &RuleSet) -> Result<Arc<dyn BotMatcher>>;
}

/// The default [`MatcherFactory`]: a [`KeywordMatcher`] over the active rules.
#[derive(Clone, Copy, Debug, Default)]
pub struct KeywordMatcherFactory;

impl MatcherFactory for KeywordMatcherFactory {
    fn build(&self, rules: &RuleSet) -> Result<Arc<dyn BotMatcher>> {
        Ok(Arc::new(KeywordMatcher::new(&rules.rules)?))
    }
}

/// Which rule answered, why, and what it says.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Match {
    /// The winning rule.
    pub rule_id: RuleId,
    /// Its intent.
    pub intent: Intent,
    /// The keyword as written in the rule.
    pub keyword: String,
    /// Byte range of the matched words in the message as given.
    pub span: Range<usize>,
    /// The rule's priority.
    pub priority: i32,
    /// The rule's reply.
    pub response: String,
    /// The rule's language.
    pub language: String,
}

impl Match {
    /// A match of a custom [`BotMatcher`].
    pub fn new(rule: &BotRule, keyword: impl Into<String>, span: Range<usize>) -> Self {
        Match {
            rule_id: rule.id,
            intent: rule.intent.clone(),
            keyword: keyword.into(),
            span,
            priority: rule.priority,
            response: rule.response.clone(),
            language: rule.language.clone(),
        }
    }

    /// What is stored with the bot's message.
    pub fn explanation(&self) -> MatchExplanation {
        MatchExplanation {
            rule_id: self.rule_id,
            intent: self.intent.clone(),
            keyword: self.keyword.clone(),
            span: self.span.clone(),
            priority: self.priority,
        }
    }
}

/// Text in matching form: case-folded, canonically decomposed, each run of separator characters
/// turned into one space, with a space before and after, so that `" hi "` found in it is always a
/// whole word.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Normalized {
    /// The normalised text.
    pub text: String,
    /// For each byte of `text` (and one past its end), the byte offset in the original text where the
    /// character it came from starts; for a separator, where the separator run starts.
    offsets: Vec<u32>,
}

impl Normalized {
    /// Maps a whole-word match `[start, end)` of a padded pattern back to the original text: from the
    /// first character of the first word to the end of the last word.
    fn original_span(&self, start: usize, end: usize) -> Range<usize> {
        // The pattern is " words ": its first byte is a separator, the first word starts right after,
        // and the trailing separator's offset is where the last word ended.
        self.offsets[start + 1] as usize..self.offsets[end - 1] as usize
    }
}

/// Whether a character belongs to a word: letters, digits, and combining marks (accents, vowel signs,
/// viramas), so that a decomposed `é` or the Devanagari `नमस्ते` stay one word.
fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || unicode_normalization::char::is_combining_mark(c)
}

/// Case-folds one word character into `push`: lowercase, canonically decomposed, with the two
/// folds lowercase misses for real words: final sigma (`ς` → `σ`) and sharp s (`ß` → `ss`).
fn fold(c: char, mut push: impl FnMut(char)) {
    for lower in c.to_lowercase() {
        unicode_normalization::char::decompose_canonical(lower, |d| match d {
            'ς' => push('σ'),
            'ß' => {
                push('s');
                push('s');
            }
            other => push(other),
        });
    }
}

/// Puts `text` in matching form (see [`Normalized`]). Keywords and messages go through the same
/// function, so they always agree; applying it twice gives the same text.
pub fn normalize(text: &str) -> Normalized {
    let mut out = String::with_capacity(text.len() + 2);
    let mut offsets = Vec::with_capacity(text.len() + 3);
    out.push(' ');
    offsets.push(0);
    let mut in_separator = true;
    for (index, ch) in text.char_indices() {
        let index = index as u32;
        let word = if ch.is_ascii() {
            if ch.is_ascii_alphanumeric() {
                out.push(ch.to_ascii_lowercase());
                offsets.push(index);
                true
            } else {
                false
            }
        } else if is_word_char(ch) {
            fold(ch, |folded| {
                out.push(folded);
                offsets.extend(std::iter::repeat_n(index, folded.len_utf8()));
            });
            true
        } else {
            false
        };
        if word {
            in_separator = false;
        } else if !in_separator {
            out.push(' ');
            offsets.push(index);
            in_separator = true;
        }
    }
    if !in_separator {
        out.push(' ');
        offsets.push(text.len() as u32);
    }
    offsets.push(text.len() as u32);
    Normalized { text: out, offsets }
}

/// The Aho-Corasick keyword engine. Cheap to clone (an `Arc` inside) and immutable: rule edits build
/// a new matcher, which the service swaps in atomically.
#[derive(Clone)]
pub struct KeywordMatcher {
    inner: Arc<Inner>,
}

struct Inner {
    automaton: Option<AhoCorasick>,
    /// Per automaton pattern: the rule that owns it (highest priority, then lowest id, among the rules
    /// sharing this normalised keyword) and which of its keywords it is.
    owners: Vec<PatternOwner>,
    rules: Vec<BotRule>,
    keyword_count: usize,
}

#[derive(Clone, Copy)]
struct PatternOwner {
    rule: usize,
    keyword: usize,
}

impl fmt::Debug for KeywordMatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeywordMatcher")
            .field("rules", &self.inner.rules.len())
            .field("keywords", &self.inner.keyword_count)
            .field("patterns", &self.inner.owners.len())
            .field(
                "heap_bytes",
                &self
                    .inner
                    .automaton
                    .as_ref()
                    .map_or(0, AhoCorasick::memory_usage),
            )
            .finish()
    }
}

/// A candidate during the search; `Ord` puts the winner last.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Rank {
    priority: i32,
    earlier: std::cmp::Reverse<usize>,
    length: usize,
    lower_id: std::cmp::Reverse<RuleId>,
}

impl KeywordMatcher {
    /// Builds the automaton over every keyword of every *active* rule in `rules`.
    pub fn new(rules: &[BotRule]) -> Result<Self> {
        let rules: Vec<BotRule> = rules.iter().filter(|r| r.active).cloned().collect();
        let mut patterns: Vec<String> = Vec::new();
        let mut owners: Vec<PatternOwner> = Vec::new();
        let mut by_pattern: std::collections::HashMap<String, usize> =
            std::collections::HashMap::new();
        let mut keyword_count = 0;
        for (rule_index, rule) in rules.iter().enumerate() {
            for (keyword_index, keyword) in rule.keywords.iter().enumerate() {
                let pattern = normalize(keyword).text;
                if pattern.trim().is_empty() {
                    continue;
                }
                keyword_count += 1;
                let candidate = PatternOwner {
                    rule: rule_index,
                    keyword: keyword_index,
                };
                match by_pattern.get(&pattern) {
                    Some(&existing) => {
                        let current = &rules[owners[existing].rule];
                        let better = (rule.priority, std::cmp::Reverse(rule.id))
                            > (current.priority, std::cmp::Reverse(current.id));
                        if better {
                            owners[existing] = candidate;
                        }
                    }
                    None => {
                        by_pattern.insert(pattern.clone(), patterns.len());
                        patterns.push(pattern);
                        owners.push(candidate);
                    }
                }
            }
        }
        let automaton = if patterns.is_empty() {
            None
        } else {
            Some(
                AhoCorasick::builder()
                    .match_kind(MatchKind::Standard)
                    .build(&patterns)
                    .map_err(|e| Error::InvalidRule {
                        reason: format!("cannot build the keyword automaton: {e}"),
                    })?,
            )
        };
        Ok(KeywordMatcher {
            inner: Arc::new(Inner {
                automaton,
                owners,
                rules,
                keyword_count,
            }),
        })
    }

    /// Number of active keywords (before removing duplicates).
    pub fn keyword_count(&self) -> usize {
        self.inner.keyword_count
    }

    /// Heap bytes used by the automaton.
    pub fn memory_usage(&self) -> usize {
        self.inner
            .automaton
            .as_ref()
            .map_or(0, AhoCorasick::memory_usage)
    }

    /// Every rule that matches `text`, best first (the first is what [`BotMatcher::match_text`]
    /// returns); each rule once, at its best match. For rule editors: "what else would have fired".
    pub fn all_matches(&self, text: &str) -> Vec<Match> {
        let normalized = normalize(text);
        let mut best_per_rule: std::collections::HashMap<usize, (Rank, usize, usize, usize)> =
            std::collections::HashMap::new();
        self.for_each_match(&normalized, |rank, owner, start, end| {
            let entry =
                best_per_rule
                    .entry(owner.rule)
                    .or_insert((rank, owner.keyword, start, end));
            if rank > entry.0 {
                *entry = (rank, owner.keyword, start, end);
            }
        });
        let mut found: Vec<_> = best_per_rule.into_iter().collect();
        found.sort_by_key(|(_, (rank, ..))| std::cmp::Reverse(*rank));
        found
            .into_iter()
            .map(|(rule, (_, keyword, start, end))| {
                self.build_match(&normalized, rule, keyword, start, end)
            })
            .collect()
    }

    fn for_each_match(
        &self,
        normalized: &Normalized,
        mut visit: impl FnMut(Rank, PatternOwner, usize, usize),
    ) {
        let Some(automaton) = &self.inner.automaton else {
            return;
        };
        for found in automaton.find_overlapping_iter(normalized.text.as_str()) {
            let owner = self.inner.owners[found.pattern().as_usize()];
            let rule = &self.inner.rules[owner.rule];
            let rank = Rank {
                priority: rule.priority,
                earlier: std::cmp::Reverse(found.start()),
                length: found.len(),
                lower_id: std::cmp::Reverse(rule.id),
            };
            visit(rank, owner, found.start(), found.end());
        }
    }

    fn build_match(
        &self,
        normalized: &Normalized,
        rule: usize,
        keyword: usize,
        start: usize,
        end: usize,
    ) -> Match {
        let rule = &self.inner.rules[rule];
        Match::new(
            rule,
            rule.keywords[keyword].clone(),
            normalized.original_span(start, end),
        )
    }
}

impl BotMatcher for KeywordMatcher {
    fn match_text(&self, text: &str) -> Option<Match> {
        let normalized = normalize(text);
        let mut best: Option<(Rank, PatternOwner, usize, usize)> = None;
        self.for_each_match(&normalized, |rank, owner, start, end| {
            if best.is_none_or(|(current, ..)| rank > current) {
                best = Some((rank, owner, start, end));
            }
        });
        best.map(|(_, owner, start, end)| {
            self.build_match(&normalized, owner.rule, owner.keyword, start, end)
        })
    }
}

#[cfg(test)]
mod tests;
