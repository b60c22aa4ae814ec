//! The keyword matcher on any text: never panics, and an answer's span is a char-aligned range of
//! the text that normalises to its keyword's words.
#![no_main]

use std::sync::OnceLock;

use chatcore::{BotRule, KeywordMatcher, RuleId};
use libfuzzer_sys::fuzz_target;

fn matcher() -> &'static KeywordMatcher {
    static MATCHER: OnceLock<KeywordMatcher> = OnceLock::new();
    MATCHER.get_or_init(|| {
        let rules: Vec<BotRule> = chatcore::default_rules()
            .into_iter()
            .enumerate()
            .map(|(i, rule)| {
                rule.validated()
                    .expect("default rule")
                    .into_rule(RuleId(i as u64 + 1))
            })
            .collect();
        KeywordMatcher::new(&rules).expect("default matcher")
    })
}

fuzz_target!(|text: &str| {
    use chatcore::BotMatcher;
    let normalized = chatcore::matcher::normalize(text);
    assert_eq!(
        chatcore::matcher::normalize(&normalized.text).text,
        normalized.text,
        "idempotent"
    );
    if let Some(found) = matcher().match_text(text) {
        assert!(found.span.start < found.span.end && found.span.end <= text.len());
        assert!(text.is_char_boundary(found.span.start) && text.is_char_boundary(found.span.end));
        let words = chatcore::matcher::normalize(&text[found.span.clone()]).text;
        assert_eq!(
            words.trim(),
            chatcore::matcher::normalize(&found.keyword).text.trim()
        );
    }
});
