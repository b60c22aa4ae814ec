//! The bot's keyword matcher against the seed's algorithm and a `regex::RegexSet`, per visitor message,
//! at 50, 1,000 and 10,000 keywords; and the automaton's build time.
//!
//! `cargo bench -p benches --bench matcher`. Every matcher's answers are checked against the corpus
//! before it is timed, and every timed call checks its answer again: a fast wrong matcher cannot win.

use benches::corpus::{generate, Corpus, RegexSetMatcher, SeedStyle};
use chatcore::{BotMatcher, KeywordMatcher, RuleId};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

const SIZES: [usize; 3] = [50, 1_000, 10_000];
const MESSAGES: usize = 1_000;

fn corpus(keywords: usize) -> Corpus {
    generate(keywords, MESSAGES, 42)
}

/// Runs `matcher` over every message (checking each answer) and returns the count, so the work
/// cannot be optimised away.
fn check_all(corpus: &Corpus, name: &str, matcher: impl Fn(&str) -> Option<RuleId>) {
    for (text, expected) in &corpus.messages {
        assert_eq!(
            matcher(text),
            Some(*expected),
            "{name} answers {text:?} wrongly"
        );
    }
}

fn per_message(c: &mut Criterion) {
    let mut group = c.benchmark_group("matcher");
    group.throughput(Throughput::Elements(1));
    for size in SIZES {
        let corpus = corpus(size);
        let keywords = corpus.keyword_count();
        let chatcore = KeywordMatcher::new(&corpus.rules).expect("the automaton builds");
        let seed = SeedStyle::new(&corpus.rules);
        let regex = RegexSetMatcher::new(&corpus.rules).expect("the regex set compiles");
        check_all(&corpus, "chatcore", |t| {
            chatcore.match_text(t).map(|m| m.rule_id)
        });
        check_all(&corpus, "seed_style", |t| seed.match_text(t));
        check_all(&corpus, "regex_set", |t| regex.match_text(t));

        // One message per iteration, cycling through the corpus (no copying in the timed loop).
        let messages = &corpus.messages;
        let cycle = |next: &mut usize| {
            *next = (*next + 1) % messages.len();
            &messages[*next]
        };
        group.bench_function(BenchmarkId::new("chatcore", keywords), |b| {
            let mut next = 0;
            b.iter(|| {
                let (text, expected) = cycle(&mut next);
                let found = chatcore.match_text(text).map(|m| m.rule_id);
                assert_eq!(found, Some(*expected));
            })
        });
        group.bench_function(BenchmarkId::new("seed_style", keywords), |b| {
            let mut next = 0;
            b.iter(|| {
                let (text, expected) = cycle(&mut next);
                assert_eq!(seed.match_text(text), Some(*expected));
            })
        });
        group.bench_function(BenchmarkId::new("regex_set", keywords), |b| {
            let mut next = 0;
            b.iter(|| {
                let (text, expected) = cycle(&mut next);
                assert_eq!(regex.match_text(text), Some(*expected));
            })
        });
    }
    group.finish();
}

fn build(c: &mut Criterion) {
    let mut group = c.benchmark_group("matcher_build");
    group.sample_size(20);
    for size in SIZES {
        let corpus = corpus(size);
        group.bench_function(BenchmarkId::new("chatcore", corpus.keyword_count()), |b| {
            b.iter(|| KeywordMatcher::new(&corpus.rules).expect("the automaton builds"))
        });
    }
    group.finish();
}

criterion_group!(benches, per_message, build);
criterion_main!(benches);
