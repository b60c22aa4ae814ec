//! Table tests of the matcher's semantics, and a differential test against a plain reference.

use proptest::prelude::*;

use super::*;
use crate::{Intent, NewRule};

fn rule(id: u64, intent: &str, priority: i32, keywords: &[&str]) -> BotRule {
    NewRule::new(
        Intent::new(intent).unwrap(),
        keywords.iter().copied(),
        format!("{intent} reply"),
        priority,
    )
    .into_rule(RuleId(id))
}

/// Outcome of a table case: (rule id, keyword, matched text) or no match.
type Expected = Option<(u64, &'static str, &'static str)>;

macro_rules! table {
    ($name:ident, $rules:expr, [$(($text:expr, $expected:expr)),+ $(,)?]) => {
        #[test]
        fn $name() {
            let matcher = KeywordMatcher::new(&$rules).unwrap();
            let cases: Vec<(&str, Expected)> = vec![$(($text, $expected)),+];
            for (text, expected) in cases {
                let found = matcher.match_text(text);
                let got = found.as_ref().map(|m| (m.rule_id.0, m.keyword.as_str(), &text[m.span.clone()]));
                assert_eq!(got, expected, "message {text:?}");
            }
        }
    };
}

table!(
    whole_words_only,
    [
        rule(1, "greeting", 1, &["hi"]),
        rule(2, "pricing", 5, &["rate"]),
        rule(3, "contact", 3, &["e-mail"])
    ],
    [
        ("hi", Some((1, "hi", "hi"))),
        ("Hi!", Some((1, "hi", "Hi"))),
        ("this", None),
        ("which car?", None),
        ("shipping costs", None),
        ("a separate question", None),
        ("what's the rate?", Some((2, "rate", "rate"))),
        ("rates", None),
        ("hi-res", Some((1, "hi", "hi"))),
        ("your e-mail", Some((3, "e-mail", "e-mail"))),
        ("your e mail", Some((3, "e-mail", "e mail"))),
        ("your email", None),
        ("", None),
        ("   ", None),
        ("?!", None),
    ]
);

table!(
    case_insensitive_for_unicode,
    [
        rule(
            1,
            "greeting",
            1,
            &["hola", "grüß gott", "ПРИВЕТ", "γεια σας", "नमस्ते"]
        ),
        rule(2, "pricing", 2, &["ÉLEVÉ", "café"]),
        rule(3, "support", 3, &["ΣΦΑΛΜΑ"]),
        rule(4, "x", 4, &["ते"])
    ],
    [
        ("HOLA amigo", Some((1, "hola", "HOLA"))),
        ("GRÜSS GOTT", Some((1, "grüß gott", "GRÜSS GOTT"))), // ß folds to ss
        ("Grüß   Gott!", Some((1, "grüß gott", "Grüß   Gott"))),
        ("ΓΕΙΑ ΣΑΣ", Some((1, "γεια σας", "ΓΕΙΑ ΣΑΣ"))), // final sigma folds to σ
        ("γεια σας!", Some((1, "γεια σας", "γεια σας"))),
        ("नमस्ते जी", Some((1, "नमस्ते", "नमस्ते"))), // vowel signs and virama are part of the word
        ("cafe\u{301} please", Some((2, "café", "cafe\u{301}"))), // decomposed é equals é
        ("cafe please", None),                  // accents are significant
        ("привет", Some((1, "ПРИВЕТ", "привет"))),
        ("prix élevé", Some((2, "ÉLEVÉ", "élevé"))),
        ("σφάλμα", None), // accents are significant
        ("σφαλμα", Some((3, "ΣΦΑΛΜΑ", "σφαλμα"))),
    ]
);

table!(
    multi_word_keywords_span_any_separators,
    [
        rule(1, "escalation", 10, &["speak to someone", "real person"]),
        rule(2, "greeting", 1, &["hello"])
    ],
    [
        (
            "I want to speak to someone",
            Some((1, "speak to someone", "speak to someone"))
        ),
        (
            "speak,   to...someone!",
            Some((1, "speak to someone", "speak,   to...someone"))
        ),
        (
            "SPEAK\nTO\tSOMEONE",
            Some((1, "speak to someone", "SPEAK\nTO\tSOMEONE"))
        ),
        (
            "speak to someone's manager",
            Some((1, "speak to someone", "speak to someone"))
        ),
        ("speak to some one", None),
        (
            "a real-person please",
            Some((1, "real person", "real-person"))
        ),
        (
            "hello, a real person?",
            Some((1, "real person", "real person"))
        ),
        ("unreal person", None),
    ]
);

