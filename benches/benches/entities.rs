//! `EntityExtractor::extract` per visitor message: the matcher corpus's generated messages (split
//! into those that name no dates and those that do: the filler has "next week", "friday" …) and
//! hand-written messages with dates and rental lengths in English, Spanish and French.
//!
//! `cargo bench -p benches --bench entities`. Every message's answer is computed before timing and
//! checked again on every timed call.

use benches::corpus::generate;
use chatcore::entities::EntityExtractor;
use chatcore::{Entities, Timestamp};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

/// 60–120 character messages naming dates, as visitors write them.
const DATED: &[&str] = &[
    "Hi, how much does it cost to rent an SUV from the airport next weekend, insurance included?",
    "How much is an SUV from 3 to 7 December? We land at the airport around noon on the 3rd.",
    "Hello, I'd like a compact car for 10 days from 1 December, picking it up in the city centre.",
    "Price of an electric car for a week from tomorrow, please? We are two adults and a child.",
    "Do you have a 7 seater available for 3 days starting Monday? We need room for the luggage.",
    "Can I book a convertible on Friday 4 December and return it at the same office on Sunday?",
    "Hola, ¿cuánto cuesta un todoterreno del 3 al 7 de diciembre con el seguro a todo riesgo?",
    "Necesito una furgoneta durante 3 días desde el lunes para una mudanza, ¿qué precio tiene?",
    "Bonjour, je voudrais une berline du 30 décembre au 2 janvier, avec un siège enfant svp.",
    "Combien coûte une voiture électrique pendant une semaine à partir de demain à l'aéroport ?",
    "We would like to pick up a minivan on 2026-12-03 and bring it back on 2026-12-07 if possible.",
    "Is there an economy car for tomorrow? My flight lands late, around 11 pm, is that a problem?",
];

/// Thursday 26 November 2026 (20,783 days after 1970-01-01; the benches crate has no chrono).
fn today() -> Timestamp {
    Timestamp::from_millis(20_783 * 86_400_000)
}

fn per_message(c: &mut Criterion) {
    let extractor = EntityExtractor::new();
    let today = today().date();
    assert_eq!(today.to_string(), "2026-11-26");
    let corpus = generate(1_000, 1_000, 42);
    let answered = |texts: Vec<String>| -> Vec<(String, Entities)> {
        texts
            .into_iter()
            .map(|text| {
                let found = extractor.extract(&text, today);
                (text, found)
            })
            .collect()
    };
    let (with_dates, without_dates): (Vec<_>, Vec<_>) = answered(
        corpus
            .messages
            .iter()
            .map(|(text, _)| text.clone())
            .collect(),
    )
    .into_iter()
    .partition(|(_, found)| found.dates.is_some());
    let dated = answered(DATED.iter().map(|t| (*t).to_owned()).collect());
    assert!(dated.iter().all(|(_, found)| found.dates.is_some()));

    let mut group = c.benchmark_group("entities");
    group.throughput(Throughput::Elements(1));
    let sets = [
        ("corpus_without_dates", &without_dates),
        ("corpus_with_dates", &with_dates),
        ("dated", &dated),
    ];
    for (name, messages) in sets {
        group.bench_function(BenchmarkId::new(name, messages.len()), |b| {
            // One message per iteration, cycling through the set.
            let mut next = 0;
            b.iter(|| {
                next = (next + 1) % messages.len();
                let (text, expected) = &messages[next];
                assert_eq!(&extractor.extract(text, today), expected);
            })
        });
    }
    group.finish();
}

criterion_group!(benches, per_message);
criterion_main!(benches);
