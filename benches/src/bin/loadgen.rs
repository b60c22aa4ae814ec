//! Load generator for the reference server: visitors over real WebSockets, as browsers would.
//!
//! ```sh
//! # closed loop: R rooms, each sends M messages, the next once the bot answered the last
//! cargo run --release -p benches --bin loadgen -- closed --rooms 200 --messages 10
//! # open loop: messages at a fixed total rate, whatever the answers do (no coordinated omission)
//! cargo run --release -p benches --bin loadgen -- open --rooms 1000 --rate 1000 --seconds 30
//! # soak: the open loop for 30 minutes, the server's memory, files, tasks and latency every minute
//! cargo run --release -p benches --bin loadgen -- soak --rooms 1000 --minutes 30 --server-pid $PID
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

use benches::quantile;
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
    /// The open loop for minutes, with a line per interval: the server's RSS, open files, threads,
    /// runtime tasks and connections, and the interval's latency percentiles; then the drift.
    Soak {
        #[arg(long, default_value_t = 1000)]
        rooms: usize,
        #[arg(long, default_value_t = 1000.0)]
        rate: f64,
        #[arg(long, default_value_t = 30)]
        minutes: u64,
        /// Seconds per reported interval.
        #[arg(long, default_value_t = 60)]
        every: u64,
        /// The server's process id (same machine), to read its memory, files and threads.
        #[arg(long)]
        server_pid: u32,
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
        // A stalled server fails a request instead of stalling the generator (and its reports).
        .timeout(REPLY_TIMEOUT)
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
    format!(
        "p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({} samples)",
        millis(quantile(latencies, 0.50)),
        millis(quantile(latencies, 0.99)),
        millis(quantile(latencies, 1.0)),
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

/// What an open-loop run has measured so far; the soak's reporter empties it every interval.
#[derive(Default)]
struct OpenLoopSamples {
    /// Bot reply latency from when each message was due.
    latencies: std::sync::Mutex<Vec<Duration>>,
    /// How late the generator itself was in sending (part of every latency).
    lateness: std::sync::Mutex<Vec<Duration>>,
    sent: std::sync::atomic::AtomicU64,
    errors: std::sync::Mutex<Vec<String>>,
    /// Told once every room is open and the first messages are about to go.
    load_started: tokio::sync::Notify,
}

impl OpenLoopSamples {
    fn push(list: &std::sync::Mutex<Vec<Duration>>, value: Duration) {
        list.lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(value);
    }

    fn take<T>(list: &std::sync::Mutex<Vec<T>>) -> Vec<T> {
        std::mem::take(&mut *list.lock().unwrap_or_else(|poisoned| poisoned.into_inner()))
    }

    fn take_sent(&self) -> u64 {
        self.sent.swap(0, std::sync::atomic::Ordering::Relaxed)
    }
}

/// Opens `rooms` visitors and sends `rate` messages per second over them until `run_for` has
/// passed, recording into `samples` as answers come; returns when every room has closed.
async fn open_loop(
    cli: &Cli,
    rooms: usize,
    rate: f64,
    run_for: Duration,
    samples: Arc<OpenLoopSamples>,
) {
    let (visitors, errors) = open_visitors(&cli.url, rooms, cli.setup_concurrency).await;
    samples
        .errors
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .extend(errors);
    let rooms = visitors.len().max(1);
    let per_room_interval = Duration::from_secs_f64(rooms as f64 / rate);
    println!(
        "open loop: {rooms} rooms, {rate} messages/s in all (one every {:.0} ms per room), {} s",
        per_room_interval.as_secs_f64() * 1000.0,
        run_for.as_secs()
    );
    let deadline = Instant::now() + run_for;
    samples.load_started.notify_one();
    let tasks: Vec<_> = visitors
        .into_iter()
        .enumerate()
        .map(|(index, visitor)| {
            // Rooms start spread over one interval, so the total rate is even.
            let offset = per_room_interval.mul_f64(index as f64 / rooms as f64);
            let samples = samples.clone();
            tokio::spawn(async move {
                let Visitor { room, socket } = visitor;
                let (mut sink, mut stream) = socket.split();
                let due: Arc<Mutex<std::collections::HashMap<String, Instant>>> = Arc::default();
                let reader = {
                    let (due, samples) = (due.clone(), samples.clone());
                    tokio::spawn(async move {
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
                                            OpenLoopSamples::push(&samples.latencies, at.elapsed());
                                        }
                                    }
                                }
                                Some("error") => samples
                                    .errors
                                    .lock()
                                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                                    .push(frame.to_string()),
                                _ => {}
                            }
                        }
                    })
                };
                let mut next_due = Instant::now() + offset;
                let mut n = 0u64;
                while next_due < deadline {
                    tokio::time::sleep_until(next_due.into()).await;
                    OpenLoopSamples::push(&samples.lateness, next_due.elapsed());
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
                    samples
                        .sent
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    n += 1;
                    next_due += per_room_interval;
                }
                // Answers still in flight get a moment, then the connection closes.
                tokio::time::sleep(Duration::from_secs(2)).await;
                let _ = tokio::time::timeout(REPLY_TIMEOUT, sink.close()).await;
                if tokio::time::timeout(REPLY_TIMEOUT, reader).await.is_err() {
                    samples
                        .errors
                        .lock()
                        .unwrap_or_else(|poisoned| poisoned.into_inner())
                        .push("the server did not close the connection".to_owned());
                }
            })
        })
        .collect();
    for task in tasks {
        let _ = task.await;
    }
}

