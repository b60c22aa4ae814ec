//! The entity extractor on any text: never panics, spans are char-aligned ranges of the text, and
//! a rental always ends after it starts.
#![no_main]

use std::sync::OnceLock;

use chatcore::entities::EntityExtractor;
use libfuzzer_sys::fuzz_target;

fn extractor() -> &'static EntityExtractor {
    static EXTRACTOR: OnceLock<EntityExtractor> = OnceLock::new();
    EXTRACTOR.get_or_init(EntityExtractor::new)
}

fuzz_target!(|input: (&str, u16)| {
    let (text, day) = input;
    // Any day from 2000 to about 2179.
    let today = chrono::NaiveDate::from_ymd_opt(2000, 1, 1).expect("a date")
        + chrono::Days::new(u64::from(day));
    let found = extractor().extract(text, today);
    let spans = [
        found.vehicle_class.as_ref().map(|f| f.span.clone()),
        found.dates.as_ref().map(|f| f.span.clone()),
        found.duration_days.as_ref().map(|f| f.span.clone()),
    ];
    for span in spans.into_iter().flatten() {
        assert!(span.start < span.end && span.end <= text.len());
        assert!(text.is_char_boundary(span.start) && text.is_char_boundary(span.end));
    }
    if let Some(dates) = found.dates {
        assert!(dates.value.end > dates.value.start);
    }
    if let Some(days) = found.duration_days {
        assert!((1..=366).contains(&days.value));
    }
});