table!(
    highest_priority_wins_anywhere,
    [
        rule(1, "greeting", 1, &["hello"]),
        rule(2, "booking_inquiry", 4, &["rent", "book"]),
        rule(3, "pricing", 8, &["how much", "cost"]),
        rule(4, "escalation", 10, &["human"])
    ],
    [
        (
            "hello, how much to rent a car?",
            Some((3, "how much", "how much"))
        ),
        (
            "I want to rent a car, what does it cost",
            Some((3, "cost", "cost"))
        ),
        ("book it, hello", Some((2, "book", "book"))),
        ("cost? human please", Some((4, "human", "human"))),
    ]
);

table!(
    ties_earliest_then_longest_then_lowest_id,
    [
        rule(5, "a", 3, &["car"]),
        rule(2, "b", 3, &["rental"]),
        rule(3, "c", 3, &["car rental"]),
        rule(4, "d", 3, &["desk"]),
        rule(1, "e", 3, &["desk"])
    ],
    [
        // Earliest start wins among equal priorities.
        ("rental car", Some((2, "rental", "rental"))),
        // Same start: the longest keyword wins.
        ("car rental desk", Some((3, "car rental", "car rental"))),
        // Same keyword in two rules: the lowest rule id wins.
        ("the desk", Some((1, "desk", "desk"))),
    ]
);

table!(
    inactive_rules_never_match,
    [rule(1, "greeting", 1, &["hello"]), {
        let mut inactive = rule(2, "escalation", 100, &["hello", "human"]);
        inactive.active = false;
        inactive
    }],
    [("hello human", Some((1, "hello", "hello")))]
);

table!(
    digits_and_punctuation,
    [
        rule(1, "support", 1, &["24/7"]),
        rule(2, "pricing", 2, &["$"]),
        rule(3, "contact", 3, &["don't"])
    ],
    [
        ("open 24 7?", Some((1, "24/7", "24 7"))),
        ("open 24/7?", Some((1, "24/7", "24/7"))),
        ("247", None),
        ("I don't know", Some((3, "don't", "don't"))),
        ("I don t know", Some((3, "don't", "don t"))),
    ]
);

#[test]
fn symbol_only_keywords_are_rejected_by_validation() {
    let rule = NewRule::new(Intent::new("pricing").unwrap(), ["$"], "x", 1).validated();
    assert!(matches!(rule, Err(Error::InvalidRule { .. })), "{rule:?}");
}

#[test]
fn spans_point_into_the_original_text() {
    let matcher = KeywordMatcher::new(&[rule(1, "x", 1, &["straße", "İstanbul"])]).unwrap();
    for text in [
        "Die STRASSE",
        "die Straße!",
        "→ İSTANBUL ←",
        "in istanbul",
        "İstanbul",
    ] {
        if let Some(found) = matcher.match_text(text) {
            let matched = &text[found.span.clone()];
            assert_eq!(
                normalize(matched).text.trim(),
                normalize(&found.keyword).text.trim(),
                "{text:?}"
            );
        }
    }
    assert!(matcher.match_text("die Straße").is_some());
    assert!(matcher.match_text("→ İSTANBUL ←").is_some());
}

#[test]
fn all_matches_lists_each_rule_best_first() {
    let matcher = KeywordMatcher::new(&[
        rule(1, "greeting", 1, &["hello"]),
        rule(2, "pricing", 8, &["price", "cost"]),
        rule(3, "booking_inquiry", 4, &["book"]),
    ])
    .unwrap();
    let all = matcher.all_matches("hello, book it, what's the cost and price?");
    let ids: Vec<u64> = all.iter().map(|m| m.rule_id.0).collect();
    assert_eq!(ids, [2, 3, 1]);
    assert_eq!(all[0].keyword, "cost", "a rule's earliest keyword");
    assert_eq!(
        Some(&all[0]),
        matcher
            .match_text("hello, book it, what's the cost and price?")
            .as_ref()
    );
}

#[test]
fn empty_rule_set_never_matches() {
    let matcher = KeywordMatcher::new(&[]).unwrap();
    assert_eq!(matcher.match_text("hello"), None);
    assert_eq!(matcher.memory_usage(), 0);
}

