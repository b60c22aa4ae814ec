//! The WebSocket frame decoder on any text: never panics; a refusal has a code from the protocol's
//! list and says why, and an accepted frame fits the size limit.
#![no_main]

use libfuzzer_sys::fuzz_target;
use reference_server::protocol::{ClientFrame, MAX_FRAME_BYTES};

fuzz_target!(|text: &str| {
    match ClientFrame::decode(text) {
        Ok(_) => assert!(text.len() <= MAX_FRAME_BYTES),
        Err(error) => {
            assert!(matches!(
                error.code,
                "frame_too_large" | "invalid_json" | "invalid_frame" | "unknown_type"
            ));
            assert!(!error.message.is_empty());
        }
    }
});
