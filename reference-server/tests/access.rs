//! Who may do what: every protected page, form and socket × every kind of caller.

use chatcore::AgentRole;
use reqwest::StatusCode;

mod support;
use support::{input_value, TestServer, ADMIN_PASSWORD};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    /// Served (200), or done and redirected somewhere other than the login page.
    Allowed,
    /// Sent to the login page.
    Login,
    /// Refused with 403.
    Forbidden,
}

async fn outcome_of(response: reqwest::Response) -> Outcome {
    let status = response.status();
    let location = response
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .unwrap_or("")
        .to_owned();
    match status {
        StatusCode::FORBIDDEN => Outcome::Forbidden,
        StatusCode::SEE_OTHER if location == "/agent/login/" => Outcome::Login,
        s if s.is_success() || s.is_redirection() => Outcome::Allowed,
        other => panic!("unexpected status {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_matrix() {
    let server = TestServer::start().await;
    // The callers.
    let hash = reference_server::auth::hash_password("staff password").unwrap();
    let chat = server.state.chat();
    chat.create_agent(chatcore::NewAgent::new(
        "sam",
        "Sam",
        AgentRole::Staff,
        hash.clone(),
    ))
    .await
    .unwrap();
    chat.create_agent(
        chatcore::NewAgent::new("dora", "Dora", AgentRole::Staff, hash.clone()).active(true),
    )
    .await
    .unwrap();
    let (staff, staff_cookie, _) = server.login("sam", "staff password").await;
    let (admin, admin_cookie, _) = server.login("admin", ADMIN_PASSWORD).await;
    let (disabled, disabled_cookie, _) = server.login("dora", "staff password").await;
    let dora = chat.find_agent("dora").await.unwrap().unwrap();
    chat.update_agent(
        dora.id,
        chatcore::NewAgent::new("dora", "Dora", AgentRole::Staff, hash).active(false),
    )
    .await
    .unwrap();
    let (visitor_a, room_a, cookie_a) = server.visitor().await;
    let (_visitor_b, _room_b, cookie_b) = server.visitor().await;
    let anonymous = server.client();

    use Outcome::*;
    let pages = [
        "/agent/dashboard/",
        "/agent/bot-responses/",
        "/agent/analytics/",
        "/agent/analytics/?format=json",
    ];
    // (caller, client, expected for agent pages, expected for /admin/)
    let callers: Vec<(&str, &reqwest::Client, Outcome, Outcome)> = vec![
        ("anonymous", &anonymous, Login, Login),
        ("visitor", &visitor_a, Login, Login),
        ("disabled staff", &disabled, Login, Login),
        ("staff", &staff, Allowed, Forbidden),
        ("superuser", &admin, Allowed, Allowed),
    ];
    for (name, client, agent_pages, admin_page) in &callers {
        for page in pages {
            let got = outcome_of(client.get(server.url(page)).send().await.unwrap()).await;
            assert_eq!(got, *agent_pages, "{name} GET {page}");
        }
        let got = outcome_of(
            client
                .get(server.url(&format!("/agent/chat/{room_a}/")))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(got, *agent_pages, "{name} GET /agent/chat/");
        let got = outcome_of(client.get(server.url("/admin/")).send().await.unwrap()).await;
        assert_eq!(got, *admin_page, "{name} GET /admin/");
    }

    // Allowed pages really render (a template error would be a 500, or a page saying so).
    for (page, marker) in [
        ("/agent/dashboard/", "Waiting for an agent"),
        ("/agent/bot-responses/", "Try a message"),
        ("/agent/analytics/", "Chat sessions"),
        ("/admin/", "Agent accounts"),
        (&format!("/agent/chat/{room_a}/") as &str, "Transcript"),
    ] {
        let response = admin.get(server.url(page)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{page}");
        let html = response.text().await.unwrap();
        assert!(html.contains(marker), "{page} shows {marker:?}");
    }

    // Forms: no CSRF token, a wrong one, or another session's one are refused; the right one works.
    let staff_page = server.page(&staff, "/agent/dashboard/").await;
    let staff_csrf = input_value(&staff_page, "csrf").unwrap();
    let admin_page = server.page(&admin, "/agent/dashboard/").await;
    let admin_csrf = input_value(&admin_page, "csrf").unwrap();
    for (label, token) in [
        ("missing", ""),
        ("wrong", "AAAA"),
        ("another session's", admin_csrf.as_str()),
    ] {
        for (path, action) in [
            ("/agent/bot-responses/", "delete"),
            ("/admin/", "disable"),
            ("/agent/logout/", ""),
        ] {
            let response = staff
                .post(server.url(path))
                .form(&[("csrf", token), ("action", action), ("id", "1")])
                .send()
                .await
                .unwrap();
            assert_eq!(
                outcome_of(response).await,
                Forbidden,
                "{label} CSRF on {path}"
            );
        }
    }
    assert_eq!(
        chat.rules().await.unwrap().rules.len(),
        chatcore::default_rules().len(),
        "no rule was deleted"
    );
    // Staff may not manage accounts even with a valid token.
    let response = staff
        .post(server.url("/admin/"))
        .form(&[
            ("csrf", staff_csrf.as_str()),
            ("action", "create"),
            ("username", "eve"),
            ("password", "long enough pw"),
            ("role", "superuser"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(outcome_of(response).await, Forbidden);
    assert!(chat.find_agent("eve").await.unwrap().is_none());
    // The superuser may.
    let response = admin
        .post(server.url("/admin/"))
        .form(&[
            ("csrf", admin_csrf.as_str()),
            ("action", "create"),
            ("username", "eve"),
            ("display_name", "Eve"),
            ("password", "long enough pw"),
            ("role", "staff"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(outcome_of(response).await, Allowed);
    assert!(chat.find_agent("eve").await.unwrap().is_some());

    // Sockets.
    let room_path = format!("/ws/chat/{room_a}/");
    // (caller, cookie, on the room's socket, on the agents' feed)
    type Expected = Result<(), u16>;
    let sockets: Vec<(&str, Option<String>, Expected, Expected)> = vec![
        ("anonymous", None, Err(403), Err(403)),
        (
            "the room's visitor",
            Some(cookie_a.clone()),
            Ok(()),
            Err(403),
        ),
        (
            "another visitor",
            Some(cookie_b.clone()),
            Err(403),
            Err(403),
        ),
        (
            "disabled staff",
            disabled_cookie.clone(),
            Err(403),
            Err(403),
        ),
        ("staff", staff_cookie.clone(), Ok(()), Ok(())),
        ("superuser", admin_cookie.clone(), Ok(()), Ok(())),
    ];
    for (name, cookie, room_expected, feed_expected) in sockets {
        let room = server
            .socket(&room_path, cookie.as_deref(), None)
            .await
            .map(|_| ());
        assert_eq!(room, room_expected, "{name} on the room socket");
        let feed = server
            .socket("/ws/agent/", cookie.as_deref(), None)
            .await
            .map(|_| ());
        assert_eq!(feed, feed_expected, "{name} on the agents' feed");
        if cookie.is_some() {
            let foreign = server
                .socket(&room_path, cookie.as_deref(), Some("https://evil.example"))
                .await
                .map(|_| ());
            assert_eq!(foreign, Err(403), "{name} from a foreign origin");
        }
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_visitor_chat_may_be_framed_and_only_by_configured_sites() {
    let server = TestServer::start().await;
    let client = server.client();
    let header = |response: &reqwest::Response, name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let chat = client
        .get(server.url("/chat/?embed=1"))
        .send()
        .await
        .unwrap();
    let policy = header(&chat, "content-security-policy").unwrap();
    assert!(
        policy.ends_with("; frame-ancestors 'self' https://rentals.example"),
        "only this server and the configured site: {policy}"
    );
    assert_eq!(policy.matches("frame-ancestors").count(), 1, "{policy}");
    assert_eq!(header(&chat, "x-frame-options"), None);
    assert!(
        chat.text().await.unwrap().contains("embedded"),
        "embed mode drops the site header"
    );
    for path in ["/agent/login/", "/", "/agent/dashboard/"] {
        let page = client.get(server.url(path)).send().await.unwrap();
        let policy = header(&page, "content-security-policy").unwrap();
        assert!(
            policy.contains("frame-ancestors 'none'"),
            "{path}: {policy}"
        );
        assert_eq!(
            header(&page, "x-frame-options").as_deref(),
            Some("DENY"),
            "{path}"
        );
    }

    // The widget's vouching POST: CORS for the configured site only.
    for (origin, allowed) in [
        ("https://rentals.example", true),
        ("https://evil.example", false),
    ] {
        let preflight = client
            .request(reqwest::Method::OPTIONS, server.url("/chat/start/"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .send()
            .await
            .unwrap();
        assert_eq!(preflight.status(), 204);
        assert_eq!(
            header(&preflight, "access-control-allow-origin").as_deref(),
            allowed.then_some(origin),
            "{origin}"
        );
        let started = client
            .post(server.url("/chat/start/"))
            .header("origin", origin)
            .send()
            .await
            .unwrap();
        assert_eq!(
            started.status(),
            if allowed { 200 } else { 403 },
            "{origin}"
        );
        assert_eq!(
            header(&started, "access-control-allow-credentials").as_deref(),
            allowed.then_some("true"),
            "{origin}"
        );
    }
    // widget.js may be loaded by other sites' pages.
    let widget = client
        .get(server.url("/static/widget.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        header(&widget, "cross-origin-resource-policy").as_deref(),
        Some("cross-origin")
    );
    server.stop().await;
}

#[tokio::test]
async fn allowed_origins_are_normalized_and_blanks_skipped() {
    // As compose files and shells write them: an empty variable, spaces after commas, capitals.
    let server = TestServer::start_with(|options| {
        options.allowed_origins = vec![
            String::new(),
            " HTTPS://Rentals.Example:443".into(),
            " ".into(),
        ];
    })
    .await;
    let preflight = server
        .client()
        .request(reqwest::Method::OPTIONS, server.url("/chat/start/"))
        .header("origin", "https://rentals.example")
        .send()
        .await
        .unwrap();
    assert_eq!(
        preflight
            .headers()
            .get("access-control-allow-origin")
            .and_then(|v| v.to_str().ok()),
        Some("https://rentals.example")
    );
    server.stop().await;
}

#[tokio::test]
async fn allowed_origins_must_be_origins() {
    for bad in [
        "https://rentals.example/",
        "rentals.example",
        "https://a.example; frame-ancestors *",
    ] {
        let dir = tempfile::tempdir().unwrap();
        let mut options = support::options(dir.path());
        options.allowed_origins = vec![bad.to_owned()];
        let error = reference_server::build(&options).await.unwrap_err();
        assert!(
            error.to_string().contains("is not an origin"),
            "{bad}: {error}"
        );
    }
}
