//! Redis going away under a running server (`--backend redis`, AOF on): requests fail fast with a
//! clear error while it is down, the server recovers by itself when it is back, nothing
//! acknowledged is lost, and clients resync by seq.

use std::time::{Duration, Instant};

use reference_server::config::Backend;
use serde_json::json;

mod support;
use support::{TestServer, ADMIN_PASSWORD};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_rides_out_a_redis_restart() {
    let mut redis = chatcore_redis::testing::OwnRedis::start(true);
    let url = redis.url();
    let server = TestServer::start_with(|options| {
        options.backend = Backend::Redis;
        options.redis_url = Some(url.clone());
        options.secret = Some(reference_server::auth::Secret::random().to_text());
    })
    .await;
    let (room, cookie, mut socket) = server.visitor_socket().await;
    let (_agent, session, _) = server.login("admin", ADMIN_PASSWORD).await;
    let mut feed = server
        .socket("/ws/agent/", session.as_deref(), None)
        .await
        .unwrap();
    let mut acked = Vec::new();
    for n in 0..3 {
        let id = format!("before-{n}");
        socket
            .send(json!({"type": "message", "text": "hello", "client_id": id}))
            .await;
        let ack = socket
            .until(|frame| frame["client_id"] == id.as_str())
            .await;
        acked.push((ack["seq"].as_u64().unwrap(), id));
    }

    // Down: a message is refused quickly with a clear error, and the socket stays usable.
    redis.stop();
    let started = Instant::now();
    socket
        .send(json!({"type": "message", "text": "are you there?", "client_id": "during"}))
        .await;
    let error = loop {
        let frame = socket.next_within(Duration::from_secs(20)).await;
        if frame["type"] == "error" {
            break frame;
        }
    };
    assert_eq!(error["code"], "unavailable", "{error}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "failed fast: {:?}",
        started.elapsed()
    );
    let health = server
        .client()
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 503, "health says the store is down");

    // Back: the same server, without a restart, takes messages again.
    redis.restart();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut attempt = 0;
    loop {
        attempt += 1;
        let id = format!("after-{attempt}");
        socket
            .send(json!({"type": "message", "text": "I want to talk to a human", "client_id": id}))
            .await;
        let frame = loop {
            let frame = socket.next_within(Duration::from_secs(20)).await;
            if frame["client_id"] == id.as_str() || frame["type"] == "error" {
                break frame;
            }
        };
        if frame["type"] != "error" {
            acked.push((frame["seq"].as_u64().unwrap(), id));
            break;
        }
        assert!(Instant::now() < deadline, "no recovery: {frame}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // The agents' feed is back too: it hears the escalation (or says it lagged, and reloads).
    let heard = loop {
        let frame = feed.next_within(Duration::from_secs(20)).await;
        let lagged = frame["type"] == "error" && frame["code"] == "lagged";
        if lagged || frame["type"] == "room" && frame["room"]["id"] == room.as_str() {
            break frame;
        }
    };
    assert!(heard["type"] == "room" || heard["code"] == "lagged");

    // Nothing acknowledged was lost (AOF), and a reconnecting client gets a gapless history.
    let mut again = server
        .socket(
            &format!("/ws/chat/{room}/?after_seq=0"),
            Some(&cookie),
            Some(&server.base),
        )
        .await
        .unwrap();
    let mut seen = Vec::new();
    loop {
        let next = futures_util::StreamExt::next(&mut again.stream);
        let Ok(Some(Ok(message))) = tokio::time::timeout(Duration::from_millis(500), next).await
        else {
            break;
        };
        if let tokio_tungstenite::tungstenite::Message::Text(text) = message {
            let frame: serde_json::Value = serde_json::from_str(&text).unwrap();
            if frame["type"] == "message" {
                seen.push((frame["seq"].as_u64().unwrap(), frame["client_id"].clone()));
            }
        }
    }
    let seqs: Vec<u64> = seen.iter().map(|(seq, _)| *seq).collect();
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>(), "gapless");
    for (seq, id) in &acked {
        assert_eq!(
            seen[*seq as usize - 1].1,
            id.as_str(),
            "acknowledged {id} at {seq}"
        );
    }
    server.stop().await;
}
