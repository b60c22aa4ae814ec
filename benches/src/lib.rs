//! Shared setup for the criterion benchmarks in `benches/benches/`.
//!
//! Run them with `cargo bench -p benches`; docs/PERFORMANCE.md lists the commands and the numbers
//! measured on the reference machine.

use chatcore::{MessageStore, NewMessage, Participant, Room, RoomId, Sender, Timestamp};

/// A 60–120 character visitor message, like the ones the bot answers.
pub const VISITOR_TEXT: &str =
    "Hi, how much does it cost to rent an SUV from the airport next weekend, insurance included?";

/// Creates `count` rooms with a welcome message each; returns their ids.
pub async fn create_rooms(store: &dyn MessageStore, count: usize) -> Vec<RoomId> {
    let mut rooms = Vec::with_capacity(count);
    for _ in 0..count {
        let room = Room::new(RoomId::random(), Participant::Anonymous, Timestamp(1));
        let welcome = NewMessage::new(room.id, Sender::Bot, "Welcome!", Timestamp(1));
        let (room, _) = store
            .create_room(room, vec![welcome])
            .await
            .expect("create a bench room");
        rooms.push(room.id);
    }
    rooms
}

/// A visitor message for `room`.
pub fn visitor_message(room: RoomId) -> NewMessage {
    NewMessage::new(room, Sender::Visitor, VISITOR_TEXT, Timestamp(2))
}