async fn open(cli: &Cli, rooms: usize, rate: f64, seconds: u64) {
    let samples = Arc::new(OpenLoopSamples::default());
    open_loop(
        cli,
        rooms,
        rate,
        Duration::from_secs(seconds),
        samples.clone(),
    )
    .await;
    let sent = samples.take_sent();
    let mut latencies = OpenLoopSamples::take(&samples.latencies);
    let mut lateness = OpenLoopSamples::take(&samples.lateness);
    println!(
        "sent {sent} ({:.0}/s), answered {} ({:.1} %)",
        sent as f64 / seconds.max(1) as f64,
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
    report_errors(&OpenLoopSamples::take(&samples.errors));
}

/// What the server's process looked like at one moment (Linux `/proc`, same machine).
#[derive(Clone, Copy, Debug)]
struct ProcessReading {
    rss_kib: u64,
    /// The heap and stacks: what a leak grows. The rest of RSS is mapped files (the database).
    anon_kib: u64,
    /// `None` when `/proc/<pid>/fd` cannot be read (a server of another user).
    open_files: Option<usize>,
    threads: u64,
}

fn process_reading(pid: u32) -> Option<ProcessReading> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<u64> {
        status
            .lines()
            .find(|line| line.starts_with(name))?
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()
    };
    Some(ProcessReading {
        rss_kib: field("VmRSS:")?,
        anon_kib: field("RssAnon:")?,
        threads: field("Threads:")?,
        open_files: std::fs::read_dir(format!("/proc/{pid}/fd"))
            .ok()
            .map(Iterator::count),
    })
}

/// One gauge's value from the server's `/metrics` page (served to loopback).
async fn scrape_gauge(http: &reqwest::Client, base: &str, name: &str) -> Option<f64> {
    let page = http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    page.lines().find_map(|line| {
        line.strip_prefix(name)?
            .strip_prefix(' ')?
            .trim()
            .parse()
            .ok()
    })
}

/// One soak interval's line.
struct SoakRow {
    minute: f64,
    process: Option<ProcessReading>,
    tasks: Option<f64>,
    connections: Option<f64>,
    sent: u64,
    /// Reply latencies of the interval, sorted.
    latencies: Vec<Duration>,
    /// The generator's own lateness in sending, sorted.
    lateness: Vec<Duration>,
    errors: usize,
}

impl SoakRow {
    const HEADER: &'static str = "minute  sent/s answers  RSS MiB heap MiB  files threads  tasks  conns  p50 ms  p99 ms  max ms late p99  errors";

