//! A real server on 127.0.0.1:0 with a temp data dir, and clients for it.

#![allow(dead_code, unreachable_pub)]

pub mod browser;

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use reference_server::config::{Backend, Options};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub const ADMIN_PASSWORD: &str = "correct horse battery staple";
pub const IDENTITY_SECRET: &str = "the rental site's shared identity key";

pub struct TestServer {
    pub base: String,
    pub addr: std::net::SocketAddr,
    pub state: reference_server::AppState,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    _dir: tempfile::TempDir,
}

impl TestServer {
    pub async fn start() -> TestServer {
        TestServer::start_with(|_| {}).await
    }

    /// A server whose options `adjust` changes first (e.g. the redis backend).
    pub async fn start_with(adjust: impl FnOnce(&mut Options)) -> TestServer {
        let dir = tempfile::Builder::new()
            .prefix("server-")
            .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
            .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut options = options(dir.path());
        options.addr = addr;
        adjust(&mut options);
        let built = reference_server::build(&options).await.unwrap();
        let state = built.state.clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(reference_server::serve(
            listener,
            built.state,
            built.shutdown,
            async move {
                let _ = stopped.await;
            },
        ));
        TestServer {
            base: format!("http://{addr}"),
            addr,
            state,
            stop: Some(stop),
            task: Some(task),
            _dir: dir,
        }
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(10), task)
                .await
                .expect("shutdown within 10 s")
                .unwrap()
                .unwrap();
        }
    }

    pub fn client(&self) -> reqwest::Client {
        client()
    }

    /// GET `path` with `client`; the page's text.
    pub async fn page(&self, client: &reqwest::Client, path: &str) -> String {
        get_text(client, &self.url(path)).await
    }

    /// The CSRF token of `client`'s session, as the dashboard's forms carry it.
    pub async fn csrf(&self, client: &reqwest::Client) -> String {
        input_value(&self.page(client, "/agent/dashboard/").await, "csrf").expect("csrf field")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A visitor: GET /chat/, then the page's POST /chat/start/; returns the client (with its
    /// cookie), the room id and the cookie.
    pub async fn visitor(&self) -> (reqwest::Client, String, String) {
        let client = self.client();
        let page = client.get(self.url("/chat/")).send().await.unwrap();
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        assert_eq!(
            attribute(&html, "data-room").as_deref(),
            Some(""),
            "no room before the script asks"
        );
        let (room, cookie) = self.start_chat(&client).await;
        (client, room, cookie.expect("visitor cookie"))
    }

    /// The page script's POST /chat/start/: the room id, and the visitor cookie when one was set.
    pub async fn start_chat(&self, client: &reqwest::Client) -> (String, Option<String>) {
        let response = client.post(self.url("/chat/start/")).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let cookie = set_cookie(&response, "chatcore_visitor");
        let body: Value = response.json().await.unwrap();
        (
            body["room_id"].as_str().expect("room id").to_owned(),
            cookie,
        )
    }

    /// The JSON API's CSRF token for a logged-in client (`GET /api/v1/session`).
    pub async fn api_csrf(&self, client: &reqwest::Client) -> String {
        api_csrf(&self.base, client).await
    }

    /// Logs in as `username`; returns the client, the session cookie and the form's answer.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
    ) -> (reqwest::Client, Option<String>, reqwest::StatusCode) {
        login(&self.base, username, password).await
    }

    /// A fresh visitor with an open socket, past the status and welcome frames: the room, the
    /// visitor cookie and the socket.
    pub async fn visitor_socket(&self) -> (String, String, Socket) {
        let (_client, room, cookie) = self.visitor().await;
        let mut socket = self
            .socket(
                &format!("/ws/chat/{room}/"),
                Some(&cookie),
                Some(&self.base),
            )
            .await
            .unwrap();
        socket.until(|frame| frame["sender"] == "bot").await;
        (room, cookie, socket)
    }

    /// One value from this server's `/metrics` (read over loopback).
    pub async fn metric(&self, line_start: &str) -> Option<f64> {
        let page = self.client().get(self.url("/metrics")).send().await.ok()?;
        metric_sample(&page.text().await.ok()?, line_start)
    }

    pub async fn socket(
        &self,
        path: &str,
        cookie: Option<&str>,
        origin: Option<&str>,
    ) -> Result<Socket, u16> {
        connect(&self.addr.to_string(), path, cookie, origin).await
    }
}

