//! Load generator for the reference server: visitors over real WebSockets, as browsers would.
//!
//! ```sh
//! # closed loop: R rooms, each sends M messages, the next once the bot answered the last
//! cargo run --release -p benches --bin loadgen -- closed --rooms 200 --messages 10
//! # open loop: messages at a fixed total rate, whatever the answers do (no coordinated omission)
//! cargo run --release -p benches --bin loadgen -- open --rooms 1000 --rate 1000 --seconds 30
//! # idle: N connections held open; with --server-pid, the server's RSS per connection
//! cargo run --release -p benches --bin loadgen -- idle --connections 20000 --server-pid $PID
//! # two instances: visitors on --url, an agent's live feed on --agent-url; added latency per message
//! cargo run --release -p benches --bin loadgen -- relay --agent-url http://127.0.0.1:8001 ...
//! ```
//!
//! Talks to loopback addresses only, stops by itself, and prints one summary. Start the server with
//! `--new-chats-per-address 0` (every room comes from 127.0.0.1) and, for many connections, a higher
//! `--max-connections` and `ulimit -n`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::sync::Mutex;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

/// A question the default rules answer (pricing), 60–120 characters like real ones.
const QUESTION: &str =
    "Hi, how much does it cost to rent an SUV from the airport next weekend, insurance included?";

#[derive(Parser, Debug)]
#[command(about = "Load generator for the chatcore reference server (loopback only)")]
struct Cli {
    /// The server (visitors connect here).
    #[arg(long, global = true, default_value = "http://127.0.0.1:8000")]
    url: String,
    /// Rooms opened at once while setting up.
    #[arg(long, global = true, default_value_t = 64)]
    setup_concurrency: usize,
    #[command(subcommand)]
    mode: Mode,
}

#[derive(Subcommand, Debug)]
enum Mode {
    /// Each room sends a message, waits for the bot's answer, and sends the next.
    Closed {
        #[arg(long, default_value_t = 100)]
        rooms: usize,
        /// Messages per room. The server lets a connection send a burst of 10, then 2 per second.
        #[arg(long, default_value_t = 10)]
        messages: usize,
    },
    /// Messages at a fixed total rate spread over the rooms; latency counts from when each message
    /// was due, so a slow server cannot hide its backlog.
    Open {
        #[arg(long, default_value_t = 1000)]
        rooms: usize,
        /// Messages per second over all rooms (at most 2 per room and second: the server's limit).
        #[arg(long, default_value_t = 1000.0)]
        rate: f64,
        #[arg(long, default_value_t = 30)]
        seconds: u64,
    },
    /// Holds connections open and idle; reports the server's memory per connection.
    Idle {
        #[arg(long, default_value_t = 10_000)]
        connections: usize,
        /// Seconds to hold them.
        #[arg(long, default_value_t = 10)]
        hold: u64,
        /// The server's process id, to read its resident memory (same machine).
        #[arg(long)]
        server_pid: Option<u32>,
    },
    /// Visitors on `--url` escalate and send at a fixed rate; an agent's live feed on `--agent-url`
    /// (another instance) and one on `--url` receive each message: the difference is what the second
    /// instance adds.
    Relay {
        #[arg(long)]
        agent_url: String,
        #[arg(long, default_value = "admin")]
        username: String,
        #[arg(long, env = "CHATCORE_ADMIN_PASSWORD")]
        password: String,
        #[arg(long, default_value_t = 100)]
        rooms: usize,
        #[arg(long, default_value_t = 100.0)]
        rate: f64,
        #[arg(long, default_value_t = 20)]
        seconds: u64,
    },
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A visitor's room: its id and the socket of its page.
struct Visitor {
    room: String,
    socket: Socket,
}

fn refuse_non_loopback(url: &str) -> Result<(), String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("{url}: {e}"))?;
    let host = parsed.host_str().unwrap_or_default();
    let loopback = host == "localhost"
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if loopback && parsed.username().is_empty() && parsed.password().is_none() {
        Ok(())
    } else {
        Err(format!(
            "{url}: the load generator only talks to loopback addresses (127.0.0.0/8, ::1, localhost)"
        ))
    }
}

