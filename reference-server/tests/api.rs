//! The JSON API: the agent's actions with the session cookie and the CSRF header.

use serde_json::{json, Value};

mod support;
use support::{TestServer, ADMIN_PASSWORD};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_actions_over_json() {
    let server = TestServer::start().await;
    let anonymous = server
        .client()
        .get(server.url("/api/v1/rooms"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    let body: Value = anonymous.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unauthorized");

    let (agent, _, _) = server.login("admin", ADMIN_PASSWORD).await;
    let session = support::get_json(&agent, &server.url("/api/v1/session")).await;
    let csrf = session["csrf_token"].as_str().unwrap().to_owned();
    assert_eq!(session["agent"]["username"], "admin");

    let (_visitor, room, _) = server.visitor().await;
    let chat = server.state.chat();
    chat.request_escalation(room.parse().unwrap())
        .await
        .unwrap();
    let waiting: Value = agent
        .get(server.url("/api/v1/rooms?status=waiting_for_agent"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(waiting[0]["id"], room.as_str());
    let bad_status = agent
        .get(server.url("/api/v1/rooms?status=sleeping"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad_status.status(), 400);

    // Writes need the CSRF header.
    let refused = agent
        .post(server.url(&format!("/api/v1/rooms/{room}/accept")))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    let accepted = agent
        .post(server.url(&format!("/api/v1/rooms/{room}/accept")))
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), 200);
    let again = agent
        .post(server.url(&format!("/api/v1/rooms/{room}/accept")))
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 409, "accepting twice is a conflict");

    let posted = agent
        .post(server.url(&format!("/api/v1/rooms/{room}/messages")))
        .header("x-csrf-token", &csrf)
        .json(&json!({"text": "Hello from the API", "client_id": "api-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 201);
    let message: Value = posted.json().await.unwrap();
    assert_eq!(
        (message["sender"].as_str(), message["client_id"].as_str()),
        (Some("agent"), Some("api-1"))
    );
    for (body, code) in [
        ("{not json", "invalid_json"),
        (r#"{"text": ""}"#, "empty"),
        (r#"{"text": 5}"#, "invalid_json"),
        (r#"{"text": "hi", "admin": true}"#, "invalid_json"),
    ] {
        let response = agent
            .post(server.url(&format!("/api/v1/rooms/{room}/messages")))
            .header("x-csrf-token", &csrf)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{body}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"]["code"], code, "{body}");
    }
    let history: Value = agent
        .get(server.url(&format!("/api/v1/rooms/{room}/messages?after_seq=0")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(history
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["text"] == "Hello from the API"));
    assert_eq!(
        agent
            .get(server.url("/api/v1/rooms/not-a-room/messages"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );

    // Rules: create, explain, delete.
    let created = agent
        .post(server.url("/api/v1/rules"))
        .header("x-csrf-token", &csrf)
        .json(&json!({"intent": "extras", "keywords": ["child seat"], "response": "Child seats are $5/day.", "priority": 90}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let rule: Value = created.json().await.unwrap();
    let explained: Value = agent
        .post(server.url("/api/v1/explain"))
        .json(&json!({"text": "do you have a child seat?"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(explained["matched"]["intent"], "extras");
    assert_eq!(
        explained["draft_wins"],
        Value::Null,
        "no draft, no verdict on one"
    );
    // An unsaved draft: as an edit of the saved rule, and as a new rule; neither is stored.
    let explain = |body: Value| {
        let request = agent.post(server.url("/api/v1/explain")).json(&body);
        async move {
            let response = request.send().await.unwrap();
            (response.status(), response.json::<Value>().await.unwrap())
        }
    };
    let draft = json!({"intent": "extras", "keywords": ["booster"], "response": "Boosters too.", "priority": 90});
    let (status, edited) = explain(
        json!({"text": "do you have a child seat?", "draft": draft, "replaces": rule["id"]}),
    )
    .await;
    assert_eq!(status, 200);
    assert_ne!(
        edited["matched"]["intent"], "extras",
        "the edit drops the keyword"
    );
    assert_eq!(edited["draft_wins"], false);
    let (_, added) = explain(json!({"text": "a booster please", "draft": draft})).await;
    assert_eq!(
        (
            added["draft_wins"].clone(),
            added["matched"]["keyword"].clone()
        ),
        (json!(true), json!("booster"))
    );
    for (bad, code) in [
        (
            json!({"text": "x", "draft": {"intent": "extras", "keywords": [], "response": "y", "priority": 1}}),
            "invalid_rule",
        ),
        (
            json!({"text": "x", "draft": {"intent": "Bad Intent", "keywords": ["x"], "response": "y", "priority": 1}}),
            "invalid_json",
        ),
        (
            json!({"text": "x", "draft": draft, "replaces": 999_999}),
            "not_found",
        ),
        (
            json!({"text": "x", "draft": {"intent": "extras"}}),
            "invalid_json",
        ),
        (json!({"text": "x", "extra": 1}), "invalid_json"),
        (json!({"text": "x", "replaces": 1}), "invalid_request"),
    ] {
        let (status, body) = explain(bad.clone()).await;
        assert!(status.is_client_error(), "{bad}: {status}");
        assert_eq!(body["error"]["code"], code, "{bad}");
    }
    let stored: Value = agent
        .get(server.url("/api/v1/rules"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        stored["rules"].as_array().map(Vec::len),
        Some(chatcore::default_rules().len() + 1),
        "trying stores nothing"
    );
    let invalid = agent
        .post(server.url("/api/v1/rules"))
        .header("x-csrf-token", &csrf)
        .json(&json!({"intent": "Bad Intent", "keywords": ["x"], "response": "y", "priority": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(invalid.status(), 400);
    let deleted = agent
        .delete(server.url(&format!("/api/v1/rules/{}", rule["id"])))
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    let closed = agent
        .post(server.url(&format!("/api/v1/rooms/{room}/close")))
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(closed.status(), 200);
    let analytics: Value = agent
        .get(server.url("/api/v1/analytics"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(analytics["closed_sessions"], 1);
    assert_eq!(
        agent
            .get(server.url("/api/v1/nothing"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    server.stop().await;
}
