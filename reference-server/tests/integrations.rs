//! Webhooks and `/metrics`, over real sockets on loopback.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode};
use chatcore::{ClosedBy, MessageStore, OpenRoom};
use serde_json::Value;

mod support;
use support::{metric_sample, TestServer};

const WEBHOOK_SECRET: &str = "webhook secret for the tests";

/// What a receiver got: headers and body of each request.
type Received = Arc<Mutex<Vec<(HeaderMap, Vec<u8>)>>>;

/// A webhook receiver on a free loopback port that answers `status` to the first `failures`
/// requests and 200 after, each after `delay`.
async fn receiver(failures: usize, delay: Duration) -> (String, Received) {
    let received: Received = Arc::default();
    let log = received.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
            let log = log.clone();
            async move {
                tokio::time::sleep(delay).await;
                let mut log = log.lock().unwrap();
                log.push((headers, body.to_vec()));
                if log.len() <= failures {
                    StatusCode::SERVICE_UNAVAILABLE
                } else {
                    StatusCode::OK
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, received)
}

async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_events_are_posted_signed_and_retried() {
    let (url, received) = receiver(1, Duration::ZERO).await;
    let server = TestServer::start_with(|options| {
        options.webhook_urls = vec![url.clone()];
        options.webhook_secret = Some(WEBHOOK_SECRET.into());
    })
    .await;
    let chat = server.state.chat();
    let agent = chat.find_agent("admin").await.unwrap().unwrap();
    let (room, _) = chat.open_room(OpenRoom::anonymous()).await.unwrap();
    chat.post_visitor_message(room.id, "hello", None)
        .await
        .unwrap();
    chat.post_visitor_message(room.id, "I want to talk to a human", None)
        .await
        .unwrap();
    chat.accept(room.id, agent.id).await.unwrap();
    chat.close(room.id, ClosedBy::Agent(agent.id))
        .await
        .unwrap();
    chat.rate(room.id, 5).await.unwrap();
    // The first delivery is refused once (503) and retried a second later.
    until("five requests", || received.lock().unwrap().len() >= 5).await;
    let received = received.lock().unwrap().clone();
    let mut delivered = Vec::new();
    for (headers, body) in &received {
        let signature = headers["x-chatcore-signature"].to_str().unwrap();
        assert_eq!(
            signature,
            format!(
                "sha256={}",
                reference_server::webhooks::sign(WEBHOOK_SECRET, body)
            )
        );
        assert_eq!(headers["content-type"], "application/json");
        let event: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(
            headers["x-chatcore-event"],
            event["event"].as_str().unwrap()
        );
        assert_eq!(
            headers["x-chatcore-delivery"],
            event["id"].as_str().unwrap()
        );
        assert_eq!(event["room"]["id"], room.id.to_string());
        delivered.push(event);
    }
    // Deliveries run side by side, so they arrive in any order. The refused one came again: same
    // id, same body.
    let mut by_id: std::collections::BTreeMap<String, Vec<&Value>> = Default::default();
    for event in &delivered {
        by_id
            .entry(event["id"].as_str().unwrap().to_owned())
            .or_default()
            .push(event);
    }
    assert_eq!(by_id.len(), 4, "{delivered:?}");
    assert_eq!(by_id.values().filter(|sent| sent.len() == 2).count(), 1);
    for sent in by_id.values() {
        assert!(
            sent.iter().all(|e| e == &sent[0]),
            "a retry is the same body"
        );
    }
    let event = |name: &str| {
        by_id
            .values()
            .map(|sent| sent[0])
            .find(|e| e["event"] == name)
            .unwrap_or_else(|| panic!("no {name}"))
    };
    assert_eq!(
        event("room.escalated")["detail"]["reason"],
        "escalation_intent"
    );
    assert_eq!(
        event("room.escalated")["room"]["status"],
        "waiting_for_agent"
    );
    assert_eq!(event("room.accepted")["detail"]["agent"], agent.id.0);
    assert_eq!(event("room.closed")["detail"]["by"]["by"], "agent");
    assert_eq!(event("room.rated")["detail"]["rating"], 5);
    let metrics = server.page(&server.client(), "/metrics").await;
    assert!(
        metrics.contains("chatcore_webhook_deliveries_total{outcome=\"retried\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("chatcore_webhook_deliveries_total{outcome=\"delivered\"} 4"),
        "{metrics}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_receiver_never_slows_a_chat() {
    let (url, received) = receiver(0, Duration::from_secs(20)).await;
    let server = TestServer::start_with(|options| {
        options.webhook_urls = vec![url.clone()];
        options.webhook_secret = Some(WEBHOOK_SECRET.into());
    })
    .await;
    let chat = server.state.chat();
    let started = Instant::now();
    for _ in 0..20 {
        let (room, _) = chat.open_room(OpenRoom::anonymous()).await.unwrap();
        chat.request_escalation(room.id).await.unwrap();
        chat.close(room.id, ClosedBy::Visitor).await.unwrap();
    }
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "40 events took {:?}",
        started.elapsed()
    );
    assert!(
        received.lock().unwrap().is_empty(),
        "the receiver is still thinking"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_webhook_settings_are_refused_at_start() {
    let dir = tempfile::Builder::new()
        .prefix("hooks-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap();
    for (urls, secret, message) in [
        (
            vec!["http://127.0.0.1:9/hook"],
            None,
            "need --webhook-secret",
        ),
        (
            vec!["http://127.0.0.1:9/hook"],
            Some("short"),
            "at least 16 bytes",
        ),
        (
            vec!["ftp://example.com/x"],
            Some(WEBHOOK_SECRET),
            "must be http(s)",
        ),
        (vec!["not a url"], Some(WEBHOOK_SECRET), "is not a URL"),
    ] {
        let mut options = support::options(dir.path());
        options.webhook_urls = urls.into_iter().map(String::from).collect();
        options.webhook_secret = secret.map(String::from);
        let error = reference_server::build(&options).await.unwrap_err();
        assert!(error.to_string().contains(message), "{error}");
    }
    // The superuser's password follows the rule of every other account.
    let mut options = support::options(dir.path());
    options.admin_password = Some("x".into());
    let error = reference_server::build(&options).await.unwrap_err();
    assert!(
        error.to_string().contains("at least 8 characters"),
        "{error}"
    );
}

/// The value of a sample line (`name{labels} value`) in a metrics page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_what_happened() {
    let server = TestServer::start_with(|options| {
        options.metrics_token = Some("metrics token".into());
    })
    .await;
    let (_room, _cookie, mut socket) = server.visitor_socket().await;
    for text in ["hello", "blue moon", "I want to talk to a human"] {
        socket
            .send(serde_json::json!({"type": "message", "text": text}))
            .await;
        socket.until(|frame| frame["sender"] == "bot").await;
    }
    let get = |bearer: Option<&'static str>| {
        let mut request = server.client().get(server.url("/metrics"));
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        async move {
            let response = request.send().await.unwrap();
            let status = response.status();
            let content_type = response
                .headers()
                .get("content-type")
                .map(|v| v.to_str().unwrap().to_owned());
            (status, content_type, response.text().await.unwrap())
        }
    };
    let (status, content_type, page) = get(None).await;
    assert_eq!(status, 200, "loopback may read it");
    assert!(content_type
        .unwrap()
        .starts_with("application/openmetrics-text"));
    for (line, value) in [
        ("chatcore_messages_total{sender=\"visitor\"}", 3.0),
        ("chatcore_messages_total{sender=\"bot\"}", 3.0),
        (
            "chatcore_bot_answers_total{intent=\"greeting\",kind=\"matched\"}",
            1.0,
        ),
        (
            "chatcore_bot_answers_total{intent=\"none\",kind=\"fallback\"}",
            1.0,
        ),
        (
            "chatcore_escalations_total{reason=\"escalation_intent\"}",
            1.0,
        ),
        ("chatcore_bot_reply_seconds_count", 3.0),
        ("chatcore_queue_length", 1.0),
        ("chatcore_room_events_total{event=\"escalated\"}", 1.0),
        ("chatcore_connections", 1.0),
        ("chatcore_stalled_connections_total", 0.0),
    ] {
        assert_eq!(metric_sample(&page, line), Some(value), "{line} in\n{page}");
    }
    // The socket's own task is among the live ones: it goes when the socket closes.
    let tasks_open = metric_sample(&page, "chatcore_runtime_tasks").unwrap();
    socket.stream.close(None).await.unwrap();
    let closing = std::time::Instant::now();
    loop {
        let tasks = server.metric("chatcore_runtime_tasks").await.unwrap();
        if tasks < tasks_open {
            break;
        }
        assert!(
            closing.elapsed() < std::time::Duration::from_secs(5),
            "still {tasks} live tasks after the socket closed ({tasks_open} with it open)"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(page.trim_end().ends_with("# EOF"));
    // Through a reverse proxy on the same host the peer is loopback too: a forwarded request
    // needs the token.
    let proxied = server
        .client()
        .get(server.url("/metrics"))
        .header("x-forwarded-for", "203.0.113.9")
        .send()
        .await
        .unwrap();
    assert_eq!(proxied.status(), 403);
    // A wrong token is refused even from loopback; the right one works.
    assert_eq!(get(Some("guess")).await.0, 403);
    assert_eq!(get(Some("metrics token")).await.0, 200);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backend_errors_are_counted_by_operation() {
    let mut redis = chatcore_redis::testing::OwnRedis::start(false);
    let config = chatcore_redis::RedisConfig::new(redis.url()).prefix("metrics-test:");
    let store = chatcore_redis::RedisStore::connect(&config).await.unwrap();
    let metrics = Arc::new(reference_server::metrics::Metrics::new());
    let metered = reference_server::metrics::MeteredStore::new(Arc::new(store), metrics.clone());
    assert!(metered.rules_version().await.is_ok());
    // A client's mistake is not the backend's.
    assert!(metered.get_room(chatcore::RoomId::random()).await.is_err());
    redis.stop();
    assert!(metered.rules_version().await.is_err());
    assert!(metered.rules_version().await.is_err());
    let page = metrics.render(0, None);
    assert_eq!(
        metric_sample(
            &page,
            "chatcore_backend_errors_total{operation=\"rules_version\"}"
        ),
        Some(2.0),
        "{page}"
    );
    assert_eq!(
        metric_sample(
            &page,
            "chatcore_backend_errors_total{operation=\"get_room\"}"
        ),
        None
    );
}
