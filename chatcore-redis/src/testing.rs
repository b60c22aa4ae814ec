//! Test support (feature `testing`): a real redis-server for tests, isolated per test by key prefix.
//!
//! `REDIS_URL` set: tests use that server. Otherwise they start their own `redis-server` on a free
//! loopback port with a temp dir; it stops when the test process ends. Without either they fail and
//! say how to fix it — they never pass silently.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::RedisConfig;

/// A redis-server started by the tests. Dropping it stops it.
pub struct OwnRedis {
    /// Its loopback port.
    pub port: u16,
    child: Option<Child>,
    dir: tempfile::TempDir,
    aof: bool,
}

impl OwnRedis {
    /// A server on a free loopback port; with `aof`, every write is fsynced to an append-only file.
    pub fn start(aof: bool) -> OwnRedis {
        let dir = tempfile::Builder::new()
            .prefix("redis-")
            .tempdir_in(temp_root())
            .expect("temp dir for redis-server");
        let port = free_port();
        let mut server = OwnRedis {
            port,
            child: None,
            dir,
            aof,
        };
        server.restart();
        server
    }

    /// Its URL.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// Stops the server (SIGKILL: like a crash).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port and directory (AOF data is reloaded).
    pub fn restart(&mut self) {
        self.stop();
        let child = spawn_redis(self.port, self.dir.path(), self.aof, None);
        wait_until_ready(self.port);
        self.child = Some(child);
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Where test servers keep their files: `CARGO_TARGET_TMPDIR` while cargo runs tests, else the
/// system temp dir.
fn temp_root() -> std::path::PathBuf {
    std::env::var_os("CARGO_TARGET_TMPDIR")
        .map(Into::into)
        .unwrap_or_else(std::env::temp_dir)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free loopback port")
}

fn spawn_redis(port: u16, dir: &Path, aof: bool, watch_pid: Option<u32>) -> Child {
    let mut args = vec![
        "--port".to_owned(),
        port.to_string(),
        "--bind".into(),
        "127.0.0.1".into(),
        "--dir".into(),
        dir.display().to_string(),
        "--save".into(),
        String::new(),
        "--appendonly".into(),
        if aof { "yes" } else { "no" }.into(),
        "--appendfsync".into(),
        "always".into(),
        "--protected-mode".into(),
        "yes".into(),
    ];
    let mut command = match watch_pid {
        // The shared server outlives no test process: a shell watches this process and stops the
        // server when it is gone.
        Some(pid) => {
            let quoted: Vec<String> = args.drain(..).map(|a| format!("'{a}'")).collect();
            let script = format!(
                "redis-server {} & r=$!; while kill -0 {pid} 2>/dev/null; do sleep 1; done; kill $r",
                quoted.join(" ")
            );
            let mut command = Command::new("sh");
            command.arg("-c").arg(script);
            command
        }
        None => {
            let mut command = Command::new("redis-server");
            command.args(args);
            command
        }
    };
    command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot start redis-server ({e}). The Redis tests need a Redis server: install one \
                 (Debian/Ubuntu: sudo apt-get install -y redis-server) or point REDIS_URL at a \
                 running server."
            )
        })
}

fn wait_until_ready(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) {
            let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
            let mut reply = [0u8; 7];
            if stream.write_all(b"PING\r\n").is_ok()
                && stream.read_exact(&mut reply).is_ok()
                && &reply == b"+PONG\r\n"
            {
                return;
            }
        }
        assert!(
            Instant::now() < deadline,
            "redis-server on port {port} did not answer within 10 s. Is `redis-server` installed \
             (Debian/Ubuntu: sudo apt-get install -y redis-server), or set REDIS_URL."
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The URL of the server shared by this test process: `REDIS_URL`, or one started on first use.
pub fn shared_url() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        if let Ok(url) = std::env::var("REDIS_URL") {
            if !url.trim().is_empty() {
                return url;
            }
        }
        let dir = tempfile::Builder::new()
            .prefix("redis-shared-")
            .tempdir_in(temp_root())
            .expect("temp dir for redis-server")
            .keep();
        let port = free_port();
        // The child (a shell) is not waited for: it ends on its own with this process.
        let child = spawn_redis(port, &dir, false, Some(std::process::id()));
        std::mem::forget(child);
        wait_until_ready(port);
        format!("redis://127.0.0.1:{port}/0")
    })
}

/// A configuration on the shared server with a prefix no other test uses.
pub fn isolated(label: &str) -> RedisConfig {
    let unique = format!(
        "{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos()
    );
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    RedisConfig::new(shared_url()).prefix(format!("test:{label}:{unique}:{n}:"))
}

impl OwnRedis {
    /// Freezes the server (SIGSTOP): connections stay open but nothing answers.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// Thaws a paused server.
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().expect("running").id().to_string();
        let status = Command::new("kill")
            .args([signal, &pid])
            .status()
            .expect("kill");
        assert!(status.success());
    }
}
