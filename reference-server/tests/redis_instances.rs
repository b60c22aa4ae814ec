//! Two server instances on one Redis (`--backend redis`): the visitor on one, the agent on the other.

use reference_server::config::Backend;
use serde_json::json;

mod support;
use support::{TestServer, ADMIN_PASSWORD};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn visitor_on_one_instance_agent_on_the_other() {
    let redis = chatcore_redis::testing::isolated("server");
    let secret = reference_server::auth::Secret::random().to_text();
    let on_redis = |options: &mut reference_server::config::Options| {
        options.backend = Backend::Redis;
        options.redis_url = Some(redis.url.clone());
        options.redis_prefix = redis.prefix.clone();
        options.secret = Some(secret.clone());
    };
    let first = TestServer::start_with(on_redis).await;
    let second = TestServer::start_with(on_redis).await;

    let (_visitor, room, cookie) = first.visitor().await;
    let mut visitor = first
        .socket(&format!("/ws/chat/{room}/"), Some(&cookie), None)
        .await
        .unwrap();
    visitor.until(|f| f["seq"] == 1).await;

    // The agent logs in on the other instance (the admin account and rules are shared).
    let (agent, session, status) = second.login("admin", ADMIN_PASSWORD).await;
    assert_eq!(status, 303);
    let session = session.unwrap();
    let mut feed = second
        .socket("/ws/agent/", Some(&session), None)
        .await
        .unwrap();
    visitor
        .send(json!({"type": "message", "text": "I want to speak to a human agent"}))
        .await;
    feed.until(|f| {
        f["type"] == "room"
            && f["room"]["id"] == room.as_str()
            && f["room"]["status"] == "waiting_for_agent"
    })
    .await;

    let csrf = second.csrf(&agent).await;
    let accepted = agent
        .post(second.url(&format!("/agent/chat/{room}/")))
        .form(&[("action", "accept"), ("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), 303);
    let mut agent_socket = second
        .socket(&format!("/ws/chat/{room}/"), Some(&session), None)
        .await
        .unwrap();
    agent_socket
        .send(json!({"type": "message", "text": "Hello from the other instance"}))
        .await;
    let reply = visitor
        .until(|f| f["type"] == "message" && f["sender"] == "agent")
        .await;
    assert_eq!(
        reply["text"].as_str(),
        Some("Hello from the other instance")
    );
    visitor
        .send(json!({"type": "message", "text": "Thanks!"}))
        .await;
    let seen = agent_socket
        .until(|f| f["type"] == "message" && f["sender"] == "visitor" && f["text"] == "Thanks!")
        .await;
    assert!(seen["seq"].as_u64().is_some());
    first.stop().await;
    second.stop().await;
}
