//! Your own bot matcher next to the keyword engine: a `MatcherFactory` given to
//! `ChatServiceBuilder::matcher_factory` builds, for every rule version, a matcher that first asks a
//! "classifier" and falls back to chatcore's `KeywordMatcher` when the classifier is unsure.
//!
//! The classifier is a stand-in for a real model: a tiny, deterministic bag-of-words scorer over
//! each rule's keywords. It ignores word order, so "my tire is flat" finds the rule with the
//! keyword "flat tire", which the whole-phrase keyword matcher misses. It scores every rule by the
//! words (stop words aside) it shares with the message, rarer words weighing more, and answers only
//! when one rule has most of the evidence; otherwise the keyword matcher decides, with its
//! priorities ("how much is the deposit?": fees, not prices). Each message prints the classifier's
//! verdict, the `Match` that explains the answer (rule, keyword, the words it spans), then the
//! bot's stored reply.
//!
//! Run it with:
//!
//! ```text
//! cargo run -p examples --example custom_matcher
//! ```

use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::sync::Arc;

use chatcore::{
    BotMatcher, BotRule, ChatService, KeywordMatcher, Match, MatcherFactory, MemoryFanout,
    MemoryStore, OpenRoom, RuleSet,
};
use examples::print_message;

/// The classifier answers only with at least this much evidence…
const MIN_SCORE: f64 = 2.0;
/// …and this share of all the evidence in the message.
const MIN_SHARE: f64 = 0.6;

/// Words that say nothing about what the visitor wants, in the default rules' three languages.
const STOP_WORDS: &[&str] = &[
    "a", "an", "the", "is", "are", "i", "me", "my", "you", "your", "it", "to", "of", "on", "in",
    "at", "for", "with", "and", "or", "do", "does", "what", "which", "when", "how", "there",
    "have", "el", "la", "los", "las", "un", "una", "es", "está", "de", "en", "y", "mi", "le",
    "les", "du", "des", "et", "est", "je", "vous",
];

/// Builds a [`ClassifierFirst`] matcher whenever the rules change.
#[derive(Debug)]
struct ClassifierFirstFactory;

impl MatcherFactory for ClassifierFirstFactory {
    fn build(&self, rules: &RuleSet) -> chatcore::Result<Arc<dyn BotMatcher>> {
        Ok(Arc::new(ClassifierFirst::new(&rules.rules)?))
    }
}

/// The classifier first, the keyword matcher when it is unsure.
#[derive(Debug)]
struct ClassifierFirst {
    classifier: BagOfWords,
    keywords: KeywordMatcher,
}

/// What the classifier thought of a message.
#[derive(Debug)]
struct Verdict {
    /// The best-scoring rule, if any word of the message is known.
    best: Option<Scored>,
    /// Whether it is sure enough to answer.
    confident: bool,
}

/// A rule's score for a message.
#[derive(Debug)]
struct Scored {
    /// Index in [`BagOfWords::rules`].
    rule: usize,
    score: f64,
    /// Its share of all the rules' scores.
    share: f64,
    /// The message's words that counted for it.
    words: Vec<String>,
}

impl ClassifierFirst {
    fn new(rules: &[BotRule]) -> chatcore::Result<Self> {
        Ok(ClassifierFirst {
            classifier: BagOfWords::new(rules),
            keywords: KeywordMatcher::new(rules)?,
        })
    }

    /// The answer and the classifier's verdict, for printing.
    fn decide(&self, text: &str) -> (Option<Match>, Verdict) {
        let words = words(text);
        let verdict = self.classifier.classify(&words);
        let found = match &verdict.best {
            Some(best) if verdict.confident => Some(self.classifier.explain(best.rule, &words)),
            _ => self.keywords.match_text(text),
        };
        (found, verdict)
    }
}

impl BotMatcher for ClassifierFirst {
    fn match_text(&self, text: &str) -> Option<Match> {
        self.decide(text).0
    }
}

/// A bag of words per active rule, from its keywords, and how rare each word is among the rules.
#[derive(Debug)]
struct BagOfWords {
    rules: Vec<BotRule>,
    bags: Vec<HashSet<String>>,
    /// `ln(1 + rules / rules using the word)`: "pinchada" (one rule) counts more than "car" (many).
    weight: HashMap<String, f64>,
}

impl BagOfWords {
    fn new(rules: &[BotRule]) -> Self {
        let rules: Vec<BotRule> = rules.iter().filter(|r| r.active).cloned().collect();
        let bags: Vec<HashSet<String>> = rules
            .iter()
            .map(|rule| {
                let keywords = rule.keywords.iter().flat_map(|k| words(k));
                keywords.map(|(word, _)| word).collect()
            })
            .collect();
        let mut used_by: HashMap<String, usize> = HashMap::new();
        for word in bags.iter().flatten() {
            *used_by.entry(word.clone()).or_default() += 1;
        }
        let total = rules.len() as f64;
        let weight = used_by
            .into_iter()
            .map(|(word, n)| (word, (1.0 + total / n as f64).ln()))
            .collect();
        BagOfWords {
            rules,
            bags,
            weight,
        }
    }