/// A WebSocket to `ws://{addr}{path}` with these headers; the HTTP status when the handshake is
/// refused.
pub async fn connect(
    addr: &str,
    path: &str,
    cookie: Option<&str>,
    origin: Option<&str>,
) -> Result<Socket, u16> {
    let mut request = format!("ws://{addr}{path}").into_client_request().unwrap();
    if let Some(cookie) = cookie {
        request
            .headers_mut()
            .insert("cookie", cookie.parse().unwrap());
    }
    if let Some(origin) = origin {
        request
            .headers_mut()
            .insert("origin", origin.parse().unwrap());
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((stream, _)) => Ok(Socket { stream }),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            Err(response.status().as_u16())
        }
        Err(e) => panic!("websocket connect failed: {e}"),
    }
}

/// The value on the first line of a `/metrics` page that starts with `line_start`.
pub fn metric_sample(page: &str, line_start: &str) -> Option<f64> {
    page.lines()
        .find(|line| line.starts_with(line_start))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
}

/// `name=value` of a cookie the response sets (not a deletion).
pub fn set_cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    let prefix = format!("{name}=");
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter(|v| v.starts_with(&prefix) && !v.starts_with(&format!("{prefix};")))
        .map(|v| v.split(';').next().unwrap_or_default().to_owned())
        .next()
}

pub fn attribute(html: &str, name: &str) -> Option<String> {
    let start = html.find(&format!("{name}=\""))? + name.len() + 2;
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_owned())
}

pub fn input_value(html: &str, name: &str) -> Option<String> {
    let start = html.find(&format!("name=\"{name}\" value=\""))? + name.len() + 15;
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_owned())
}

pub struct Socket {
    pub stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Socket {
    pub async fn send(&mut self, frame: Value) {
        self.stream
            .send(Message::Text(frame.to_string().into()))
            .await
            .unwrap();
    }

    pub async fn send_raw(&mut self, text: &str) {
        self.stream
            .send(Message::Text(text.to_owned().into()))
            .await
            .unwrap();
    }

    /// The next JSON frame (within 5 s).
    pub async fn next(&mut self) -> Value {
        self.next_within(Duration::from_secs(5)).await
    }

    /// The next JSON frame, waiting up to `patience` (a store call during an outage may take its
    /// timeouts).
    pub async fn next_within(&mut self, patience: Duration) -> Value {
        loop {
            let message = tokio::time::timeout(patience, self.stream.next())
                .await
                .expect("a frame in time")
                .expect("socket open")
                .expect("socket ok");
            match message {
                Message::Text(text) => return serde_json::from_str(&text).unwrap(),
                Message::Close(frame) => panic!("socket closed: {frame:?}"),
                _ => continue,
            }
        }
    }

    /// Frames until one matches.
    pub async fn until(&mut self, mut matches: impl FnMut(&Value) -> bool) -> Value {
        for _ in 0..200 {
            let frame = self.next().await;
            if matches(&frame) {
                return frame;
            }
        }
        panic!("no matching frame in 200");
    }

    /// The close code the server ends the socket with (frames before it are skipped); `None` when
    /// the connection ends without a close frame. Fails when it stays open for 40 s.
    pub async fn closed(&mut self) -> Option<u16> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(40);
        loop {
            match tokio::time::timeout_at(deadline, self.stream.next()).await {
                Ok(Some(Ok(Message::Close(frame)))) => return frame.map(|f| u16::from(f.code)),
                Ok(Some(Ok(_))) => continue,
                Ok(_) => return None,
                Err(_) => panic!("the socket stayed open"),
            }
        }
    }

    /// Nothing arrives for a short while.
    pub async fn quiet(&mut self) -> bool {
        tokio::time::timeout(Duration::from_millis(300), self.stream.next())
            .await
            .is_err()
    }
}

/// The options the test servers start from: SQLite in `data_dir`, the test admin password and
/// identity key, one configured host site (https://rentals.example).
pub fn options(data_dir: &std::path::Path) -> Options {
    Options {
        addr: ([127, 0, 0, 1], 0).into(),
        backend: Backend::Sqlite,
        data_dir: data_dir.to_path_buf(),
        sqlite_wal_mib: 4,
        chat_timeout: 3600,
        max_message_length: 1000,
        admin_password: Some(ADMIN_PASSWORD.into()),
        secret: None,
        allowed_origins: vec!["https://rentals.example".into()],
        secure_cookies: false,
        max_connections: 1000,
        new_chats_per_address: 30,
        redis_url: None,
        redis_host: "localhost".into(),
        redis_port: 6379,
        redis_db: 0,
        redis_prefix: "chatcore:".into(),
        identity_secret: Some(IDENTITY_SECRET.into()),
        catalog: reference_server::config::Catalog::Demo,
        utc_offset_minutes: 0,
        webhook_urls: Vec::new(),
        webhook_secret: None,
        metrics_token: None,
    }
}

