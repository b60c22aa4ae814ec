//! The whole chat over real sockets: visitor, bot, escalation, agent, close, rating, resume.

use serde_json::json;

mod support;
use support::{input_value, TestServer, ADMIN_PASSWORD};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn visitor_bot_escalation_agent_close_rating() {
    let server = TestServer::start().await;
    let (_visitor, room, visitor_cookie) = server.visitor().await;
    let mut visitor = server
        .socket(
            &format!("/ws/chat/{room}/?after_seq=0"),
            Some(&visitor_cookie),
            Some(&server.base),
        )
        .await
        .expect("visitor socket");
    let status = visitor.next().await;
    assert_eq!(
        (status["type"].as_str(), status["status"].as_str()),
        (Some("status"), Some("bot"))
    );
    let welcome = visitor.next().await;
    assert_eq!(
        (welcome["seq"].as_u64(), welcome["sender"].as_str()),
        (Some(1), Some("bot"))
    );

    // The seed's sample questions land on their intents; each message is acknowledged with its seq.
    let mut seq = 1;
    // With the demo catalog a price question without dates gets a follow-up question; the
    // availability question names dates and the room remembers the sedan, so it is answered.
    for (question, intent, kind) in [
        ("Hello", "greeting", "matched"),
        ("I want to book a car", "booking_inquiry", "matched"),
        (
            "How much does it cost to rent a sedan?",
            "pricing",
            "follow_up",
        ),
        (
            "Are there any cars available next week?",
            "availability",
            "matched",
        ),
        ("What are your contact details?", "contact", "matched"),
        ("I need help with my booking", "support", "matched"),
    ] {
        let client_id = format!("c-{seq}");
        visitor
            .send(json!({"type": "message", "text": question, "client_id": client_id}))
            .await;
        let ack = visitor.next().await;
        seq += 1;
        assert_eq!(ack["seq"].as_u64(), Some(seq), "{question}");
        assert_eq!(
            ack["client_id"].as_str(),
            Some(client_id.as_str()),
            "acknowledged with the client id"
        );
        let reply = visitor.next().await;
        seq += 1;
        assert_eq!(
            (reply["sender"].as_str(), reply["intent"].as_str()),
            (Some("bot"), Some(intent)),
            "{question}"
        );
        assert_eq!(
            reply["explanation"]["kind"].as_str(),
            Some(kind),
            "{question}"
        );
    }

    // An agent logs in and watches the feed.
    let (agent_client, session, status) = server.login("ADMIN", ADMIN_PASSWORD).await;
    assert_eq!(status, 303, "login redirects to the dashboard");
    let session = session.expect("session cookie");
    let mut feed = server
        .socket("/ws/agent/", Some(&session), None)
        .await
        .expect("agents' feed");

    visitor.send(json!({"type": "escalate"})).await;
    let waiting = visitor.until(|f| f["type"] == "status").await;
    assert_eq!(waiting["status"].as_str(), Some("waiting_for_agent"));
    assert_eq!(waiting["queue_position"].as_u64(), Some(1));
    let announced = feed
        .until(|f| f["type"] == "room" && f["room"]["id"] == room.as_str())
        .await;
    assert_eq!(
        announced["room"]["status"].as_str(),
        Some("waiting_for_agent")
    );

    // The dashboard lists it; accepting needs the CSRF token.
    let dashboard = server.page(&agent_client, "/agent/dashboard/").await;
    assert!(
        !dashboard.contains("Read-only"),
        "a writable store has no read-only banner"
    );
    assert!(
        dashboard.contains(&room),
        "the dashboard shows the waiting room"
    );
    let csrf = input_value(&dashboard, "csrf").unwrap();
    let refused = agent_client
        .post(server.url(&format!("/agent/chat/{room}/")))
        .form(&[("action", "accept"), ("csrf", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403, "a forged CSRF token is refused");
    let accepted = agent_client
        .post(server.url(&format!("/agent/chat/{room}/")))
        .form(&[("action", "accept"), ("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), 303);
    let with_agent = visitor
        .until(|f| f["type"] == "status" && f["status"] == "with_agent")
        .await;
    assert_eq!(with_agent["agent_name"].as_str(), Some("Administrator"));

    // The agent replies over the room socket; the visitor receives it.
    let mut agent = server
        .socket(
            &format!("/ws/chat/{room}/?after_seq=0"),
            Some(&session),
            None,
        )
        .await
        .expect("agent socket");
    agent.send(json!({"type": "message", "text": "Hi, I can help with your booking.", "client_id": "a-1"})).await;
    let reply = visitor
        .until(|f| f["type"] == "message" && f["sender"] == "agent")
        .await;
    assert_eq!(
        reply["text"].as_str(),
        Some("Hi, I can help with your booking.")
    );

    // The visitor's XSS attempt is plain text to everyone.
    visitor
        .send(json!({"type": "message", "text": "<img src=x onerror=alert(1)>"}))
        .await;
    let echoed = agent
        .until(|f| {
            f["type"] == "message"
                && f["sender"] == "visitor"
                && f["text"].as_str().unwrap().contains("img")
        })
        .await;
    assert_eq!(
        echoed["text"].as_str(),
        Some("<img src=x onerror=alert(1)>")
    );

    // The agent closes; the visitor rates.
    let closed = agent_client
        .post(server.url(&format!("/agent/close-chat/{room}/")))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(closed.status(), 303);
    visitor
        .until(|f| f["type"] == "status" && f["status"] == "closed")
        .await;
    visitor
        .send(json!({"type": "message", "text": "one more thing"}))
        .await;
    let refused = visitor.until(|f| f["type"] == "error").await;
    assert_eq!(refused["code"].as_str(), Some("room_closed"));
    visitor.send(json!({"type": "rate", "score": 5})).await;
    let rated = visitor
        .until(|f| f["type"] == "status" && f["rating"] == 5)
        .await;
    assert_eq!(rated["status"].as_str(), Some("closed"));

    // Analytics reflect every step.
    let chat = server.state.chat();
    let figures = chat
        .analytics(chatcore::AnalyticsWindow::last_days(chat.now(), 1))
        .await
        .unwrap();
    assert_eq!((figures.total_sessions, figures.closed_sessions), (1, 1));
    assert_eq!(figures.escalation_rate, Some(1.0));
    assert_eq!(figures.average_rating, Some(5.0));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_returns_exactly_the_gap() {
    let server = TestServer::start().await;
    let (_client, room, cookie) = server.visitor().await;
    let path = |after: u64| format!("/ws/chat/{room}/?after_seq={after}");
    let mut first = server.socket(&path(0), Some(&cookie), None).await.unwrap();
    first.until(|f| f["seq"] == 1).await;
    first
        .send(json!({"type": "message", "text": "hello", "client_id": "x1"}))
        .await;
    first.until(|f| f["seq"] == 3).await;
    drop(first);
    // While disconnected, the room moves on.
    server
        .state
        .chat()
        .post_visitor_message(room.parse().unwrap(), "what does it cost", None)
        .await
        .unwrap();
    let mut second = server.socket(&path(3), Some(&cookie), None).await.unwrap();
    let mut seqs = Vec::new();
    while seqs.len() < 2 {
        let frame = second.next().await;
        if frame["type"] == "message" {
            seqs.push(frame["seq"].as_u64().unwrap());
        }
    }
    assert_eq!(
        seqs,
        [4, 5],
        "exactly the gap: no duplicate, no repeated welcome"
    );
    assert!(second.quiet().await, "nothing else");
    // A resend of an unacknowledged message is not stored twice.
    second
        .send(json!({"type": "message", "text": "hello", "client_id": "x1"}))
        .await;
    assert!(second.quiet().await, "the resend changes nothing");
    assert_eq!(
        server
            .state
            .chat()
            .room(room.parse().unwrap())
            .await
            .unwrap()
            .last_seq,
        5
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_frames_get_errors_and_the_connection_stays_usable() {
    let server = TestServer::start().await;
    let (_client, room, cookie) = server.visitor().await;
    let mut socket = server
        .socket(&format!("/ws/chat/{room}/"), Some(&cookie), None)
        .await
        .unwrap();
    socket.until(|f| f["seq"] == 1).await;
    let long = "é".repeat(1001);
    let cases: Vec<(String, &str)> = vec![
        ("{not json".into(), "invalid_json"),
        (r#"{"type":"shout"}"#.into(), "unknown_type"),
        (r#"{"type":"message","text":42}"#.into(), "invalid_frame"),
        (r#"{"type":"message","text":"   "}"#.into(), "empty"),
        (
            json!({"type": "message", "text": long}).to_string(),
            "too_long",
        ),
        (
            json!({"type": "message", "text": "a\u{0}b"}).to_string(),
            "invalid_text",
        ),
        (
            json!({"type": "message", "text": "rtl \u{202e}gpj.exe"}).to_string(),
            "invalid_text",
        ),
        (r#"{"type":"rate","score":9}"#.into(), "invalid_rating"),
        (r#"{"type":"rate","score":4}"#.into(), "not_closed"),
        (
            r#"{"type":"resume","after_seq":"x"}"#.into(),
            "invalid_frame",
        ),
    ];
    for (text, code) in cases {
        socket.send_raw(&text).await;
        let error = socket.next().await;
        assert_eq!(
            (error["type"].as_str(), error["code"].as_str()),
            (Some("error"), Some(code)),
            "{text:.60}"
        );
    }
    assert_eq!(
        server
            .state
            .chat()
            .room(room.parse().unwrap())
            .await
            .unwrap()
            .last_seq,
        1,
        "nothing stored"
    );
    socket
        .send(json!({"type": "message", "text": "hello"}))
        .await;
    let ack = socket.until(|f| f["type"] == "message").await;
    assert_eq!(ack["seq"].as_u64(), Some(2), "still usable");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nobody_gets_into_a_room_that_is_not_theirs() {
    let server = TestServer::start().await;
    let (_a, room_a, cookie_a) = server.visitor().await;
    let (_b, room_b, cookie_b) = server.visitor().await;
    assert_ne!(room_a, room_b, "two visitors, two rooms");
    let path = |room: &str| format!("/ws/chat/{room}/");
    assert!(server
        .socket(&path(&room_a), Some(&cookie_a), None)
        .await
        .is_ok());
    assert_eq!(
        server
            .socket(&path(&room_a), Some(&cookie_b), None)
            .await
            .err(),
        Some(403),
        "another visitor's room"
    );
    assert_eq!(
        server.socket(&path(&room_a), None, None).await.err(),
        Some(403),
        "no cookie"
    );
    let forged = format!("chatcore_visitor={room_a}.AAAAAAAAAAAAAAAAAAAAAA");
    assert_eq!(
        server
            .socket(&path(&room_a), Some(&forged), None)
            .await
            .err(),
        Some(403),
        "forged token"
    );
    assert_eq!(
        server
            .socket(&path("not-a-room"), Some(&cookie_a), None)
            .await
            .err(),
        Some(404)
    );
    assert_eq!(
        server
            .socket(
                &path(&room_a),
                Some(&cookie_a),
                Some("https://evil.example")
            )
            .await
            .err(),
        Some(403),
        "foreign origin"
    );
    assert!(
        server
            .socket(
                &path(&room_a),
                Some(&cookie_a),
                Some("https://rentals.example")
            )
            .await
            .is_ok(),
        "allowed origin"
    );
    assert_eq!(
        server
            .socket("/ws/agent/", Some(&cookie_a), None)
            .await
            .err(),
        Some(403),
        "visitors are not agents"
    );

    let anonymous = server.client();
    let dashboard = anonymous
        .get(server.url("/agent/dashboard/"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        dashboard.status(),
        303,
        "anonymous users are sent to the login page"
    );
    let (_, session, status) = server.login("admin", "wrong password").await;
    assert_eq!((status.as_u16(), session), (401, None), "wrong password");
    let (_, session, status) = server.login("nobody", "whatever").await;
    assert_eq!((status.as_u16(), session), (401, None), "unknown user");
    // A login form without its CSRF token is refused.
    let response = server
        .client()
        .post(server.url("/agent/login/"))
        .form(&[
            ("username", "admin"),
            ("password", ADMIN_PASSWORD),
            ("csrf", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_sends_close_frames() {
    let server = TestServer::start().await;
    let (_client, room, cookie) = server.visitor().await;
    let mut socket = server
        .socket(&format!("/ws/chat/{room}/"), Some(&cookie), None)
        .await
        .unwrap();
    socket.until(|f| f["seq"] == 1).await;
    let stopping = tokio::spawn(server.stop());
    let closed = loop {
        match tokio::time::timeout(
            std::time::Duration::from_secs(5),
            futures_util::StreamExt::next(&mut socket.stream),
        )
        .await
        {
            Ok(Some(Ok(tokio_tungstenite::tungstenite::Message::Close(frame)))) => break frame,
            Ok(Some(Ok(_))) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    };
    assert_eq!(closed.map(|f| u16::from(f.code)), Some(1001), "going away");
    stopping.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_edit_rules_and_read_analytics() {
    let server = TestServer::start().await;
    let (agent, session, _) = server.login("admin", ADMIN_PASSWORD).await;
    assert!(session.is_some());
    let page = agent
        .get(server.url("/agent/bot-responses/?try=How+much+is+a+sedan%3F"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("<strong>pricing</strong>"),
        "try a message shows the winning intent"
    );
    assert!(
        html.contains("<mark>How much</mark>"),
        "and the keyword in the message"
    );
    let csrf = input_value(&html, "csrf").unwrap();

    // A new rule answers the next message; a bad one is refused with a clear message.
    let created = agent
        .post(server.url("/agent/bot-responses/"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("action", "create"),
            ("intent", "roadside"),
            ("keywords", "flat tyre, breakdown"),
            ("response", "Call our roadside line: +1 555 0199."),
            ("priority", "95"),
            ("language", "en"),
            ("active", "on"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 303);
    let back = created.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        back.starts_with("/agent/bot-responses/?done=created&rule="),
        "{back}"
    );
    let confirmation = server.page(&agent, &back).await;
    assert!(
        confirmation.contains("was added"),
        "the editor confirms the save"
    );

    // A refused rule comes back as typed, with the reason, and nothing is stored.
    let rules_before = server.state.chat().rules().await.unwrap();
    let refused = agent
        .post(server.url("/agent/bot-responses/"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("action", "create"),
            ("intent", "towing"),
            ("keywords", "tow truck, winch"),
            ("response", "We send a tow truck."),
            ("priority", "99999999"),
            ("language", "en"),
            ("try", "I need a tow truck"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
    let page = refused.text().await.unwrap();
    for kept in [
        "tow truck, winch",
        "We send a tow truck.",
        "99999999",
        "I need a tow truck",
    ] {
        assert!(page.contains(kept), "{kept:?} is still in the form");
    }
    assert!(
        page.contains("must be between -1000000 and 1000000"),
        "in words, not Rust ranges"
    );
    assert_eq!(server.state.chat().rules().await.unwrap(), rules_before);
    let bad = agent
        .post(server.url("/agent/bot-responses/"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("action", "create"),
            ("intent", "no keywords"),
            ("keywords", " , "),
            ("response", "x"),
            ("priority", "1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    assert!(
        bad.text().await.unwrap().contains("class=\"error\""),
        "the page says what is wrong"
    );
    let forged = agent
        .post(server.url("/agent/bot-responses/"))
        .form(&[
            ("csrf", "nope"),
            ("action", "create"),
            ("intent", "x"),
            ("keywords", "y"),
            ("response", "z"),
            ("priority", "1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);

    let (_visitor, room, cookie) = server.visitor().await;
    let mut socket = server
        .socket(&format!("/ws/chat/{room}/"), Some(&cookie), None)
        .await
        .unwrap();
    socket
        .send(json!({"type": "message", "text": "I have a flat tyre"}))
        .await;
    let reply = socket
        .until(|f| f["type"] == "message" && f["sender"] == "bot" && f["seq"].as_u64() > Some(1))
        .await;
    assert_eq!(reply["intent"].as_str(), Some("roadside"));

    // Analytics: the page and its JSON.
    let page = agent
        .get(server.url("/agent/analytics/"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("<svg") && html.contains("Chat sessions"));
    let json = support::get_json(&agent, &server.url("/agent/analytics/?format=json")).await;
    assert_eq!(json["total_sessions"].as_u64(), Some(1));
    assert_eq!(json["daily_activity"].as_array().map(Vec::len), Some(7));

    // None of it for anonymous users.
    for path in [
        "/agent/bot-responses/",
        "/agent/analytics/",
        "/agent/analytics/?format=json",
    ] {
        let response = server.client().get(server.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 303, "{path}");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_customer_finds_their_chat_on_another_device() {
    let server = TestServer::start().await;
    let key = reference_server::auth::IdentityKey::new(support::IDENTITY_SECRET).unwrap();
    let host = "https://rentals.example";
    let vouch = |client: &reqwest::Client, customer: &str, signature: String, origin: &str| {
        client
            .post(server.url("/chat/start/"))
            .header("origin", origin)
            .json(&json!({"customer": customer, "signature": signature}))
            .send()
    };

    // The host site's page vouches for its logged-in customer.
    let laptop = server.client();
    let response = vouch(&laptop, "customer-42", key.sign("customer-42"), host)
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    let room = body["room_id"].as_str().unwrap().to_owned();
    let stored = server
        .state
        .chat()
        .room(room.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(
        stored.participant,
        chatcore::Participant::Customer("customer-42".into())
    );
    server
        .state
        .chat()
        .post_visitor_message(stored.id, "Hello from my laptop", None)
        .await
        .unwrap();

    // Another device, same customer: same chat, and its socket is allowed.
    let phone = server.client();
    let response = vouch(&phone, "customer-42", key.sign("customer-42"), host)
        .await
        .unwrap();
    let customer_cookie = support::set_cookie(&response, "chatcore_customer").unwrap();
    let raw_cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("chatcore_customer="))
        .unwrap()
        .to_owned();
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        body["room_id"].as_str(),
        Some(room.as_str()),
        "the same chat"
    );
    let mut socket = server
        .socket(&format!("/ws/chat/{room}/"), Some(&customer_cookie), None)
        .await
        .expect("the customer's socket");
    let seen = socket
        .until(|f| f["type"] == "message" && f["sender"] == "visitor")
        .await;
    assert_eq!(seen["text"].as_str(), Some("Hello from my laptop"));
    // The customer cookie ends with the browser session.
    assert!(!raw_cookie.contains("Max-Age"), "{raw_cookie}");

    // A shared laptop: the next customer the site vouches for gets a chat of their own, not the
    // previous customer's (which this browser's visitor cookie still points at).
    let response = vouch(&laptop, "customer-77", key.sign("customer-77"), host)
        .await
        .unwrap();
    let body: serde_json::Value = response.json().await.unwrap();
    let other = body["room_id"].as_str().unwrap();
    assert_ne!(other, room, "never another customer's chat");
    let stored = server
        .state
        .chat()
        .room(other.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(
        stored.participant,
        chatcore::Participant::Customer("customer-77".into())
    );

    // Refused: a forged signature; a valid one sent from anywhere but the host site (a link to this
    // server, this server's own page); and another customer's cookie opens nothing.
    let forged = vouch(&server.client(), "customer-42", "00".repeat(32), host)
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    let own_page = vouch(
        &server.client(),
        "customer-42",
        key.sign("customer-42"),
        &server.base,
    )
    .await
    .unwrap();
    assert_eq!(
        own_page.status(),
        403,
        "an identity must come from the host site"
    );
    let link = server
        .client()
        .get(server.url(&format!(
            "/chat/?customer=customer-42&signature={}",
            key.sign("customer-42")
        )))
        .send()
        .await
        .unwrap();
    assert!(
        support::set_cookie(&link, "chatcore_customer").is_none(),
        "links carry no identity"
    );
    let other = vouch(&server.client(), "customer-7", key.sign("customer-7"), host)
        .await
        .unwrap();
    let other_cookie = support::set_cookie(&other, "chatcore_customer").unwrap();
    assert_eq!(
        server
            .socket(&format!("/ws/chat/{room}/"), Some(&other_cookie), None)
            .await
            .err(),
        Some(403)
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetching_the_chat_page_creates_no_room() {
    let server = TestServer::start().await;
    for _ in 0..5 {
        let response = server
            .client()
            .get(server.url("/chat/"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert!(support::set_cookie(&response, "chatcore_visitor").is_none());
    }
    let chat = server.state.chat();
    let window = chatcore::AnalyticsWindow::last_days(chat.now(), 1);
    assert_eq!(
        chat.analytics(window).await.unwrap().total_sessions,
        0,
        "crawlers and probes open nothing"
    );
    // The page's script opens one room, and asking again keeps it.
    let (client, room, _) = server.visitor().await;
    assert_eq!(server.start_chat(&client).await.0, room);
    let foreign = server
        .client()
        .post(server.url("/chat/start/"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), 403, "other sites cannot open rooms");
    let window = chatcore::AnalyticsWindow::last_days(chat.now(), 1);
    assert_eq!(chat.analytics(window).await.unwrap().total_sessions, 1);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rough_edges_found_by_a_new_user() {
    let server = TestServer::start().await;
    let (agent, session, _) = server.login("admin", ADMIN_PASSWORD).await;
    let session = session.unwrap();
    let csrf = server.csrf(&agent).await;

    // Accepting a room that is not waiting, or does not exist, says so.
    let (_visitor, room, cookie) = server.visitor().await;
    let not_waiting = agent
        .post(server.url(&format!("/agent/chat/{room}/")))
        .form(&[("action", "accept"), ("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(not_waiting.status(), 409);
    assert!(not_waiting
        .text()
        .await
        .unwrap()
        .contains("not waiting for an agent"));
    let missing = agent
        .post(server.url(&format!("/agent/chat/{}/", chatcore::RoomId::random())))
        .form(&[("action", "accept"), ("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);

    // The visitor sees the agent's name when they join.
    let mut visitor = server
        .socket(&format!("/ws/chat/{room}/"), Some(&cookie), None)
        .await
        .unwrap();
    visitor.until(|f| f["seq"] == 1).await;
    visitor.send(json!({"type": "escalate"})).await;
    visitor
        .until(|f| f["type"] == "status" && f["status"] == "waiting_for_agent")
        .await;
    agent
        .post(server.url(&format!("/agent/chat/{room}/")))
        .form(&[("action", "accept"), ("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    let joined = visitor
        .until(|f| {
            f["type"] == "message"
                && f["sender"] == "system"
                && f["event"]["event"] == "agent_joined"
        })
        .await;
    assert_eq!(
        joined["text"].as_str(),
        Some("Administrator joined the chat.")
    );

    // In-band resume past the end, and a frame over the protocol's limit, get error frames.
    visitor
        .send(json!({"type": "resume", "after_seq": 9999}))
        .await;
    let error = visitor.until(|f| f["type"] == "error").await;
    assert_eq!(error["code"].as_str(), Some("invalid_request"));
    visitor
        .send_raw(&json!({"type": "message", "text": "x".repeat(20_000)}).to_string())
        .await;
    let error = visitor.until(|f| f["type"] == "error").await;
    assert_eq!(error["code"].as_str(), Some("frame_too_large"));
    visitor
        .send(json!({"type": "message", "text": "still here"}))
        .await;
    visitor
        .until(|f| f["type"] == "message" && f["text"] == "still here")
        .await;

    // Logging out ends the session: the old cookie opens nothing any more.
    let logout = agent
        .post(server.url("/agent/logout/"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 303);
    let stale = server
        .client()
        .get(server.url("/agent/dashboard/"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 303, "back to the login page");
    assert_eq!(
        server
            .socket("/ws/agent/", Some(&session), None)
            .await
            .err(),
        Some(403)
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_password_setting_is_the_way_back_in() {
    let dir = tempfile::Builder::new()
        .prefix("relogin-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap();
    let path = dir.path().to_path_buf();
    let first = TestServer::start_with(|o| {
        o.data_dir = path.clone();
        o.admin_password = None;
    })
    .await;
    first.stop().await;
    let second = TestServer::start_with(|o| {
        o.data_dir = path.clone();
        o.admin_password = Some("a new admin password".into());
    })
    .await;
    let (_, session, status) = second.login("admin", "a new admin password").await;
    assert_eq!((status.as_u16(), session.is_some()), (303, true));
    second.stop().await;
}

/// Waits up to 40 s (the heartbeat is 30 s) for the server to close the socket; returns the code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logging_out_closes_the_agents_open_sockets() {
    let server = TestServer::start().await;
    let (agent, session, _) = server.login("admin", ADMIN_PASSWORD).await;
    let session = session.unwrap();
    let (_visitor, room, _) = server.visitor().await;
    let mut feed = server
        .socket("/ws/agent/", Some(&session), None)
        .await
        .unwrap();
    let mut in_room = server
        .socket(&format!("/ws/chat/{room}/"), Some(&session), None)
        .await
        .unwrap();
    let csrf = server.csrf(&agent).await;
    agent
        .post(server.url("/agent/logout/"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(feed.closed().await, Some(1008));
    assert_eq!(in_room.closed().await, Some(1008));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn floods_of_rooms_logins_and_big_bodies_are_refused() {
    let server = TestServer::start().await;
    let mut statuses = Vec::new();
    for _ in 0..31 {
        statuses.push(
            server
                .client()
                .post(server.url("/chat/start/"))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16(),
        );
    }
    assert!(statuses[..30].iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(statuses[30], 429, "new chats per address are limited");

    // Too many logins from one address, whatever the usernames. (Each answer carries the next
    // form's token, as a browser would use it.)
    let client = server.client();
    let mut page = server.page(&client, "/agent/login/").await;
    let mut last = 0;
    for i in 0..101 {
        let csrf = input_value(&page, "csrf").unwrap();
        let name = format!("user{i}-{}", "x".repeat(100));
        let response = client
            .post(server.url("/agent/login/"))
            .form(&[
                ("username", name.as_str()),
                ("password", "guess"),
                ("csrf", csrf.as_str()),
            ])
            .send()
            .await
            .unwrap();
        last = response.status().as_u16();
        page = response.text().await.unwrap();
    }
    assert_eq!(
        last, 429,
        "password spraying over many usernames is limited"
    );
    let csrf = input_value(&page, "csrf").unwrap();

    let huge = "a".repeat(200_000);
    let response = client
        .post(server.url("/agent/login/"))
        .form(&[
            ("username", huge.as_str()),
            ("password", "x"),
            ("csrf", csrf.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413, "bodies are small");
    server.stop().await;
}