#[test]
fn default_rules_answer_the_seed_questions() {
    let rules: Vec<BotRule> = crate::default_rules()
        .into_iter()
        .enumerate()
        .map(|(i, r)| r.validated().unwrap().into_rule(RuleId(i as u64 + 1)))
        .collect();
    let matcher = KeywordMatcher::new(&rules).unwrap();
    let cases: &[(&str, Option<&str>)] = &[
        ("Hello", Some("greeting")),
        ("I want to book a car", Some("booking_inquiry")),
        ("How much does it cost to rent a sedan?", Some("pricing")),
        (
            "Are there any cars available next week?",
            Some("availability"),
        ),
        ("What are your contact details?", Some("contact")),
        ("I need help with my booking", Some("support")),
        ("I want to speak to a human agent", Some("escalation")),
        ("Which cars are available?", Some("availability")),
        ("This is great", Some("goodbye")),
        ("purple elephants", None),
        // How customers really say it.
        (
            "hi there, can I reserve an SUV for friday?",
            Some("booking_inquiry"),
        ),
        ("I'd like to hire a van", Some("booking_inquiry")),
        ("what's the daily rate for a compact", Some("pricing")),
        ("is there a fee for a second driver", Some("pricing")),
        ("any discount for a week?", Some("pricing")),
        ("do I need extra insurance", Some("pricing")),
        ("do you have an SUV in stock", Some("availability")),
        ("are any cars free this weekend", Some("availability")),
        ("what's your phone number", Some("contact")),
        ("can I email you", Some("contact")),
        ("what are your opening hours", Some("contact")),
        ("where is your address", Some("contact")),
        ("I want to cancel and get a refund", Some("support")),
        ("my car broke down on the highway", Some("support")),
        ("I lost keys to the car", Some("support")),
        ("can I talk to a manager", Some("escalation")),
        ("let me speak to someone", Some("escalation")),
        ("is there a real person here", Some("escalation")),
        ("ok see you", Some("goodbye")),
        ("thank you, have a nice day", Some("goodbye")),
        (
            "Hi, how much is it to rent a car for a week?",
            Some("pricing"),
        ),
        ("I want to book, how much is it?", Some("pricing")),
        ("shipping", None),
        ("separate", None),
        // Words that only sound like a request for a human.
        ("Is the price per person?", Some("pricing")),
        ("Can someone else drive the car?", None),
        ("any travel agent discount?", Some("pricing")),
        (
            "I want to book a car for my manager",
            Some("booking_inquiry"),
        ),
        ("Can you help me book a car?", Some("booking_inquiry")),
        ("I need to talk to your manager", Some("escalation")),
        ("can an agent call me", Some("escalation")),
    ];
    for (text, intent) in cases {
        let got = matcher.match_text(text).map(|m| m.intent.to_string());
        assert_eq!(got.as_deref(), *intent, "{text:?}");
    }
}

// ----- differential test -----

/// The plain reference: split both sides into lowercase words, look for each keyword's word sequence
/// in the message's, keep the best by (priority, earliest, longest, lowest id).
fn reference(rules: &[BotRule], text: &str) -> Option<(RuleId, String, Range<usize>)> {
    // Words: maximal runs of letters, digits and marks, folded with whole-string functions (the
    // matcher folds per character: the two must agree).
    let fold_word = |word: &str| -> String {
        use unicode_normalization::UnicodeNormalization;
        word.to_lowercase()
            .nfd()
            .collect::<String>()
            .replace('ς', "σ")
            .replace('ß', "ss")
    };
    let is_word =
        |c: char| c.is_alphanumeric() || unicode_normalization::char::is_combining_mark(c);
    let words: Vec<(usize, usize, String)> = {
        let mut words = Vec::new();
        let mut start = None;
        for (i, c) in text
            .char_indices()
            .chain(std::iter::once((text.len(), ' ')))
        {
            match (is_word(c) && i < text.len(), start) {
                (true, None) => start = Some(i),
                (false, Some(s)) => {
                    words.push((s, i, fold_word(&text[s..i])));
                    start = None;
                }
                _ => {}
            }
        }
        words
    };
    // Rank: priority, then earliest word (same order as the matcher's byte positions), then
    // longest normalised keyword, then lowest rule id.
    type Rank = (
        i32,
        std::cmp::Reverse<usize>,
        usize,
        std::cmp::Reverse<RuleId>,
    );
    let mut best: Option<(Rank, RuleId, String, Range<usize>)> = None;
    for rule in rules.iter().filter(|r| r.active) {
        for keyword in &rule.keywords {
            let key: Vec<String> = keyword
                .split(|c: char| !is_word(c))
                .filter(|w| !w.is_empty())
                .map(fold_word)
                .collect();
            if key.is_empty() || key.len() > words.len() {
                continue;
            }
            let key_len = key.iter().map(String::len).sum::<usize>() + key.len() + 1;
            for first in 0..=words.len() - key.len() {
                if words[first..first + key.len()]
                    .iter()
                    .map(|w| &w.2)
                    .eq(key.iter())
                {
                    let rank = (
                        rule.priority,
                        std::cmp::Reverse(first),
                        key_len,
                        std::cmp::Reverse(rule.id),
                    );
                    let span = words[first].0..words[first + key.len() - 1].1;
                    if best.as_ref().is_none_or(|(b, ..)| rank > *b) {
                        best = Some((rank, rule.id, keyword.clone(), span));
                    }
                }
            }
        }
    }
    best.map(|(_, id, keyword, span)| (id, keyword, span))
}