/// A client that keeps cookies and follows no redirect.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// GET `url` with `client`; the body as text.
pub async fn get_text(client: &reqwest::Client, url: &str) -> String {
    client.get(url).send().await.unwrap().text().await.unwrap()
}

/// GET `url` with `client`; the body as JSON.
pub async fn get_json(client: &reqwest::Client, url: &str) -> Value {
    client.get(url).send().await.unwrap().json().await.unwrap()
}

/// The JSON API's CSRF token for a client logged in at the server at `base`.
pub async fn api_csrf(base: &str, client: &reqwest::Client) -> String {
    let session = get_json(client, &format!("{base}/api/v1/session")).await;
    session["csrf_token"].as_str().unwrap().to_owned()
}

/// Logs in as `username` at the server at `base` through the login form; returns the client, the
/// session cookie and the form's answer.
pub async fn login(
    base: &str,
    username: &str,
    password: &str,
) -> (reqwest::Client, Option<String>, reqwest::StatusCode) {
    let client = client();
    let form = client
        .get(format!("{base}/agent/login/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = input_value(&form, "csrf").expect("csrf field");
    let response = client
        .post(format!("{base}/agent/login/"))
        .form(&[
            ("username", username),
            ("password", password),
            ("csrf", &csrf),
        ])
        .send()
        .await
        .unwrap();
    let status = response.status();
    let session = set_cookie(&response, "chatcore_session");
    (client, session, status)
}

/// The settings a test gives the real server binary (in its environment): SQLite in `data`, on
/// 127.0.0.1:`port`, no per-address limit on new chats, warnings only in its log.
pub fn binary_env(command: &mut std::process::Command, data: &std::path::Path, port: u16) {
    command
        .env("CHATCORE_DATA_DIR", data)
        .env("CHATCORE_ADDR", format!("127.0.0.1:{port}"))
        .env("CHATCORE_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("CHATCORE_NEW_CHATS_PER_ADDRESS", "0")
        .env("CHATCORE_MAX_CONNECTIONS", "1000")
        .env("RUST_LOG", "warn");
}

/// A server binary running apart from the test (another process): how to reach it.
pub struct Remote {
    pub port: u16,
    pub base: String,
}

impl Remote {
    /// A loopback port that was free a moment ago, for a server about to start.
    pub fn on_free_port() -> Remote {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|probe| probe.local_addr())
            .map(|addr| addr.port())
            .unwrap();
        Remote {
            port,
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    /// Waits until `/healthz` answers 200 (30 s at most).
    pub async fn wait_healthy(&self) {
        self.wait_health(reqwest::StatusCode::OK).await;
    }

    /// Waits until `/healthz` answers `status` (30 s at most); what it said.
    pub async fn wait_health(&self, status: reqwest::StatusCode) -> String {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(response) = reqwest::get(format!("{}/healthz", self.base)).await {
                if response.status() == status {
                    return response.text().await.unwrap_or_default();
                }
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the server did not come up with /healthz answering {status}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `POST /chat/start/` as the page does: the response, and on success the room id and the
    /// visitor cookie.
    pub async fn start_chat(&self) -> (reqwest::StatusCode, Option<(String, String)>, String) {
        let response = reqwest::Client::new()
            .post(format!("{}/chat/start/", self.base))
            .send()
            .await
            .unwrap();
        let status = response.status();
        let cookie = set_cookie(&response, "chatcore_visitor");
        let body = response.text().await.unwrap();
        let room = serde_json::from_str::<Value>(&body)
            .ok()
            .and_then(|json| json["room_id"].as_str().map(str::to_owned));
        (status, room.zip(cookie), body)
    }

    /// The room's socket with the visitor's cookie, from `after_seq`.
    pub async fn room_socket(&self, room: &str, cookie: &str, after_seq: u64) -> Socket {
        let path = format!("/ws/chat/{room}/?after_seq={after_seq}");
        connect(
            &format!("127.0.0.1:{}", self.port),
            &path,
            Some(cookie),
            Some(&self.base),
        )
        .await
        .unwrap_or_else(|status| panic!("socket for {room} after {after_seq}: {status}"))
    }
}