/// An HTTP client that never follows a redirect (it could lead off the loopback interface).
fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_else(|e| panic!("HTTP client: {e}"))
}

/// Waits for a reply this long before counting it as an error: the load generator always ends.
const REPLY_TIMEOUT: Duration = Duration::from_secs(10);

/// POST /chat/start/ as the page script does, then the room's WebSocket with the cookie.
async fn open_visitor(http: &reqwest::Client, base: &str) -> Result<Visitor, String> {
    let (room, cookie) = start_room(http, base).await?;
    let socket = connect(base, &format!("/ws/chat/{room}/"), &cookie).await?;
    Ok(Visitor { room, socket })
}

/// `name=value` of the cookie `name` the response sets, as a `Cookie` header carries it back.
fn set_cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .find(|pair| pair.split_once('=').is_some_and(|(key, _)| key == name))
        .map(str::to_owned)
}

/// POST /chat/start/: the room id and the visitor cookie that proves it is ours.
async fn start_room(http: &reqwest::Client, base: &str) -> Result<(String, String), String> {
    let response = http
        .post(format!("{base}/chat/start/"))
        .send()
        .await
        .map_err(|e| format!("start: {e}"))?;
    let status = response.status();
    let cookie = set_cookie(&response, "chatcore_visitor");
    let body: Value = response.json().await.map_err(|e| format!("start: {e}"))?;
    let (Some(room), Some(cookie)) = (body["room_id"].as_str(), cookie) else {
        return Err(format!("start: {status} {body}"));
    };
    Ok((room.to_owned(), cookie))
}