    fn print(&self, seconds: f64) {
        let ms = |d: Duration| format!("{:.2}", millis(d));
        let latency = |q: f64| {
            if self.latencies.is_empty() {
                "–".to_owned()
            } else {
                ms(quantile(&self.latencies, q))
            }
        };
        let unknown = || "?".to_owned();
        println!(
            "{:>6.1} {:>7.0} {:>7} {:>8} {:>8} {:>6} {:>7} {:>6} {:>6} {:>7} {:>7} {:>7} {:>8} {:>7}",
            self.minute,
            self.sent as f64 / seconds,
            self.latencies.len(),
            self.process
                .map_or_else(unknown, |p| format!("{:.1}", p.rss_kib as f64 / 1024.0)),
            self.process
                .map_or_else(unknown, |p| format!("{:.1}", p.anon_kib as f64 / 1024.0)),
            self.process
                .and_then(|p| p.open_files)
                .map_or_else(unknown, |n| n.to_string()),
            self.process.map_or_else(unknown, |p| p.threads.to_string()),
            self.tasks.map_or_else(unknown, |t| t.to_string()),
            self.connections.map_or_else(unknown, |c| c.to_string()),
            latency(0.50),
            latency(0.99),
            latency(1.0),
            if self.lateness.is_empty() {
                "–".to_owned()
            } else {
                ms(quantile(&self.lateness, 0.99))
            },
            self.errors
        );
    }
}

/// Reads one interval: what the samples gathered since the last one, and the server's state now.
async fn soak_row(
    samples: &OpenLoopSamples,
    started: Instant,
    errors_before: &mut usize,
    server_pid: u32,
    http: &reqwest::Client,
    base: &str,
) -> SoakRow {
    let mut latencies = OpenLoopSamples::take(&samples.latencies);
    latencies.sort();
    let mut lateness = OpenLoopSamples::take(&samples.lateness);
    lateness.sort();
    let errors_now = samples
        .errors
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .len();
    let errors = errors_now - *errors_before;
    *errors_before = errors_now;
    SoakRow {
        minute: started.elapsed().as_secs_f64() / 60.0,
        sent: samples.take_sent(),
        latencies,
        lateness,
        errors,
        process: process_reading(server_pid),
        tasks: scrape_gauge(http, base, "chatcore_runtime_tasks").await,
        connections: scrape_gauge(http, base, "chatcore_connections").await,
    }
}

