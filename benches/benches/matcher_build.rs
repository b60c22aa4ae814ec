//! What building the keyword automaton costs at 50, 1,000 and 10,000 keywords: wall time (best of
//! five) and the heap the built matcher keeps (counted by an instrumented allocator, which is why this
//! is a separate binary: it would slow the timed benches down).
//!
//! `cargo bench -p benches --bench matcher_build`

use std::alloc::System;
use std::time::{Duration, Instant};

use benches::corpus::generate;
use chatcore::KeywordMatcher;
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

fn main() {
    // `cargo bench` passes `--bench`; a filter argument is not supported here.
    println!("keywords  rules  build (best of 5)  heap kept  automaton");
    for size in [50, 1_000, 10_000] {
        let corpus = generate(size, 0, 42);
        let mut best = Duration::MAX;
        for _ in 0..5 {
            let started = Instant::now();
            let matcher = KeywordMatcher::new(&corpus.rules).expect("the automaton builds");
            best = best.min(started.elapsed());
            drop(matcher);
        }
        let region = Region::new(GLOBAL);
        let matcher = KeywordMatcher::new(&corpus.rules).expect("the automaton builds");
        let change = region.change();
        // stats_alloc counts a realloc as its new block allocated and its old one freed.
        let kept = change.bytes_allocated as i64 - change.bytes_deallocated as i64;
        println!(
            "{:>8}  {:>5}  {:>17.2?}  {:>8.1} KiB  {:>7.1} KiB",
            corpus.keyword_count(),
            corpus.rules.len(),
            best,
            kept as f64 / 1024.0,
            matcher.memory_usage() as f64 / 1024.0,
        );
        drop(matcher);
    }
}
