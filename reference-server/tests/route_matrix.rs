//! Every route and socket × every role, generated from the router's source: a route added without
//! a rule here fails the test, so nobody adds a page and forgets who may use it.

use std::collections::BTreeSet;

use chatcore::{AgentRole, NewAgent};

mod support;
use support::{input_value, TestServer, ADMIN_PASSWORD};

/// Who asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Anonymous,
    /// The visitor of the room in the paths.
    VisitorA,
    /// Another visitor, with a chat of their own.
    VisitorB,
    Staff,
    Superuser,
    DisabledStaff,
}

const ROLES: [Role; 6] = [
    Role::Anonymous,
    Role::VisitorA,
    Role::VisitorB,
    Role::Staff,
    Role::Superuser,
    Role::DisabledStaff,
];

/// Who a route is for.
#[derive(Clone, Copy, Debug)]
enum Rule {
    /// Anyone (pages, login, static files, health).
    Public,
    /// Active staff and superusers.
    Staff,
    /// Superusers only.
    Superuser,
    /// The room's own visitor, and active staff.
    RoomVisitorOrStaff,
    /// Not requested here, with the reason (the test still requires the route to be listed).
    Elsewhere(&'static str),
}

impl Rule {
    fn allows(self, role: Role) -> bool {
        match self {
            Rule::Public => true,
            Rule::Staff => matches!(role, Role::Staff | Role::Superuser),
            Rule::Superuser => role == Role::Superuser,
            Rule::RoomVisitorOrStaff => {
                matches!(role, Role::VisitorA | Role::Staff | Role::Superuser)
            }
            Rule::Elsewhere(_) => unreachable!(),
        }
    }
}

/// The rules, by method and path as written in the router.
const RULES: &[(&str, &str, Rule)] = &[
    ("GET", "/", Rule::Public),
    ("GET", "/healthz", Rule::Public),
    ("GET", "/metrics", Rule::Public), // loopback; the token rules are in integrations.rs
    ("GET", "/chat", Rule::Public),
    ("GET", "/chat/", Rule::Public),
    ("POST", "/chat/start/", Rule::Public),
    ("OPTIONS", "/chat/start/", Rule::Public),
    ("GET", "/static/{file}", Rule::Public),
    ("GET", "/agent", Rule::Public), // a redirect to the dashboard, which decides
    ("GET", "/agent/", Rule::Public), // the same
    ("GET", "/agent/login/", Rule::Public),
    ("POST", "/agent/login/", Rule::Public),
    (
        "POST",
        "/agent/logout/",
        Rule::Elsewhere("ends the session; flow.rs and access.rs test logging out"),
    ),
    ("GET", "/agent/dashboard/", Rule::Staff),
    ("GET", "/agent/chat/{room_id}/", Rule::Staff),
    ("POST", "/agent/chat/{room_id}/", Rule::Staff),
    ("POST", "/agent/close-chat/{room_id}/", Rule::Staff),
    ("GET", "/agent/bot-responses/", Rule::Staff),
    ("POST", "/agent/bot-responses/", Rule::Staff),
    ("GET", "/agent/analytics/", Rule::Staff),
    ("GET", "/admin/", Rule::Superuser),
    ("POST", "/admin/", Rule::Superuser),
    ("GET", "/api/v1/session", Rule::Staff),
    ("GET", "/api/v1/rooms", Rule::Staff),
    ("GET", "/api/v1/rooms/{id}", Rule::Staff),
    ("GET", "/api/v1/rooms/{id}/messages", Rule::Staff),
    ("POST", "/api/v1/rooms/{id}/messages", Rule::Staff),
    ("POST", "/api/v1/rooms/{id}/accept", Rule::Staff),
    ("POST", "/api/v1/rooms/{id}/close", Rule::Staff),
    ("GET", "/api/v1/rules", Rule::Staff),
    ("POST", "/api/v1/rules", Rule::Staff),
    ("PUT", "/api/v1/rules/{id}", Rule::Staff),
    ("DELETE", "/api/v1/rules/{id}", Rule::Staff),
    ("POST", "/api/v1/rules/what-if", Rule::Staff),
    ("POST", "/api/v1/explain", Rule::Staff),
    ("GET", "/api/v1/analytics", Rule::Staff),
    ("WS", "/ws/agent/", Rule::Staff),
    ("WS", "/ws/chat/{room_id}/", Rule::RoomVisitorOrStaff),
];

/// `(method, path)` of every route in `router.rs`-style source: each `.route("path", …)` call of
/// the functions that build the routers, the API's under `/api/v1`. WebSocket routes (under
/// `/ws/`) are `WS`.
fn routes_in_source() -> BTreeSet<(String, String)> {
    let source = include_str!("../src/lib.rs");
    let mut routes = BTreeSet::new();
    for (function, prefix) in [
        ("pub fn router(", ""),
        ("fn visitor_routes(", ""),
        ("fn api_routes(", "/api/v1"),
    ] {
        let start = source.find(function).expect("router function");
        let body = &source[start..];
        let body = &body[..body.find("\n}\n").expect("end of function")];
        for call in body.split(".route(").skip(1) {
            let path = call.split('"').nth(1).expect("a path").to_owned();
            // The handler expression: up to the call's closing parenthesis.
            let mut depth = 1;
            let end = call
                .char_indices()
                .find(|&(_, c)| {
                    match c {
                        '(' => depth += 1,
                        ')' => depth -= 1,
                        _ => {}
                    }
                    depth == 0
                })
                .map_or(call.len(), |(i, _)| i);
            let handlers = &call[..end];
            let path = format!("{prefix}{path}");
            if path.starts_with("/ws/") {
                routes.insert(("WS".to_owned(), path));
                continue;
            }
            for (marker, method) in [
                ("get(", "GET"),
                ("post(", "POST"),
                ("put(", "PUT"),
                ("delete(", "DELETE"),
                ("options(", "OPTIONS"),
            ] {
                if handlers.contains(marker) {
                    routes.insert((method.to_owned(), path.clone()));
                }
            }
        }
    }
    routes
}

#[test]
fn every_route_has_a_rule() {
    let in_source = routes_in_source();
    assert!(in_source.len() >= 30, "found {} routes", in_source.len());
    let ruled: BTreeSet<(String, String)> = RULES
        .iter()
        .map(|(method, path, _)| (method.to_string(), path.to_string()))
        .collect();
    let unruled: Vec<_> = in_source.difference(&ruled).collect();
    assert!(
        unruled.is_empty(),
        "routes without an access rule in tests/route_matrix.rs: {unruled:?}"
    );
    let stale: Vec<_> = ruled.difference(&in_source).collect();
    assert!(
        stale.is_empty(),
        "rules for routes that are gone: {stale:?}"
    );
}

/// A client per role, each with its session or visitor cookie, and the CSRF token its writes need.
struct Clients {
    clients: Vec<(Role, reqwest::Client, Option<String>, Option<String>)>,
    room_a: String,
}

async fn clients(server: &TestServer) -> Clients {
    let chat = server.state.chat();
    let mut clients = Vec::new();
    clients.push((Role::Anonymous, server.client(), None, None));
    let (visitor_a, room_a, cookie_a) = server.visitor().await;
    clients.push((
        Role::VisitorA,
        visitor_a,
        None,
        Some(format!("chatcore_visitor={}", cookie_value(&cookie_a))),
    ));
    let (visitor_b, _room_b, cookie_b) = server.visitor().await;
    clients.push((
        Role::VisitorB,
        visitor_b,
        None,
        Some(format!("chatcore_visitor={}", cookie_value(&cookie_b))),
    ));
    for (role, name) in [(Role::Staff, "sam"), (Role::DisabledStaff, "dee")] {
        let hash = reference_server::auth::hash_password("staff password 1").unwrap();
        chat.create_agent(NewAgent::new(name, name, AgentRole::Staff, hash))
            .await
            .unwrap();
        let (client, session, _) = server.login(name, "staff password 1").await;
        clients.push((role, client, None, session));
    }
    let (admin, session, _) = server.login("admin", ADMIN_PASSWORD).await;
    clients.push((Role::Superuser, admin, None, session));
    // Tokens, then the disabled account is disabled (its session cookie stays in its jar).
    for (role, client, csrf, _) in clients.iter_mut() {
        if matches!(role, Role::Staff | Role::Superuser | Role::DisabledStaff) {
            let page = server.page(client, "/agent/dashboard/").await;
            *csrf = input_value(&page, "csrf");
        }
    }
    let dee = chat.find_agent("dee").await.unwrap().unwrap();
    chat.update_agent(
        dee.id,
        NewAgent::new("dee", "dee", AgentRole::Staff, dee.password_hash.clone()).active(false),
    )
    .await
    .unwrap();
    Clients { clients, room_a }
}

/// `name=value` → `value`.
fn cookie_value(cookie: &str) -> &str {
    cookie.split_once('=').map_or(cookie, |(_, value)| value)
}

/// Whether the server refused the request for who asked (not for what was asked).
fn refused(status: u16, location: &str) -> bool {
    status == 401 || status == 403 || (status == 303 && location == "/agent/login/")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_and_socket_for_every_role() {
    let server = TestServer::start().await;
    let Clients { clients, room_a } = clients(&server).await;
    let mut wrong = Vec::new();
    let mut checked = 0;
    for &(method, path, rule) in RULES {
        if let Rule::Elsewhere(reason) = rule {
            assert!(
                !reason.is_empty(),
                "{method} {path}: say where it is tested"
            );
            continue;
        }
        let concrete = path
            .replace("{room_id}", &room_a)
            .replace(
                "{id}",
                if path.contains("/rules/") {
                    "1"
                } else {
                    &room_a
                },
            )
            .replace("{file}", "chat.js");
        for role in ROLES {
            let (_, client, csrf, cookie) = clients.iter().find(|(r, ..)| *r == role).unwrap();
            let was_refused = if method == "WS" {
                match server
                    .socket(&concrete, cookie.as_deref(), Some(&server.base))
                    .await
                {
                    Ok(_) => false,
                    Err(status) => refused(status, ""),
                }
            } else {
                let mut request = client
                    .request(method.parse().unwrap(), server.url(&concrete))
                    .header("origin", &server.base);
                if let Some(csrf) = csrf {
                    request = request.header("x-csrf-token", csrf);
                }
                // A well-formed form, so the handler's own checks decide (a body it cannot read is
                // refused before them, for everyone alike).
                if method == "POST" && !concrete.starts_with("/api/") {
                    let token = csrf.as_deref().unwrap_or_default();
                    request = request.form(&[("csrf", token), ("action", "none")]);
                }
                let response = request.send().await.unwrap();
                let location = response
                    .headers()
                    .get("location")
                    .and_then(|l| l.to_str().ok())
                    .unwrap_or("")
                    .to_owned();
                refused(response.status().as_u16(), &location)
            };
            if was_refused == rule.allows(role) {
                wrong.push(format!(
                    "{method} {path} as {role:?}: {}",
                    if was_refused { "refused" } else { "allowed" }
                ));
            }
            checked += 1;
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    assert!(checked >= 200, "{checked} requests");
    server.stop().await;
}