fn word() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "car",
        "Car",
        "rent",
        "RENTAL",
        "hi",
        "this",
        "price",
        "prices",
        "to",
        "a",
        "speak",
        "someone",
        "straße",
        "Ünïcode",
        "車",
        "24",
        "7",
        "book",
        "booking",
    ])
}

fn separator() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        " ", "  ", ", ", "!", "-", "\n", "...", "'", " → ", "🚗",
    ])
}

fn phrase(max_words: usize) -> impl Strategy<Value = String> {
    prop::collection::vec((word(), separator()), 1..=max_words).prop_map(|parts| {
        let mut text = String::new();
        for (i, (w, sep)) in parts.iter().enumerate() {
            if i > 0 {
                text.push_str(sep);
            }
            text.push_str(w);
        }
        text
    })
}

fn rules_strategy() -> impl Strategy<Value = Vec<BotRule>> {
    prop::collection::vec(
        (
            prop::collection::vec(phrase(3), 1..4),
            -3i32..4,
            any::<bool>(),
        ),
        0..8,
    )
    .prop_map(|specs| {
        specs
            .into_iter()
            .enumerate()
            .map(|(i, (keywords, priority, active))| {
                let mut rule = NewRule::new(Intent::new("x").unwrap(), keywords, "r", priority)
                    .into_rule(RuleId(i as u64 + 1));
                rule.active = active || i == 0;
                rule
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn matcher_agrees_with_the_reference(rules in rules_strategy(), prefix in separator(), text in phrase(12)) {
        let text = format!("{prefix}{text}");
        let matcher = KeywordMatcher::new(&rules).unwrap();
        let got = matcher.match_text(&text).map(|m| (m.rule_id, m.keyword, m.span));
        let want = reference(&rules, &text);
        // Two keywords of one rule may normalise to the same pattern; any of them is a fine name.
        match (&got, &want) {
            (Some((g_id, g_kw, g_span)), Some((w_id, w_kw, w_span))) if g_kw != w_kw => {
                prop_assert_eq!((g_id, g_span), (w_id, w_span));
                prop_assert_eq!(normalize(g_kw).text, normalize(w_kw).text);
            }
            _ => prop_assert_eq!(got, want, "text {:?}", text),
        }
    }

    #[test]
    fn any_text_is_safe(rules in rules_strategy(), text in any::<String>()) {
        let matcher = KeywordMatcher::new(&rules).unwrap();
        if let Some(found) = matcher.match_text(&text) {
            prop_assert!(text.is_char_boundary(found.span.start) && text.is_char_boundary(found.span.end));
            prop_assert!(found.span.start < found.span.end);
            // The span holds exactly the keyword's words.
            prop_assert_eq!(normalize(&text[found.span.clone()]).text, normalize(&found.keyword).text);
        }
    }

    #[test]
    fn normalize_is_idempotent(text in any::<String>()) {
        let once = normalize(&text).text;
        prop_assert_eq!(normalize(&once).text, once);
    }
}

#[test]
fn public_types_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<KeywordMatcher>();
    assert_send_sync::<Match>();
    assert_send_sync::<Arc<dyn BotMatcher>>();
}