async fn soak(cli: &Cli, rooms: usize, rate: f64, minutes: u64, every: u64, server_pid: u32) {
    let http = http_client();
    // A first scrape opens the keep-alive connection the reports reuse, so the "before" count of
    // the server's open files already includes it.
    let tasks_before = scrape_gauge(&http, &cli.url, "chatcore_runtime_tasks").await;
    let Some(before) = process_reading(server_pid) else {
        eprintln!("no process {server_pid} to watch (the server's pid, on this machine)");
        std::process::exit(2);
    };
    let show = |value: Option<f64>| value.map_or_else(|| "?".to_owned(), |v| v.to_string());
    let files = |reading: &ProcessReading| {
        reading
            .open_files
            .map_or_else(|| "?".to_owned(), |n| n.to_string())
    };
    println!(
        "before: RSS {} KiB ({} KiB heap and stacks), {} open files, {} threads, {} runtime tasks",
        before.rss_kib,
        before.anon_kib,
        files(&before),
        before.threads,
        show(tasks_before)
    );
    let samples = Arc::new(OpenLoopSamples::default());
    let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
    let reporter = {
        let (samples, base, http) = (samples.clone(), cli.url.clone(), http.clone());
        let every = Duration::from_secs(every.max(1));
        tokio::spawn(async move {
            // Intervals count from the moment every room is open.
            samples.load_started.notified().await;
            let started = Instant::now();
            let mut last = started;
            let mut errors_seen = 0;
            let mut rows = Vec::new();
            // Totals count every interval, the short last one too.
            let (mut sent_total, mut answered_total) = (0u64, 0usize);
            let mut tick = tokio::time::interval_at((started + every).into(), every);
            println!("{}", SoakRow::HEADER);
            loop {
                let done = tokio::select! {
                    _ = tick.tick() => false,
                    _ = &mut stopped => true,
                };
                let row = soak_row(
                    &samples,
                    started,
                    &mut errors_seen,
                    server_pid,
                    &http,
                    &base,
                )
                .await;
                let length = last.elapsed();
                // The last, partial interval is shown when anything happened in it, and counted in
                // the summary only when it is long enough to mean something.
                if !done || row.sent > 0 || !row.latencies.is_empty() {
                    row.print(length.as_secs_f64());
                }
                sent_total += row.sent;
                answered_total += row.latencies.len();
                if !done || length >= every / 2 {
                    rows.push(row);
                }
                last = Instant::now();
                if done {
                    return (rows, sent_total, answered_total);
                }
            }
        })
    };
    open_loop(
        cli,
        rooms,
        rate,
        Duration::from_secs(minutes * 60),
        samples.clone(),
    )
    .await;
    let _ = stop.send(());
    let (rows, sent, answered) = reporter.await.unwrap_or_default();
    // The connections are closed: what the server holds now should be what it held before.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = process_reading(server_pid);
    let tasks_after = scrape_gauge(&http, &cli.url, "chatcore_runtime_tasks").await;
    println!("summary:");
    println!(
        "  sent {sent}, answered {answered} ({:.2} %), unanswered {}",
        answered as f64 * 100.0 / sent.max(1) as f64,
        sent.saturating_sub(answered as u64)
    );
    // The first interval includes the rooms' start; steady state is measured from the second.
    let steady: Vec<&SoakRow> = rows.iter().skip(1).collect();
    let silent = steady.iter().filter(|row| row.latencies.is_empty()).count();
    if silent > 0 {
        println!("  intervals without a single answer: {silent}");
    }
    // A leak grows the heap; the rest of RSS is the database's mapped pages (SQLite's mmap_size
    // bounds them: the connections map the same file, so they share the pages), which grow with
    // the file until that bound and are the kernel's to reclaim.
    let heap: Vec<u64> = steady
        .iter()
        .filter_map(|row| row.process.map(|p| p.anon_kib))
        .collect();
    let rss: Vec<u64> = steady
        .iter()
        .filter_map(|row| row.process.map(|p| p.rss_kib))
        .collect();
    for (what, values) in [("heap and stacks", &heap), ("RSS in all", &rss)] {
        if let (Some(first), Some(low), Some(high)) =
            (values.first(), values.iter().min(), values.iter().max())
        {
            println!(
                "  {what} under load: {:.1} MiB at the second interval, {:.1}–{:.1} MiB after it: spread {:.1} % of the lowest",
                *first as f64 / 1024.0,
                *low as f64 / 1024.0,
                *high as f64 / 1024.0,
                (high - low) as f64 * 100.0 / (*low).max(1) as f64
            );
        }
    }
    let answered_rows: Vec<&&SoakRow> = steady
        .iter()
        .filter(|row| !row.latencies.is_empty())
        .collect();
    let mut p99s: Vec<Duration> = answered_rows
        .iter()
        .map(|row| quantile(&row.latencies, 0.99))
        .collect();
    p99s.sort();
    let p50s: Vec<Duration> = answered_rows
        .iter()
        .map(|row| quantile(&row.latencies, 0.50))
        .collect();
    let worst = answered_rows
        .iter()
        .map(|row| quantile(&row.latencies, 1.0))
        .max();
    if let (Some(low), Some(high), Some(worst)) = (p99s.first(), p99s.last(), worst) {
        println!(
            "  p99 per interval: {:.2}–{:.2} ms (median {:.2} ms); p50 {:.2}–{:.2} ms; worst max {:.2} ms",
            millis(*low),
            millis(*high),
            millis(quantile(&p99s, 0.5)),
            millis(p50s.iter().min().copied().unwrap_or_default()),
            millis(p50s.iter().max().copied().unwrap_or_default()),
            millis(worst),
        );
    }
    if let Some(after) = after {
        println!(
            "  after the rooms closed: RSS {} KiB ({} KiB heap and stacks), open files {} → {}, threads {} → {}, runtime tasks {} → {}",
            after.rss_kib,
            after.anon_kib,
            files(&before),
            files(&after),
            before.threads,
            after.threads,
            show(tasks_before),
            show(tasks_after)
        );
    }
    report_errors(&OpenLoopSamples::take(&samples.errors));
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn idle(cli: &Cli, connections: usize, hold: u64, server_pid: Option<u32>) {
    // Rooms first, then the sockets: the server's memory for stored rooms (database pages it
    // caches) and for open connections are told apart.
    let rss = || server_pid.and_then(process_reading).map(|p| p.rss_kib);
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
        Mode::Soak {
            rooms,
            rate,
            minutes,
            every,
            server_pid,
        } => soak(&cli, *rooms, *rate, *minutes, *every, *server_pid).await,
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