    fn classify(&self, words: &[(String, Range<usize>)]) -> Verdict {
        let mut unique: Vec<&str> = Vec::new();
        for (word, _) in words {
            if !unique.contains(&word.as_str()) {
                unique.push(word);
            }
        }
        let shared = |bag: &HashSet<String>| -> Vec<&str> {
            unique
                .iter()
                .copied()
                .filter(|w| bag.contains(*w))
                .collect()
        };
        let scores: Vec<f64> = self
            .bags
            .iter()
            .map(|bag| shared(bag).iter().map(|w| self.weight[*w]).sum())
            .collect();
        let total: f64 = scores.iter().sum();
        // The highest score; on a tie the lower rule id (the rules are in id order).
        let best = (0..scores.len())
            .rev()
            .max_by(|&a, &b| scores[a].total_cmp(&scores[b]))
            .filter(|&i| scores[i] > 0.0)
            .map(|i| Scored {
                rule: i,
                score: scores[i],
                share: scores[i] / total,
                words: shared(&self.bags[i])
                    .into_iter()
                    .map(str::to_owned)
                    .collect(),
            });
        let confident = best
            .as_ref()
            .is_some_and(|b| b.score >= MIN_SCORE && b.share >= MIN_SHARE);
        Verdict { best, confident }
    }

    /// The rule's keyword sharing the most words with the message, spanning those words.
    fn explain(&self, rule: usize, words: &[(String, Range<usize>)]) -> Match {
        let rule = &self.rules[rule];
        let shared_words = |keyword: &str| -> Vec<Range<usize>> {
            let wanted: HashSet<String> =
                self::words(keyword).into_iter().map(|(w, _)| w).collect();
            let hits = words.iter().filter(|(w, _)| wanted.contains(w));
            hits.map(|(_, span)| span.clone()).collect()
        };
        let (keyword, spans) = rule
            .keywords
            .iter()
            .map(|k| (k, shared_words(k)))
            .rev() // on a tie, the first keyword of the rule
            .max_by_key(|(_, spans)| spans.len())
            .expect("the rule scored, so it has keywords");
        let start = spans.iter().map(|s| s.start).min().unwrap_or(0);
        let end = spans.iter().map(|s| s.end).max().unwrap_or(0);
        Match::new(rule, keyword.as_str(), start..end)
    }
}

/// The lowercase words of `text` that are not stop words, with their byte ranges in `text`.
fn words(text: &str) -> Vec<(String, Range<usize>)> {
    let mut words = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices().chain([(text.len(), ' ')]) {
        match (c.is_alphanumeric(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                let word = text[s..i].to_lowercase();
                if !STOP_WORDS.contains(&word.as_str()) {
                    words.push((word, s..i));
                }
                start = None;
            }
            _ => {}
        }
    }
    words
}

/// Prints the classifier's verdict and the `Match` that explains the answer.
fn print_decision(matcher: &ClassifierFirst, text: &str, found: Option<&Match>, verdict: &Verdict) {
    match &verdict.best {
        Some(best) => {
            let rule = &matcher.classifier.rules[best.rule];
            let outcome = if verdict.confident {
                "sure: it answers"
            } else {
                "unsure: the keyword matcher answers"
            };
            println!(
                "      classifier: {} (rule {}), words {:?}, score {:.1}, share {:.0} % -> {outcome}",
                rule.intent,
                rule.id,
                best.words,
                best.score,
                best.share * 100.0
            );
        }
        None => println!("      classifier: no word it knows -> the keyword matcher answers"),
    }
    match found {
        // The explanation the service stores with the reply (and shows agents).
        Some(m) => println!(
            "      Match: rule {} ({}, {}, priority {}), keyword {:?} on {:?} (bytes {:?})",
            m.rule_id,
            m.intent,
            m.language,
            m.priority,
            m.keyword,
            &text[m.span.clone()],
            m.span
        ),
        None => println!("      Match: none, so the fallback"),
    }
}

#[tokio::main]
async fn main() -> chatcore::Result<()> {
    let chat = ChatService::builder(Arc::new(MemoryStore::new()), Arc::new(MemoryFanout::new()))
        .matcher_factory(Arc::new(ClassifierFirstFactory))
        .build();
    chat.seed_default_rules().await?;
    // The same matcher the service builds, to print what the classifier thought.
    let rules = chat.rules().await?;
    let matcher = ClassifierFirst::new(&rules.rules)?;

    let (room, _welcome) = chat.open_room(OpenRoom::anonymous()).await?;
    for text in [
        "Hello there!",
        "My tire is flat, what do I do?",
        "How much is the deposit?",
        "When is your office open on Sunday?",
        "Which models do you have?",
        "La rueda está pinchada",
        "asdf qwerty",
    ] {
        let (found, verdict) = matcher.decide(text);
        let turn = chat.post_visitor_message(room.id, text, None).await?;
        print_message(&turn.message);
        print_decision(&matcher, text, found.as_ref(), &verdict);
        turn.bot_reply.iter().for_each(print_message);
        turn.escalation.iter().for_each(print_message);
    }
    Ok(())
}
