//! The bad-input catalogue: hostile and malformed input over the WebSocket protocol, the JSON API
//! and the forms. Each case gets a clear error; afterwards nothing was stored or changed, and the
//! server, the same socket and other visitors' chats still work.

use std::time::Duration;

use futures_util::SinkExt;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message as WsMessage;

mod support;
use support::{input_value, Socket, TestServer, ADMIN_PASSWORD};

/// A form post: what it tries, its fields, the status and a phrase the page must show.
type FormCase = (&'static str, Vec<(&'static str, String)>, u16, &'static str);

/// Frames a visitor sends on an open socket, and the error code each must get back.
fn bad_frames() -> Vec<(&'static str, String, &'static str)> {
    let deep = format!(
        "{{\"type\":\"message\",\"text\":\"x\",\"deep\":{}{}}}",
        "[".repeat(5000),
        "]".repeat(5000)
    );
    vec![
        ("truncated JSON", r#"{"type":"#.into(), "invalid_json"),
        ("not JSON at all", "hello there".into(), "invalid_json"),
        ("a JSON array", "[]".into(), "invalid_frame"),
        ("type is a number", r#"{"type":5}"#.into(), "invalid_frame"),
        (
            "unknown type",
            r#"{"type":"launch"}"#.into(),
            "unknown_type",
        ),
        (
            "message without text",
            r#"{"type":"message"}"#.into(),
            "invalid_frame",
        ),
        (
            "text is a number",
            r#"{"type":"message","text":5}"#.into(),
            "invalid_frame",
        ),
        (
            "text is null",
            r#"{"type":"message","text":null}"#.into(),
            "invalid_frame",
        ),
        (
            "client_id is a number",
            r#"{"type":"message","text":"hi","client_id":7}"#.into(),
            "invalid_frame",
        ),
        (
            "huge rating",
            r#"{"type":"rate","score":99999999999999999999999}"#.into(),
            "invalid_frame",
        ),
        (
            "negative rating",
            r#"{"type":"rate","score":-1}"#.into(),
            "invalid_frame",
        ),
        (
            "rating an open chat",
            r#"{"type":"rate","score":5}"#.into(),
            "not_closed",
        ),
        (
            "resume from a string",
            r#"{"type":"resume","after_seq":"x"}"#.into(),
            "invalid_frame",
        ),
        ("10,000-deep nesting", deep, "invalid_json"),
        (
            "NUL byte",
            json!({"type":"message","text":"a\u{0}b"}).to_string(),
            "invalid_text",
        ),
        (
            "bell control character",
            json!({"type":"message","text":"ding\u{7}"}).to_string(),
            "invalid_text",
        ),
        (
            "right-to-left override",
            json!({"type":"message","text":"abc\u{202E}fdp.exe"}).to_string(),
            "invalid_text",
        ),
        (
            "only spaces",
            json!({"type":"message","text":"   \n\t "}).to_string(),
            "empty",
        ),
        (
            "only zero-width spaces",
            json!({"type":"message","text":"\u{200B}\u{200B}"}).to_string(),
            "empty",
        ),
        (
            "1,001 characters",
            json!({"type":"message","text":"é".repeat(1001)}).to_string(),
            "too_long",
        ),
        (
            "65-byte client id",
            json!({"type":"message","text":"hi","client_id":"c".repeat(65)}).to_string(),
            "invalid_request",
        ),
        (
            "frame over 16 KiB",
            json!({"type":"message","text":"x".repeat(20_000)}).to_string(),
            "frame_too_large",
        ),
    ]
}

/// The next error frame, skipping status, typing and message frames.
async fn next_error(socket: &mut Socket) -> Value {
    socket.until(|frame| frame["type"] == "error").await
}

/// What must not change: rules, accounts, and each listed room's messages.
async fn snapshot(server: &TestServer, rooms: &[&str]) -> Value {
    let chat = server.state.chat();
    let mut messages = Vec::new();
    for room in rooms {
        let history = chat.history(room.parse().unwrap(), 0, 500).await.unwrap();
        messages.push(json!(history
            .iter()
            .map(|m| (m.seq, m.text.clone()))
            .collect::<Vec<_>>()));
    }
    json!({
        "rules": chat.rules().await.unwrap(),
        "agents": chat.store().list_agents().await.unwrap().len(),
        "messages": messages,
    })
}

/// Raw HTTP/1.1 over TCP, for requests a client library refuses to send; returns all it answered.
async fn raw_http(server: &TestServer, request: &[u8]) -> String {
    let mut tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    tcp.write_all(request).await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), tcp.read_to_end(&mut answer)).await;
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bad_input_catalogue() {
    let server = TestServer::start().await;
    let (room, _cookie, mut socket) = server.visitor_socket().await;
    let (other_room, _other_cookie, mut other) = server.visitor_socket().await;
    let (admin, _, _) = server.login("admin", ADMIN_PASSWORD).await;
    let csrf = server.api_csrf(&admin).await;
    let before = snapshot(&server, &[&room, &other_room]).await;
    let mut cases = 0;

    // 1. The WebSocket protocol.
    for (what, frame, code) in bad_frames() {
        socket.send_raw(&frame).await;
        let error = next_error(&mut socket).await;
        assert_eq!(error["code"], code, "{what}: {error}");
        assert!(
            error["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{what}: the error says why"
        );
        cases += 1;
    }
    socket
        .stream
        .send(WsMessage::Binary(vec![0xff, 0xfe, 0x00].into()))
        .await
        .unwrap();
    assert_eq!(next_error(&mut socket).await["code"], "binary_frame");
    cases += 1;

    // 2. The JSON API, as a logged-in superuser (so refusals are about the input, not the role).
    let api = |method: reqwest::Method, path: &str| {
        admin
            .request(method, server.url(path))
            .header("x-csrf-token", &csrf)
    };
    let missing_room = chatcore::RoomId::random();
    let api_cases: Vec<(&str, reqwest::RequestBuilder, u16, &str)> = vec![
        ("path traversal in a room id", api(reqwest::Method::GET, "/api/v1/rooms/..%2f..%2fetc%2fpasswd"), 404, "not_found"),
        ("SQL in a room id", api(reqwest::Method::GET, "/api/v1/rooms/'%20OR%201=1%20--"), 404, "not_found"),
        ("Redis command in a room id", api(reqwest::Method::GET, "/api/v1/rooms/x%0d%0aFLUSHALL%0d%0a"), 404, "not_found"),
        ("unknown room", api(reqwest::Method::GET, &format!("/api/v1/rooms/{missing_room}")), 404, "not_found"),
        ("unknown room's messages", api(reqwest::Method::POST, &format!("/api/v1/rooms/{missing_room}/messages")).json(&json!({"text": "hi"})), 404, "not_found"),
        ("malformed JSON", api(reqwest::Method::POST, "/api/v1/rules").header("content-type", "application/json").body("{\"intent\":"), 400, "invalid_json"),
        ("wrong types", api(reqwest::Method::POST, "/api/v1/rules").json(&json!({"intent": 1, "keywords": "x", "response": [], "priority": "high"})), 400, "invalid_json"),
        ("huge priority", api(reqwest::Method::POST, "/api/v1/rules").header("content-type", "application/json").body(r#"{"intent":"x","keywords":["x"],"response":"r","priority":1e40}"#), 400, "invalid_json"),
        ("priority out of range", api(reqwest::Method::POST, "/api/v1/rules").json(&json!({"intent": "x", "keywords": ["x"], "response": "r", "priority": 2_000_000})), 400, "invalid_rule"),
        ("Redis command as an intent", api(reqwest::Method::POST, "/api/v1/rules").json(&json!({"intent": "x\r\nFLUSHALL", "keywords": ["x"], "response": "r", "priority": 1})), 400, "invalid_json"),
        ("unknown rule field", api(reqwest::Method::POST, "/api/v1/rules").json(&json!({"intent": "x", "keywords": ["x"], "response": "r", "priority": 1, "admin": true})), 400, "invalid_json"),
        ("deep nesting", api(reqwest::Method::POST, "/api/v1/explain").header("content-type", "application/json").body(format!("{{\"text\":\"hi\",\"draft\":{}{}}}", "[".repeat(5000), "]".repeat(5000))), 400, "invalid_json"),
        ("invalid UTF-8", api(reqwest::Method::POST, "/api/v1/explain").header("content-type", "application/json").body(vec![b'{', b'"', b't', b'e', b'x', b't', b'"', b':', b'"', 0xff, 0xfe, b'"', b'}']), 400, "invalid_json"),
        ("JSON sent as text/plain", api(reqwest::Method::POST, "/api/v1/explain").header("content-type", "text/plain").body("{\"text\":\"hi\"}"), 415, "unsupported_media_type"),
        ("1 MB body", api(reqwest::Method::POST, "/api/v1/explain").header("content-type", "application/json").body(format!("{{\"text\":\"{}\"}}", "x".repeat(1 << 20))), 413, "too_large"),
        ("NUL in an agent's reply", api(reqwest::Method::POST, &format!("/api/v1/rooms/{room}/messages")).json(&json!({"text": "a\u{0}b"})), 400, "invalid_text"),
        ("reply to a room not accepted", api(reqwest::Method::POST, &format!("/api/v1/rooms/{room}/messages")).json(&json!({"text": "hello"})), 403, "forbidden"),
        ("accept a room nobody escalated", api(reqwest::Method::POST, &format!("/api/v1/rooms/{room}/accept")), 409, "conflict"),
        ("no CSRF header", admin.post(server.url("/api/v1/rules")).json(&json!({"intent": "x", "keywords": ["x"], "response": "r", "priority": 1})), 403, "csrf"),
        ("forged CSRF header", admin.post(server.url("/api/v1/rules")).header("x-csrf-token", "AAAAAAAAAAAAAAAAAAAAAA").json(&json!({"intent": "x", "keywords": ["x"], "response": "r", "priority": 1})), 403, "csrf"),
        ("forged session cookie", server.client().get(server.url("/api/v1/rooms")).header("cookie", "chatcore_session=1.999999999999.AAAA.forged"), 401, "unauthorized"),
    ];
    let mut wrong = Vec::new();
    for (what, request, status, code) in api_cases {
        let response = request.send().await.unwrap();
        let got = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if got != status || (!code.is_empty() && body["error"]["code"] != code) {
            wrong.push(format!("{what}: {got} {body}"));
        }
        cases += 1;
    }
    assert!(wrong.is_empty(), "{wrong:#?}");

    // 3. Forms and pages.
    let page = server.page(&admin, "/agent/bot-responses/").await;
    let form_csrf = input_value(&page, "csrf").unwrap();
    let form_cases: Vec<FormCase> = vec![
        (
            "a form without its token",
            vec![("action", "delete".into()), ("id", "1".into())],
            403,
            "security token",
        ),
        (
            "a forged form token",
            vec![
                ("csrf", "forged".into()),
                ("action", "delete".into()),
                ("id", "1".into()),
            ],
            403,
            "security token",
        ),
        (
            "priority 1e99",
            vec![
                ("csrf", form_csrf.clone()),
                ("action", "create".into()),
                ("intent", "x".into()),
                ("keywords", "x".into()),
                ("response", "r".into()),
                ("priority", "1e99".into()),
            ],
            400,
            "is not a whole number",
        ),
        (
            "HTML as an intent",
            vec![
                ("csrf", form_csrf.clone()),
                ("action", "create".into()),
                ("intent", "<script>alert(1)</script>".into()),
                ("keywords", "x".into()),
                ("response", "r".into()),
                ("priority", "1".into()),
            ],
            400,
            "&lt;script&gt;",
        ),
        (
            "unknown action",
            vec![
                ("csrf", form_csrf.clone()),
                ("action", "drop_tables".into()),
            ],
            400,
            "unknown action",
        ),
    ];
    for (what, fields, status, says) in form_cases {
        let response = admin
            .post(server.url("/agent/bot-responses/"))
            .form(&fields)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), status, "{what}");
        let html = response.text().await.unwrap();
        assert!(html.contains(says), "{what}: {html}");
        assert!(
            !html.contains("<script>alert(1)</script>"),
            "{what}: escaped"
        );
        cases += 1;
    }

    // 4. Visitor entry points.
    let visitor_cases: Vec<(&str, reqwest::RequestBuilder, u16)> = vec![
        (
            "forged customer identity",
            server
                .client()
                .post(server.url("/chat/start/"))
                .header("origin", "https://rentals.example")
                .json(&json!({"customer": "C-1", "signature": "00".repeat(32)})),
            403,
        ),
        (
            "identity from a foreign site",
            server
                .client()
                .post(server.url("/chat/start/"))
                .header("origin", "https://evil.example")
                .json(&json!({"customer": "C-1", "signature": "00"})),
            403,
        ),
        (
            "identity without signature",
            server
                .client()
                .post(server.url("/chat/start/"))
                .header("origin", "https://rentals.example")
                .json(&json!({"customer": "C-1"})),
            400,
        ),
        (
            "malformed start body",
            server
                .client()
                .post(server.url("/chat/start/"))
                .body("{\"new\":"),
            400,
        ),
        (
            "path traversal in static files",
            server.client().get(server.url("/static/..%2fCargo.toml")),
            404,
        ),
        (
            "unknown static file",
            server.client().get(server.url("/static/secret.key")),
            404,
        ),
    ];
    for (what, request, status) in visitor_cases {
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), status, "{what}");
        cases += 1;
    }
    for (what, path, cookie, status) in [
        (
            "a socket for a room id that is not one",
            "/ws/chat/not-a-room/".to_owned(),
            None,
            404,
        ),
        (
            "a socket for another visitor's room",
            format!("/ws/chat/{other_room}/"),
            Some(format!("chatcore_visitor={room}.forgedtoken")),
            403,
        ),
        (
            "a socket with a forged visitor token",
            format!("/ws/chat/{room}/"),
            Some(format!("chatcore_visitor={room}.AAAAAAAAAAAAAAAAAAAAAA")),
            403,
        ),
    ] {
        let refused = server
            .socket(&path, cookie.as_deref(), Some(&server.base))
            .await;
        assert_eq!(refused.err(), Some(status), "{what}");
        cases += 1;
    }
    // Request smuggling: both Content-Length and Transfer-Encoding. The server reads the body one
    // way only (chunked), so the "hidden" second request is just another anonymous request on the
    // connection: it never gets a staff page.
    let smuggled = raw_http(
        &server,
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /admin/ HTTP/1.1\r\nHost: x\r\n\r\n",
    )
    .await;
    assert!(
        !smuggled.contains("Agent accounts"),
        "smuggling: {smuggled}"
    );
    for status in smuggled.lines().filter(|l| l.starts_with("HTTP/1.1 ")) {
        assert!(
            ["HTTP/1.1 200", "HTTP/1.1 303", "HTTP/1.1 400"]
                .iter()
                .any(|ok| status.starts_with(ok)),
            "smuggling: {status}"
        );
    }
    let bad_header = raw_http(
        &server,
        b"GET /chat/ HTTP/1.1\r\nHost: x\r\nX-Evil: a\rb\r\n\r\n",
    )
    .await;
    assert!(
        bad_header
            .lines()
            .next()
            .is_some_and(|l| l.starts_with("HTTP/1.1 400")),
        "a bare CR in a header: {bad_header}"
    );
    cases += 2;

    assert!(cases >= 40, "the catalogue has {cases} cases");
    // Nothing was stored or changed by any of it.
    assert_eq!(snapshot(&server, &[&room, &other_room]).await, before);
    // The same socket and the other visitor's still work.
    for socket in [&mut socket, &mut other] {
        socket
            .send(json!({"type": "message", "text": "hello", "client_id": "after"}))
            .await;
        let ack = socket.until(|frame| frame["client_id"] == "after").await;
        assert_eq!(ack["sender"], "visitor");
        socket.until(|frame| frame["sender"] == "bot").await;
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn floods_and_huge_frames_close_only_their_own_connection() {
    let server = TestServer::start().await;
    let (_room, _cookie, mut bystander) = server.visitor_socket().await;

    // A 1 MB frame: over the transport limit, the connection is closed with "message too big".
    let (_, _, mut huge) = server.visitor_socket().await;
    let _ = huge
        .stream
        .send(WsMessage::Text("x".repeat(1 << 20).into()))
        .await;
    let close = huge.closed().await;
    assert_eq!(close, Some(1009), "message too big");

    // 10,000 frames as fast as possible: closed as a policy violation.
    let (_, _, mut flood) = server.visitor_socket().await;
    for _ in 0..10_000 {
        if flood
            .stream
            .send(WsMessage::Text(r#"{"type":"typing"}"#.into()))
            .await
            .is_err()
        {
            break;
        }
    }
    assert_eq!(flood.closed().await, Some(1008), "policy violation");

    // The bystander did not notice.
    bystander
        .send(json!({"type": "message", "text": "still there?", "client_id": "b-1"}))
        .await;
    bystander.until(|frame| frame["client_id"] == "b-1").await;
    bystander.until(|frame| frame["sender"] == "bot").await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_token_replayed_after_close_changes_nothing() {
    let server = TestServer::start().await;
    let (room, cookie, mut socket) = server.visitor_socket().await;
    socket.send(json!({"type": "close"})).await;
    socket
        .until(|frame| frame["type"] == "status" && frame["status"] == "closed")
        .await;
    let before = snapshot(&server, &[&room]).await;
    // The same cookie, a new socket: it may read the ended chat, not write to it.
    let mut replay = server
        .socket(
            &format!("/ws/chat/{room}/"),
            Some(&cookie),
            Some(&server.base),
        )
        .await
        .unwrap();
    for frame in [
        json!({"type": "message", "text": "let me back in"}),
        json!({"type": "escalate"}),
        json!({"type": "close"}),
    ] {
        replay.send(frame).await;
        let error = next_error(&mut replay).await;
        assert_eq!(error["code"], "room_closed", "{error}");
    }
    assert_eq!(snapshot(&server, &[&room]).await, before);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_messages_is_limited_per_connection() {
    let server = TestServer::start().await;
    let (room, _cookie, mut socket) = server.visitor_socket().await;
    let before = server
        .state
        .chat()
        .room(room.parse().unwrap())
        .await
        .unwrap()
        .last_seq;
    // Fifteen messages at once: the burst of ten is taken, the rest refused with a clear error.
    for n in 0..15 {
        socket
            .send(json!({"type": "message", "text": format!("hello {n}"), "client_id": format!("b-{n}")}))
            .await;
    }
    let mut acknowledged = 0;
    let mut limited = 0;
    while acknowledged + limited < 15 {
        let frame = socket.next().await;
        if frame["type"] == "error" {
            assert_eq!(frame["code"], "rate_limited", "{frame}");
            limited += 1;
        } else if frame["sender"] == "visitor" && frame["client_id"].is_string() {
            acknowledged += 1;
        }
    }
    assert_eq!((acknowledged, limited), (10, 5));
    let after = server
        .state
        .chat()
        .room(room.parse().unwrap())
        .await
        .unwrap();
    // Ten messages and their ten answers (the bot may have escalated after fallbacks in a row:
    // that is one system line more).
    assert!(
        after.last_seq >= before + 20,
        "{} -> {}",
        before,
        after.last_seq
    );
    // The connection stays open and, a moment later, takes messages again.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    socket
        .send(json!({"type": "message", "text": "and now?", "client_id": "later"}))
        .await;
    socket.until(|frame| frame["client_id"] == "later").await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_stalls_nobody_and_is_closed_with_1008() {
    let server = TestServer::start().await;
    let chat = server.state.chat();
    let (room, _cookie, mut never_reads) = server.visitor_socket().await;
    let room_id: chatcore::RoomId = room.parse().unwrap();
    let admin = chat.find_agent("admin").await.unwrap().unwrap();
    chat.request_escalation(room_id).await.unwrap();
    chat.accept(room_id, admin.id).await.unwrap();
    // The agent watches the same room on a socket of their own, and reads everything.
    let (_agent, session, _) = server.login("admin", ADMIN_PASSWORD).await;
    let mut watcher = server
        .socket(
            &format!("/ws/chat/{room}/"),
            session.as_deref(),
            Some(&server.base),
        )
        .await
        .unwrap();
    const LINES: u64 = 16_000;
    let reader = tokio::spawn(async move {
        let mut last = 0;
        while last < LINES {
            let frame = watcher.next().await;
            if let Some(n) = frame["text"].as_str().and_then(|t| t.strip_prefix("line ")) {
                last = n.split(' ').next().unwrap().parse().unwrap();
            }
        }
        last
    });
    // ~16 MB of answers to a visitor who reads none of them — more than the kernel's socket
    // buffers hold: each is stored and published at once all the same.
    let long = "x".repeat(980);
    let started = std::time::Instant::now();
    for n in 1..=LINES {
        chat.post_agent_message(room_id, admin.id, &format!("line {n} {long}"), None)
            .await
            .unwrap();
    }
    let took = started.elapsed();
    assert!(took < Duration::from_secs(60), "the room stalled: {took:?}");
    let last = tokio::time::timeout(Duration::from_secs(60), reader)
        .await
        .expect("the watcher got every line")
        .unwrap();
    assert_eq!(last, LINES);
    // The server gives up on a socket that takes nothing for 10 s (its send times out) instead of
    // buffering without end, and queues a close frame behind what the kernel holds. A client that
    // starts reading again within the grace finds the frames it was sent, then close 1008 "not
    // reading", then the end; the rest of the chat is not there: it resumes by seq on a new
    // connection.
    let waiting = std::time::Instant::now();
    while server.metric("chatcore_stalled_connections_total").await != Some(1.0) {
        assert!(
            waiting.elapsed() < Duration::from_secs(30),
            "the server never gave up on the socket that reads nothing"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut last_line = 0u64;
    let mut close_frame = None;
    let ended = loop {
        let next = futures_util::StreamExt::next(&mut never_reads.stream);
        match tokio::time::timeout(Duration::from_secs(10), next).await {
            Ok(Some(Ok(WsMessage::Text(text)))) => {
                let frame: Value = serde_json::from_str(&text).unwrap();
                if let Some(n) = frame["text"].as_str().and_then(|t| t.strip_prefix("line ")) {
                    last_line = n.split(' ').next().unwrap().parse().unwrap();
                }
            }
            Ok(Some(Ok(WsMessage::Close(frame)))) => close_frame = frame,
            Ok(Some(Ok(_))) => {}
            Ok(Some(Err(_)) | None) => break true,
            Err(_) => break false,
        }
    };
    assert!(
        ended,
        "the connection of a client that reads nothing stays open"
    );
    assert!(
        last_line < LINES,
        "every line was buffered for it: {last_line}"
    );
    let close_frame = close_frame.expect("a close frame after the last line it was sent");
    assert_eq!(u16::from(close_frame.code), 1008);
    assert_eq!(close_frame.reason.as_str(), "not reading");
    server.stop().await;
}
