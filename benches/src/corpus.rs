//! Generated rule sets and visitor messages for the matcher benchmarks, with the answer each message
//! must get, and the two baselines the matcher is compared with.
//!
//! Keywords are pronounceable made-up words of seven letters and two-word phrases of them (so no
//! keyword is part of another or of an ordinary English word: the answer is the same under the seed's
//! substring test, a word-boundary regex and chatcore's whole-word automaton). Rules carry five
//! keywords, one or two of them phrases, and distinct priorities in shuffled order. Messages are 60–120
//! characters of everyday filler around one or two planted keywords of different rules; the expected
//! rule is the planted one with the higher priority.

use chatcore::{BotRule, Intent, NewRule, RuleId};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

/// Keywords per generated rule.
pub const KEYWORDS_PER_RULE: usize = 5;

const CONSONANTS: &[u8] = b"bcdfgklmnprstvz";
const VOWELS: &[u8] = b"aeiou";

/// Everyday words around the keywords: none contains a seven-letter made-up word.
const FILLER: &[&str] = &[
    "hi", "hello", "please", "can", "you", "tell", "me", "about", "the", "a", "for", "my", "next",
    "week", "weekend", "from", "to", "at", "airport", "city", "centre", "car", "we", "need", "is",
    "it", "possible", "thanks", "and", "with", "two", "kids", "one", "bag", "on", "friday",
    "monday", "what", "if", "our", "flight", "lands", "late", "also", "how", "do", "i", "get",
    "there", "or",
];

/// A rule set and the messages to ask it, each with the rule that must answer.
#[derive(Debug, Clone)]
pub struct Corpus {
    /// The rules (ids 1..=n).
    pub rules: Vec<BotRule>,
    /// Visitor messages and the rule that must answer each.
    pub messages: Vec<(String, RuleId)>,
}

impl Corpus {
    /// Total keywords over all rules.
    pub fn keyword_count(&self) -> usize {
        self.rules.iter().map(|rule| rule.keywords.len()).sum()
    }
}

fn made_up_word(rng: &mut StdRng) -> String {
    // consonant-vowel-consonant-vowel-consonant-vowel-consonant: seven letters.
    (0..7)
        .map(|i| {
            let letters = if i % 2 == 0 { CONSONANTS } else { VOWELS };
            letters[rng.gen_range(0..letters.len())] as char
        })
        .collect()
}

/// About `keywords` keywords (rounded to whole rules) and `messages` messages, the same for the same
/// `seed`.
pub fn generate(keywords: usize, messages: usize, seed: u64) -> Corpus {
    let mut rng = StdRng::seed_from_u64(seed);
    let rule_count = keywords.div_ceil(KEYWORDS_PER_RULE).max(2);
    let mut words = std::collections::HashSet::new();
    let mut fresh_word = |rng: &mut StdRng| loop {
        let word = made_up_word(rng);
        if words.insert(word.clone()) {
            return word;
        }
    };
    let mut priorities: Vec<i32> = (1..=rule_count as i32).collect();
    priorities.shuffle(&mut rng);
    let intents = [
        "booking_inquiry",
        "pricing",
        "availability",
        "contact",
        "support",
        "extras",
        "insurance",
        "fleet",
    ];
    let rules: Vec<BotRule> = priorities
        .iter()
        .enumerate()
        .map(|(index, &priority)| {
            let phrases = rng.gen_range(1..=2);
            let keywords: Vec<String> = (0..KEYWORDS_PER_RULE)
                .map(|k| {
                    if k < phrases {
                        format!("{} {}", fresh_word(&mut rng), fresh_word(&mut rng))
                    } else {
                        fresh_word(&mut rng)
                    }
                })
                .collect();
            let intent = Intent::new(intents[index % intents.len()])
                .unwrap_or_else(|e| unreachable!("built-in intent name: {e}"));
            NewRule::new(intent, keywords, format!("Answer {index}."), priority)
                .into_rule(RuleId(index as u64 + 1))
        })
        .collect();

    let messages = (0..messages)
        .map(|_| {
            let first = &rules[rng.gen_range(0..rules.len())];
            let mut planted = vec![first];
            if rng.gen_bool(0.5) {
                let second = &rules[rng.gen_range(0..rules.len())];
                if second.id != first.id {
                    planted.push(second);
                }
            }
            let expected = planted
                .iter()
                .max_by_key(|rule| rule.priority)
                .map(|rule| rule.id)
                .unwrap_or(first.id);
            // Filler words are at most 8 characters: the message ends up 60–120 characters long.
            let target = rng.gen_range(60..=110);
            let mut pieces: Vec<String> = planted
                .iter()
                .map(|rule| rule.keywords[rng.gen_range(0..rule.keywords.len())].clone())
                .collect();
            let planted_len: usize = pieces.iter().map(|p| p.len() + 1).sum();
            let mut length = planted_len;
            while length < target {
                let word = FILLER[rng.gen_range(0..FILLER.len())];
                length += word.len() + 1;
                pieces.push(word.to_owned());
            }
            // Keywords somewhere in the message, not always first.
            pieces.shuffle(&mut rng);
            let mut text = pieces.join(" ");
            if let Some(first) = text.get(..1) {
                text = first.to_uppercase() + &text[1..];
            }
            text.push('?');
            (text, expected)
        })
        .collect();
    Corpus { rules, messages }
}