async fn connect(base: &str, path: &str, cookie: &str) -> Result<Socket, String> {
    let ws = base.replacen("http", "ws", 1);
    let mut request = format!("{ws}{path}")
        .into_client_request()
        .map_err(|e| e.to_string())?;
    request.headers_mut().insert(
        "cookie",
        cookie.parse().map_err(|_| "bad cookie".to_owned())?,
    );
    let (socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .map_err(|e| format!("connect {path}: {e}"))?;
    Ok(socket)
}

/// The next JSON frame (pings are answered by tungstenite itself).
async fn next_frame(socket: &mut Socket) -> Result<Value, String> {
    loop {
        match socket.next().await {
            Some(Ok(Message::Text(text))) => {
                return serde_json::from_str(&text).map_err(|e| e.to_string())
            }
            Some(Ok(Message::Close(frame))) => return Err(format!("closed: {frame:?}")),
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(e.to_string()),
            None => return Err("connection ended".into()),
        }
    }
}

/// Sends one message and waits for the bot's answer to it.
async fn ask(socket: &mut Socket, client_id: &str) -> Result<(), String> {
    let frame = json!({"type": "message", "text": QUESTION, "client_id": client_id});
    socket
        .send(Message::Text(frame.to_string().into()))
        .await
        .map_err(|e| e.to_string())?;
    let mut acknowledged = false;
    loop {
        let frame = tokio::time::timeout(REPLY_TIMEOUT, next_frame(socket))
            .await
            .map_err(|_| format!("no answer within {REPLY_TIMEOUT:?}"))??;
        match frame["type"].as_str() {
            Some("message") if frame["client_id"] == client_id => acknowledged = true,
            Some("message") if acknowledged && frame["sender"] == "bot" => return Ok(()),
            Some("error") => return Err(format!("error frame: {frame}")),
            _ => {}
        }
    }
}

/// Opens `count` visitors, `concurrency` at a time.
async fn open_visitors(
    base: &str,
    count: usize,
    concurrency: usize,
) -> (Vec<Visitor>, Vec<String>) {
    let http = http_client();
    let limit = Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
    let mut tasks = Vec::with_capacity(count);
    for _ in 0..count {
        let (http, base, limit) = (http.clone(), base.to_owned(), limit.clone());
        tasks.push(tokio::spawn(async move {
            let _permit = limit.acquire_owned().await;
            let mut visitor = open_visitor(&http, &base).await?;
            // The status frame and the welcome: the room is live.
            let mut seen_welcome = false;
            while !seen_welcome {
                let frame = tokio::time::timeout(REPLY_TIMEOUT, next_frame(&mut visitor.socket))
                    .await
                    .map_err(|_| "no welcome".to_owned())??;
                seen_welcome = frame["sender"] == "bot";
            }
            Ok::<_, String>(visitor)
        }));
    }
    let (mut visitors, mut errors) = (Vec::new(), Vec::new());
    for task in tasks {
        match task.await {
            Ok(Ok(visitor)) => visitors.push(visitor),
            Ok(Err(error)) => errors.push(error),
            Err(error) => errors.push(error.to_string()),
        }
    }
    (visitors, errors)
}

/// p50 / p99 / max of `latencies`, in milliseconds.
fn summary(latencies: &mut [Duration]) -> String {
    if latencies.is_empty() {
        return "no samples".into();
    }
    latencies.sort();
    let at = |q: f64| {
        latencies[((latencies.len() as f64 * q).ceil() as usize).clamp(1, latencies.len()) - 1]
    };
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    format!(
        "p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({} samples)",
        ms(at(0.50)),
        ms(at(0.99)),
        ms(at(1.0)),
        latencies.len()
    )
}

fn report_errors(errors: &[String]) {
    println!("errors: {}", errors.len());
    for error in errors.iter().take(5) {
        println!("  {error}");
    }
}

async fn closed(cli: &Cli, rooms: usize, messages: usize) {
    let (visitors, mut errors) = open_visitors(&cli.url, rooms, cli.setup_concurrency).await;
    println!(
        "closed loop: {} rooms × {messages} messages",
        visitors.len()
    );
    let started = Instant::now();
    let tasks: Vec<_> = visitors
        .into_iter()
        .map(|mut visitor| {
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(messages);
                let mut failure = None;
                for n in 0..messages {
                    let sent = Instant::now();
                    match ask(&mut visitor.socket, &format!("{}-{n}", visitor.room)).await {
                        Ok(()) => latencies.push(sent.elapsed()),
                        Err(error) => {
                            failure = Some(error);
                            break;
                        }
                    }
                }
                let _ = tokio::time::timeout(REPLY_TIMEOUT, visitor.socket.close(None)).await;
                (latencies, failure)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for task in tasks {
        match task.await {
            Ok((mut own, failure)) => {
                latencies.append(&mut own);
                errors.extend(failure);
            }
            Err(error) => errors.push(error.to_string()),
        }
    }
    let elapsed = started.elapsed();
    println!(
        "bot replies: {} in {:.2} s = {:.0} replies/s (each a visitor message and an answer stored)",
        latencies.len(),
        elapsed.as_secs_f64(),
        latencies.len() as f64 / elapsed.as_secs_f64()
    );
    println!("reply latency: {}", summary(&mut latencies));
    report_errors(&errors);
}

async fn open(cli: &Cli, rooms: usize, rate: f64, seconds: u64) {
    let (visitors, mut errors) = open_visitors(&cli.url, rooms, cli.setup_concurrency).await;
    let rooms = visitors.len().max(1);
    let per_room_interval = Duration::from_secs_f64(rooms as f64 / rate);
    println!(
        "open loop: {rooms} rooms, {rate} messages/s in all (one every {:.0} ms per room), {seconds} s",
        per_room_interval.as_secs_f64() * 1000.0
    );
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let tasks: Vec<_> = visitors
        .into_iter()
        .enumerate()
        .map(|(index, visitor)| {
            // Rooms start spread over one interval, so the total rate is even.
            let offset = per_room_interval.mul_f64(index as f64 / rooms as f64);
            tokio::spawn(async move {
                let Visitor { room, socket } = visitor;
                let (mut sink, mut stream) = socket.split();
                let due: Arc<Mutex<std::collections::HashMap<String, Instant>>> = Arc::default();
                let reader = {
                    let due = due.clone();
                    tokio::spawn(async move {
                        let mut latencies = Vec::new();
                        let mut errors = Vec::new();
                        // The bot answers a room's messages in order: due times queue up.
                        let mut waiting_for_bot = std::collections::VecDeque::new();
                        while let Some(Ok(message)) = stream.next().await {
                            let Message::Text(text) = message else {
                                continue;
                            };
                            let Ok(frame) = serde_json::from_str::<Value>(&text) else {
                                continue;
                            };
                            match frame["type"].as_str() {
                                Some("message") => {
                                    if let Some(id) = frame["client_id"].as_str() {
                                        if let Some(at) = due.lock().await.remove(id) {
                                            waiting_for_bot.push_back(at);
                                        }
                                    } else if frame["sender"] == "bot" {
                                        if let Some(at) = waiting_for_bot.pop_front() {
                                            latencies.push(at.elapsed());
                                        }
                                    }
                                }
                                Some("error") => errors.push(frame.to_string()),
                                _ => {}
                            }
                        }
                        (latencies, errors)
                    })
                };
                let mut next_due = Instant::now() + offset;
                let mut n = 0u64;
                let mut sent = 0u64;
                let mut late = Vec::new();
                while next_due < deadline {
                    tokio::time::sleep_until(next_due.into()).await;
                    // How late the generator itself was: part of every latency it reports.
                    late.push(next_due.elapsed());
                    let id = format!("{room}-{n}");
                    due.lock().await.insert(id.clone(), next_due);
                    let frame = json!({"type": "message", "text": QUESTION, "client_id": id});
                    if sink
                        .send(Message::Text(frame.to_string().into()))
                        .await
                        .is_err()
                    {
                        break;
                    }
                    sent += 1;
                    n += 1;
                    next_due += per_room_interval;
                }
                // Answers still in flight get a moment, then the connection closes.
                tokio::time::sleep(Duration::from_secs(2)).await;
                let _ = tokio::time::timeout(REPLY_TIMEOUT, sink.close()).await;
                let (latencies, errors) = match tokio::time::timeout(REPLY_TIMEOUT, reader).await {
                    Ok(Ok(read)) => read,
                    _ => (
                        Vec::new(),
                        vec!["the server did not close the connection".to_owned()],
                    ),
                };
                (sent, latencies, errors, late)
            })
        })
        .collect();
    let (mut sent, mut latencies, mut lateness) = (0, Vec::new(), Vec::new());
    for task in tasks {
        if let Ok((own_sent, mut own, mut own_errors, mut own_late)) = task.await {
            sent += own_sent;
            latencies.append(&mut own);
            errors.append(&mut own_errors);
            lateness.append(&mut own_late);
        }
    }
    let elapsed = started.elapsed().saturating_sub(Duration::from_secs(2));
    println!(
        "sent {sent} ({:.0}/s), answered {} ({:.1} %)",
        sent as f64 / elapsed.as_secs_f64(),
        latencies.len(),
        latencies.len() as f64 * 100.0 / sent.max(1) as f64
    );
    println!(
        "reply latency from when each was due: {}",
        summary(&mut latencies)
    );
    println!(
        "of which the generator's own lateness in sending: {}",
        summary(&mut lateness)
    );
    report_errors(&errors);
}

fn resident_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|line| line.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

async fn idle(cli: &Cli, connections: usize, hold: u64, server_pid: Option<u32>) {
    // Rooms first, then the sockets: the server's memory for stored rooms (database pages it
    // caches) and for open connections are told apart.
    let rss = || server_pid.and_then(resident_kib);
    let at_start = rss();
    let http = http_client();
    let limit = Arc::new(tokio::sync::Semaphore::new(cli.setup_concurrency.max(1)));
    let mut errors = Vec::new();
    let mut rooms = Vec::with_capacity(connections);
    let mut tasks = Vec::with_capacity(connections);
    for _ in 0..connections {
        let (http, base, limit) = (http.clone(), cli.url.clone(), limit.clone());
        tasks.push(tokio::spawn(async move {
            let _permit = limit.acquire_owned().await;
            start_room(&http, &base).await
        }));
    }
    for task in tasks {
        match task.await {
            Ok(Ok(room)) => rooms.push(room),
            Ok(Err(error)) => errors.push(error),
            Err(error) => errors.push(error.to_string()),
        }
    }
    let with_rooms = rss();
    let mut tasks = Vec::with_capacity(rooms.len());
    for (room, cookie) in rooms {
        let (base, limit) = (cli.url.clone(), limit.clone());
        tasks.push(tokio::spawn(async move {
            let _permit = limit.acquire_owned().await;
            let mut socket = connect(&base, &format!("/ws/chat/{room}/"), &cookie).await?;
            // Connected once the status and the welcome came.
            while next_frame(&mut socket).await?["sender"] != "bot" {}
            Ok::<_, String>(socket)
        }));
    }
    let mut sockets = Vec::with_capacity(tasks.len());
    for task in tasks {
        match task.await {
            Ok(Ok(socket)) => sockets.push(socket),
            Ok(Err(error)) => errors.push(error),
            Err(error) => errors.push(error.to_string()),
        }
    }
    println!("idle: {} connections open", sockets.len());
    // Each socket keeps reading while idle (tungstenite answers the server's pings as it reads); a
    // socket the server closes stops counting as alive.
    let alive = Arc::new(std::sync::atomic::AtomicUsize::new(sockets.len()));
    let readers: Vec<_> = sockets
        .into_iter()
        .map(|mut socket| {
            let alive = alive.clone();
            tokio::spawn(async move {
                while let Some(Ok(message)) = socket.next().await {
                    if matches!(message, Message::Close(_)) {
                        break;
                    }
                }
                alive.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
            })
        })
        .collect();
    let count = readers.len();
    tokio::time::sleep(Duration::from_secs(hold)).await;
    let connected = rss();
    if let (Some(start), Some(rooms_done), Some(connected)) = (at_start, with_rooms, connected) {
        let count = count.max(1) as f64;
        println!(
            "server RSS: {start} KiB at start, {rooms_done} KiB with the rooms stored, {connected} KiB with every socket open"
        );
        println!(
            "per connection: {:.1} KiB (sockets only), {:.1} KiB (room stored and connected)",
            connected.saturating_sub(rooms_done) as f64 / count,
            connected.saturating_sub(start) as f64 / count
        );
    }
    let alive = alive.load(std::sync::atomic::Ordering::SeqCst);
    for reader in readers {
        reader.abort();
    }
    println!("still connected after {hold} s: {alive}");
    report_errors(&errors);
}

/// Logs in on `base` (form + CSRF, as a browser) and opens the agents' live feed there.
async fn agent_feed(base: &str, username: &str, password: &str) -> Result<Socket, String> {
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| e.to_string())?;
    let form = http
        .get(format!("{base}/agent/login/"))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    // The login nonce cookie stays in the client's cookie store.
    let page = form.text().await.map_err(|e| e.to_string())?;
    let csrf = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .ok_or("no CSRF field on the login page")?;
    let response = http
        .post(format!("{base}/agent/login/"))
        .form(&[
            ("username", username),
            ("password", password),
            ("csrf", csrf),
        ])
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let session = set_cookie(&response, "chatcore_session")
        .ok_or_else(|| format!("login on {base} failed: {}", response.status()))?;
    connect(base, "/ws/agent/", &session).await
}

/// Receives the agents' feed until `deadline`, noting when each visitor message (by client id)
/// arrived.
async fn collect_feed(
    mut feed: Socket,
    deadline: Instant,
) -> std::collections::HashMap<String, Instant> {
    let mut arrived = std::collections::HashMap::new();
    while let Ok(Ok(frame)) = tokio::time::timeout_at(deadline.into(), next_frame(&mut feed)).await
    {
        if frame["type"] == "room_message" {
            if let Some(id) = frame["message"]["client_id"].as_str() {
                arrived.insert(id.to_owned(), Instant::now());
            }
        }
    }
    arrived
}

async fn relay(
    cli: &Cli,
    agent_url: &str,
    username: &str,
    password: &str,
    rooms: usize,
    rate: f64,
    seconds: u64,
) {
    let same = match agent_feed(&cli.url, username, password).await {
        Ok(feed) => feed,
        Err(error) => return println!("cannot open the agents' feed on {}: {error}", cli.url),
    };
    let other = match agent_feed(agent_url, username, password).await {
        Ok(feed) => feed,
        Err(error) => return println!("cannot open the agents' feed on {agent_url}: {error}"),
    };
    let (mut visitors, mut errors) = open_visitors(&cli.url, rooms, cli.setup_concurrency).await;
    // Escalated rooms' messages go to the agents' feeds.
    for visitor in &mut visitors {
        let _ = visitor
            .socket
            .send(Message::Text(
                json!({"type": "escalate"}).to_string().into(),
            ))
            .await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let listen_until = deadline + Duration::from_secs(2);
    let same_task = tokio::spawn(collect_feed(same, listen_until));
    let other_task = tokio::spawn(collect_feed(other, listen_until));
    let count = visitors.len().max(1);
    let interval = Duration::from_secs_f64(1.0 / rate);
    let mut sent_at = std::collections::HashMap::new();
    let mut next = Instant::now();
    let mut n = 0usize;
    while next < deadline {
        tokio::time::sleep_until(next.into()).await;
        let visitor = &mut visitors[n % count];
        let id = format!("{}-{n}", visitor.room);
        let frame = json!({"type": "message", "text": QUESTION, "client_id": id});
        match visitor
            .socket
            .send(Message::Text(frame.to_string().into()))
            .await
        {
            Ok(()) => {
                sent_at.insert(id, next);
            }
            Err(error) => errors.push(error.to_string()),
        }
        n += 1;
        next += interval;
        // Drain the visitor's own frames now and then so its socket never backs up.
        if n.is_multiple_of(count) {
            for visitor in &mut visitors {
                while let Ok(Some(Ok(Message::Text(text)))) =
                    tokio::time::timeout(Duration::ZERO, visitor.socket.next()).await
                {
                    // Refusals (rate limits, a failed escalation) are reported, not swallowed.
                    if text.contains("\"type\":\"error\"") {
                        errors.push(text.to_string());
                    }
                }
            }
        }
    }
    let same_arrivals = same_task.await.unwrap_or_default();
    let other_arrivals = other_task.await.unwrap_or_default();
    let mut same_latency = Vec::new();
    let mut other_latency = Vec::new();
    let mut added = Vec::new();
    for (id, sent) in &sent_at {
        let here = same_arrivals
            .get(id)
            .map(|t| t.saturating_duration_since(*sent));
        let there = other_arrivals
            .get(id)
            .map(|t| t.saturating_duration_since(*sent));
        if let Some(here) = here {
            same_latency.push(here);
        }
        if let Some(there) = there {
            other_latency.push(there);
        }
        if let (Some(here), Some(there)) = (here, there) {
            added.push(there.saturating_sub(here));
        }
    }
    println!(
        "relay: {} messages at {rate}/s from {count} rooms",
        sent_at.len()
    );
    println!(
        "visitor → agent, same instance:  {}",
        summary(&mut same_latency)
    );
    println!(
        "visitor → agent, other instance: {}",
        summary(&mut other_latency)
    );
    println!("added by the second instance:    {}", summary(&mut added));
    let missing = sent_at.len() - other_latency.len();
    println!("not received on the other instance: {missing}");
    report_errors(&errors);
}

// One thread: the load generator shares the machine with the server, and a lean client leaves it
// more of the two cores.
#[tokio::main(flavor = "current_thread")]
async fn main() {
    let cli = Cli::parse();
    let mut targets = vec![cli.url.clone()];
    if let Mode::Relay { agent_url, .. } = &cli.mode {
        targets.push(agent_url.clone());
    }
    for target in &targets {
        if let Err(error) = refuse_non_loopback(target) {
            eprintln!("{error}");
            std::process::exit(2);
        }
    }
    match &cli.mode {
        Mode::Closed { rooms, messages } => closed(&cli, *rooms, *messages).await,
        Mode::Open {
            rooms,
            rate,
            seconds,
        } => open(&cli, *rooms, *rate, *seconds).await,
        Mode::Idle {
            connections,
            hold,
            server_pid,
        } => idle(&cli, *connections, *hold, *server_pid).await,
        Mode::Relay {
            agent_url,
            username,
            password,
            rooms,
            rate,
            seconds,
        } => relay(&cli, agent_url, username, password, *rooms, *rate, *seconds).await,
    }
}
