//! The whole chat flow in memory, printed: the seed guide's sample questions, escalation to a human,
//! an agent's reply, close, rating and analytics.
//!
//! Run it with:
//!
//! ```text
//! cargo run -p examples --example quickstart
//! ```

use std::sync::Arc;
use std::time::Duration;

use chatcore::{
    AgentRole, AnalyticsWindow, ChatService, Clock, ClosedBy, ManualClock, MemoryFanout,
    MemoryStore, NewAgent, OpenRoom, SystemClock,
};
use examples::{print_analytics, print_message};

#[tokio::main]
async fn main() -> chatcore::Result<()> {
    // A clock moved by hand, so the wait for the agent in the analytics looks like a real one.
    let clock = ManualClock::new(SystemClock.now());
    // Any MessageStore and Fanout fit here: chatcore-sqlite, chatcore-redis, or your own.
    let chat = ChatService::builder(Arc::new(MemoryStore::new()), Arc::new(MemoryFanout::new()))
        .clock(Arc::new(clock.clone()))
        .build();
    chat.seed_default_rules().await?;

    let (room, opening) = chat.open_room(OpenRoom::anonymous()).await?;
    println!("Room {} opened\n", room.id);
    opening.iter().for_each(print_message);

    for question in [
        "Hello",
        "I want to book a car",
        "How much does it cost to rent a sedan?",
        "Are there any cars available next week?",
        "What are your contact details?",
        "I need help with my booking",
        "I want to speak to a human agent",
    ] {
        let turn = chat.post_visitor_message(room.id, question, None).await?;
        print_message(&turn.message);
        turn.bot_reply.iter().for_each(print_message);
        turn.escalation.iter().for_each(print_message);
        clock.advance(Duration::from_secs(20));
    }
    let seen = chat.room(room.id).await?.last_seq;

    let position = chat.queue_position(room.id).await?;
    println!("\nQueue position while waiting: {position:?}\n");

    let agent = chat
        .create_agent(NewAgent::new(
            "ana",
            "Ana",
            AgentRole::Staff,
            "<argon2id hash>",
        ))
        .await?;
    clock.advance(Duration::from_secs(40));
    chat.accept(room.id, agent.id).await?;
    clock.advance(Duration::from_secs(25));
    chat.post_agent_message(
        room.id,
        agent.id,
        "Hi, I'm Ana. I've found your booking - what would you like to change?",
        None,
    )
    .await?;
    chat.post_visitor_message(room.id, "Pick-up one day later, please.", None)
        .await?;
    chat.post_agent_message(room.id, agent.id, "Done! Anything else?", None)
        .await?;
    chat.close(room.id, ClosedBy::Agent(agent.id)).await?;
    chat.rate(room.id, 5).await?;

    // Everything after what we printed, as a reconnecting client resumes with its last seq.
    for message in chat.history(room.id, seen, 100).await? {
        print_message(&message);
    }

    let analytics = chat
        .analytics(AnalyticsWindow::last_days(chat.now(), 7))
        .await?;
    println!();
    print_analytics(&analytics);
    Ok(())
}