/// The seed guide's algorithm, faithfully: rules in priority order, the first whose keyword occurs
/// anywhere in the lowercased message (a substring test) answers.
#[derive(Debug)]
pub struct SeedStyle {
    /// Highest priority first, keywords lowercased.
    rules: Vec<(RuleId, Vec<String>)>,
}

impl SeedStyle {
    /// Orders the rules as the seed's query did (`order_by('-priority')`).
    pub fn new(rules: &[BotRule]) -> Self {
        let mut ordered: Vec<&BotRule> = rules.iter().filter(|r| r.active).collect();
        ordered.sort_by_key(|rule| std::cmp::Reverse(rule.priority));
        SeedStyle {
            rules: ordered
                .into_iter()
                .map(|rule| {
                    (
                        rule.id,
                        rule.keywords.iter().map(|k| k.to_lowercase()).collect(),
                    )
                })
                .collect(),
        }
    }

    /// `for rule in rules: for keyword in rule.keywords: if keyword in text.lower(): return rule`.
    pub fn match_text(&self, text: &str) -> Option<RuleId> {
        let text = text.to_lowercase();
        self.rules
            .iter()
            .find(|(_, keywords)| keywords.iter().any(|k| text.contains(k.as_str())))
            .map(|(id, _)| *id)
    }
}

/// One `regex::RegexSet` with a case-insensitive, word-bounded alternation per rule; the matched rule
/// with the highest priority answers.
#[derive(Debug)]
pub struct RegexSetMatcher {
    set: regex::RegexSet,
    /// Per pattern: the rule and its priority.
    rules: Vec<(RuleId, i32)>,
}

impl RegexSetMatcher {
    /// Compiles the set (with size limits raised: 10,000 keywords exceed the defaults).
    pub fn new(rules: &[BotRule]) -> Result<Self, regex::Error> {
        let active: Vec<&BotRule> = rules.iter().filter(|r| r.active).collect();
        let patterns: Vec<String> = active
            .iter()
            .map(|rule| {
                let alternatives: Vec<String> =
                    rule.keywords.iter().map(|k| regex::escape(k)).collect();
                format!(r"\b(?:{})\b", alternatives.join("|"))
            })
            .collect();
        let set = regex::RegexSetBuilder::new(patterns)
            .case_insensitive(true)
            .size_limit(1 << 30)
            .dfa_size_limit(1 << 30)
            .build()?;
        Ok(RegexSetMatcher {
            set,
            rules: active.iter().map(|rule| (rule.id, rule.priority)).collect(),
        })
    }

    /// The highest-priority rule among those whose pattern matches.
    pub fn match_text(&self, text: &str) -> Option<RuleId> {
        self.set
            .matches(text)
            .iter()
            .map(|index| self.rules[index])
            .max_by_key(|&(id, priority)| (priority, std::cmp::Reverse(id)))
            .map(|(id, _)| id)
    }
}
