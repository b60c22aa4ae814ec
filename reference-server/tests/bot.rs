//! The bot over HTTP: the visitor's language, catalog answers, and the what-if preview of rule edits
//! (JSON API and the rule editor).

use chatcore::{Intent, RoomId};
use serde_json::{json, Value};

mod support;
use support::{input_value, TestServer, ADMIN_PASSWORD};

/// Opens a chat as a browser would, with these headers and body; returns the room.
async fn open_chat(
    server: &TestServer,
    accept_language: Option<&str>,
    body: &str,
) -> chatcore::Room {
    let client = server.client();
    let mut request = client
        .post(server.url("/chat/start/"))
        .body(body.to_owned());
    if let Some(value) = accept_language {
        request = request.header("accept-language", value);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200, "{body}");
    let body: Value = response.json().await.unwrap();
    let id: RoomId = body["room_id"].as_str().unwrap().parse().unwrap();
    server.state.chat().room(id).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_visitors_language_comes_from_the_site_or_the_browser() {
    let server = TestServer::start().await;
    let chat = server.state.chat();
    for (accept_language, body, expected) in [
        (Some("fr-CA,fr;q=0.9,en;q=0.5"), "", Some("fr")),
        (Some("de-DE,de;q=0.9,es;q=0.8"), "", Some("es")),
        (Some("es;q=0.2, en"), "", Some("en")),
        (Some("de, *;q=0.1"), "", None),
        (None, "", None),
        // The host site's setting (the widget's data-lang) wins; one the bot cannot speak does not.
        (Some("fr"), r#"{"language": "es-MX"}"#, Some("es")),
        (Some("fr"), r#"{"language": "xx"}"#, Some("fr")),
        (Some("garbage;q=abc,,,"), "", None),
    ] {
        let room = open_chat(&server, accept_language, body).await;
        assert_eq!(
            room.language.as_deref(),
            expected,
            "{accept_language:?} {body}"
        );
        let welcome = chat.history(room.id, 0, 1).await.unwrap();
        assert_eq!(
            welcome[0].text,
            chat.config().texts_for(expected).welcome,
            "{accept_language:?}"
        );
    }
    // And the answers follow: a French room gets the French catalog answer.
    let room = open_chat(&server, Some("fr"), "").await;
    let turn = chat
        .post_visitor_message(room.id, "Quel est le prix d'un SUV demain ?", None)
        .await
        .unwrap();
    let reply = turn.bot_reply.unwrap();
    assert!(
        reply.text.contains(" $"),
        "a price in French form: {}",
        reply.text
    );
    assert!(reply.text.contains("SUV"), "{}", reply.text);
    server.stop().await;
}

/// Plays a few conversations so the what-if has history to replay.
async fn some_history(server: &TestServer) {
    let chat = server.state.chat();
    for conversation in [
        &["hello", "Do you include insurance?"][..],
        &["is there an excess on insurance?", "thanks"][..],
        &["blue moon", "How much is a convertible tomorrow?"][..],
    ] {
        let (room, _) = chat
            .open_room(chatcore::OpenRoom::anonymous())
            .await
            .unwrap();
        for text in conversation {
            chat.post_visitor_message(room.id, text, None)
                .await
                .unwrap();
        }
    }
}

fn insurance_rule() -> Value {
    json!({
        "intent": "insurance",
        "keywords": ["insurance", "excess"],
        "response": "Basic cover is included; full cover costs $15 a day.",
        "priority": 90,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_if_over_the_json_api() {
    let server = TestServer::start().await;
    some_history(&server).await;
    let version = server.state.chat().rules().await.unwrap().version;
    let url = server.url("/api/v1/rules/what-if");
    let anonymous = server
        .client()
        .post(&url)
        .json(&json!({"draft": insurance_rule()}))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);

    let (agent, _, _) = server.login("admin", ADMIN_PASSWORD).await;
    let csrf = server.api_csrf(&agent).await;
    // Like /api/v1/explain, a preview reads and changes nothing: the session is enough (a
    // cross-site form cannot send JSON, and could not read the answer); the token does no harm.
    let post = |body: Value| {
        let request = agent.post(&url).header("x-csrf-token", &csrf).json(&body);
        async move {
            let response = request.send().await.unwrap();
            let status = response.status();
            (status, response.json::<Value>().await.unwrap())
        }
    };
    let (status, report) = post(json!({"draft": insurance_rule()})).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["rooms"], 3);
    assert_eq!(report["messages"], 6);
    let mut stolen: Vec<&str> = report["changed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["text"].as_str().unwrap())
        .collect();
    // In the order the chats were opened, ties (the same millisecond) by room id.
    stolen.sort_unstable();
    assert_eq!(
        stolen,
        [
            "Do you include insurance?",
            "is there an excess on insurance?"
        ]
    );
    assert_eq!(report["changed"][0]["before"]["intent"], Intent::PRICING);
    assert_eq!(report["changed"][0]["after"]["intent"], "insurance");
    assert_eq!(report["stored_mismatches"], 0);

    // A whole rule set: without the greeting rules, "hello" falls back.
    let rules: Vec<Value> = server
        .state
        .chat()
        .rules()
        .await
        .unwrap()
        .rules
        .into_iter()
        .filter(|r| r.intent.as_str() != Intent::GREETING)
        .map(|r| serde_json::to_value(chatcore::NewRule::from(r)).unwrap())
        .collect();
    let (status, report) = post(json!({"rules": rules, "days": 7})).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(
        report["fallbacks_after"].as_u64().unwrap(),
        report["fallbacks_before"].as_u64().unwrap() + 1
    );

    for (bad, code) in [
        (json!({}), "invalid_request"),
        (
            json!({"rules": [], "draft": insurance_rule()}),
            "invalid_request",
        ),
        (
            json!({"draft": insurance_rule(), "days": 0}),
            "invalid_request",
        ),
        (
            json!({"draft": insurance_rule(), "days": 100000}),
            "invalid_request",
        ),
        (
            json!({"draft": {"intent": "x", "keywords": [], "response": "r", "priority": 1}}),
            "invalid_rule",
        ),
        (
            json!({"draft": insurance_rule(), "replaces": 999999}),
            "not_found",
        ),
        (
            json!({"draft": insurance_rule(), "surprise": 1}),
            "invalid_json",
        ),
        (json!({"rules": "all of them"}), "invalid_json"),
    ] {
        let (status, body) = post(bad.clone()).await;
        assert!(status.is_client_error(), "{bad}: {status}");
        assert_eq!(body["error"]["code"], code, "{bad}: {body}");
    }
    assert_eq!(
        server.state.chat().rules().await.unwrap().version,
        version,
        "previews save nothing"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rule_editor_previews_an_edit_before_saving() {
    let server = TestServer::start().await;
    some_history(&server).await;
    let version = server.state.chat().rules().await.unwrap().version;
    let (agent, _, _) = server.login("admin", ADMIN_PASSWORD).await;
    let page = server.page(&agent, "/agent/bot-responses/").await;
    assert!(page.contains("Preview impact"));
    let csrf = input_value(&page, "csrf").unwrap();
    let preview = |fields: Vec<(&'static str, String)>| {
        let mut form = vec![("csrf", csrf.clone()), ("action", "preview".to_owned())];
        form.extend(fields);
        let request = agent.post(server.url("/agent/bot-responses/")).form(&form);
        async move {
            let response = request.send().await.unwrap();
            (response.status(), response.text().await.unwrap())
        }
    };
    let (status, html) = preview(vec![
        ("intent", "insurance".into()),
        ("keywords", "insurance, excess".into()),
        ("response", "Basic cover is included.".into()),
        ("priority", "90".into()),
        ("language", "en".into()),
        ("active", "on".into()),
    ])
    .await;
    assert_eq!(status, 200);
    assert!(html.contains("If the new rule were added"), "{html}");
    assert!(html.contains("Messages answered differently"));
    assert!(html.contains("“Do you include insurance?”"));
    assert!(html.contains("“is there an excess on insurance?”"));
    // The draft stays in the form to be saved or changed.
    assert!(html.contains("value=\"insurance, excess\""), "{html}");

    // An invalid draft says why, and keeps what was typed.
    let (status, html) = preview(vec![
        ("intent", "insurance".into()),
        ("keywords", "insurance".into()),
        ("response", "Cover from {daily_price}".into()),
        ("catalog_response", "Cover from {price}".into()),
        ("priority", "90".into()),
    ])
    .await;
    assert_eq!(status, 400);
    assert!(html.contains("unknown placeholder {price}"), "{html}");
    assert!(html.contains("Cover from {price}"));
    assert_eq!(
        server.state.chat().rules().await.unwrap().version,
        version,
        "previews save nothing"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_visitor_page_speaks_the_chats_language() {
    let server = TestServer::start().await;
    let page = |path: &'static str, accept_language: Option<&'static str>| {
        let mut request = server.client().get(server.url(path));
        if let Some(value) = accept_language {
            request = request.header("accept-language", value);
        }
        async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 200);
            response.text().await.unwrap()
        }
    };
    for (path, accept_language, lang, button) in [
        ("/chat/", None, "en", "Talk to a human"),
        (
            "/chat/",
            Some("es-ES,es;q=0.9"),
            "es",
            "Hablar con una persona",
        ),
        ("/chat/?lang=fr", Some("es"), "fr", "Parler à un conseiller"),
        (
            "/chat/?embed=1&lang=xx",
            Some("de"),
            "en",
            "Talk to a human",
        ),
    ] {
        let html = page(path, accept_language).await;
        assert!(
            html.contains(&format!("<html lang=\"{lang}\"")),
            "{path}: {html}"
        );
        assert!(html.contains(button), "{path} {accept_language:?}");
        let data = html
            .split("<script type=\"application/json\" id=\"ui-texts\">")
            .nth(1)
            .and_then(|rest| rest.split("</script>").next())
            .expect("the script's texts");
        let texts: Value = serde_json::from_str(data).unwrap();
        assert_eq!(texts["lang"], lang);
        assert_eq!(texts["human"], button);
    }
    server.stop().await;
}
