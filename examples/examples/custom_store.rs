//! Your own storage backend: [`VecStore`], a `MessageStore` on a `HashMap` and `Vec`s written in
//! `examples/src/vec_store.rs`, under a `ChatService`. The conversation below goes through every
//! kind of store operation: a room with its welcome, appends with gapless seqs, a resend stored once,
//! an escalation (compare-and-set), an agent, close, rating, and a reconnecting client's
//! "everything after seq N". `cargo test -p examples --test vec_store_conformance` checks the same
//! store against chatcore's whole conformance suite.
//!
//! Run it with:
//!
//! ```text
//! cargo run -p examples --example custom_store
//! ```

use std::sync::Arc;

use chatcore::{
    AgentRole, ChatService, ClosedBy, MemoryFanout, MessageStore, NewAgent, OpenRoom, RoomQuery,
    RoomStatus,
};
use examples::print_message;
use examples::vec_store::VecStore;

#[tokio::main]
async fn main() -> chatcore::Result<()> {
    let store = Arc::new(VecStore::new());
    let chat = ChatService::new(store.clone(), Arc::new(MemoryFanout::new()));
    chat.seed_default_rules().await?;
    println!(
        "VecStore seeded: {} rules, version {}\n",
        store.rules().await?.rules.len(),
        store.rules_version().await?
    );

    let (room, opening) = chat.open_room(OpenRoom::anonymous()).await?;
    opening.iter().for_each(print_message);
    for text in ["Hi!", "What are your opening hours?"] {
        let turn = chat.post_visitor_message(room.id, text, None).await?;
        print_message(&turn.message);
        turn.bot_reply.iter().for_each(print_message);
    }

    // A client that never saw its acknowledgement sends again with the same client id: the store
    // finds the first message (same room, sender and client id) and stores nothing.
    let first = chat
        .post_visitor_message(room.id, "Can I talk to a person?", Some("msg-7"))
        .await?;
    print_message(&first.message);
    first.bot_reply.iter().for_each(print_message);
    first.escalation.iter().for_each(print_message);
    let resend = chat
        .post_visitor_message(room.id, "Can I talk to a person?", Some("msg-7"))
        .await?;
    println!(
        "      (resend of msg-7: duplicate = {}, seq {}, room still at seq {})",
        resend.duplicate, resend.message.seq, resend.room.last_seq
    );

    let queue = store.list_rooms(&RoomQuery::queue()).await?;
    println!(
        "      (queue: {} room(s) waiting; this one is #{})",
        queue.len(),
        store.queue_position(room.id).await?.unwrap_or_default()
    );
    let seen = chat.room(room.id).await?.last_seq;

    let agent = NewAgent::new("ana", "Ana", AgentRole::Staff, "<argon2id hash>");
    let agent = chat.create_agent(agent).await?;
    chat.accept(room.id, agent.id).await?;
    // A second accept loses the store's compare-and-set: the room is no longer waiting.
    let again = chat.accept(room.id, agent.id).await;
    println!("      (second accept: {})", again.unwrap_err());
    chat.post_agent_message(room.id, agent.id, "Hi, I'm Ana. How can I help?", None)
        .await?;
    chat.close(room.id, ClosedBy::Agent(agent.id)).await?;
    chat.rate(room.id, 4).await?;

    // A client reconnecting with the last seq it showed gets exactly the rest, from the store.
    println!("\nAfter seq {seen}, as a reconnecting client reads it:");
    for message in store.messages_after(room.id, seen, 100).await? {
        print_message(&message);
    }

    let room = store.get_room(room.id).await?;
    let seqs: Vec<u64> = store
        .messages_after(room.id, 0, 100)
        .await?
        .iter()
        .map(|m| m.seq)
        .collect();
    assert!(seqs.iter().copied().eq(1..=room.last_seq), "gapless");
    assert_eq!(room.status, RoomStatus::Closed);
    println!(
        "\nStored: room {}, seqs 1..={} without a gap, rated {}/5",
        room.status,
        room.last_seq,
        room.rating.map_or(0, |r| r.get())
    );
    Ok(())
}
