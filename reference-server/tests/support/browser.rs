//! Headless Chromium through chromedriver (Debian's `chromium` + `chromium-driver`), driven with
//! fantoccini. Each test owns its chromedriver; every session gets a fresh user-data dir.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};
use serde_json::{json, Value};

/// How long a page gets to show what a step expects.
pub const PATIENCE: Duration = Duration::from_secs(15);

const INSTALL_HINT: &str = "browser tests need Chromium and ChromeDriver: \
     sudo apt-get install -y chromium chromium-driver \
     (or set CHROMEDRIVER and CHROMIUM to their paths)";

fn program(variable: &str, candidates: &[&str]) -> PathBuf {
    if let Some(path) = std::env::var_os(variable) {
        return PathBuf::from(path);
    }
    candidates
        .iter()
        .map(PathBuf::from)
        .find(|path| path.exists())
        .unwrap_or_else(|| panic!("{INSTALL_HINT}: no {}", candidates[0]))
}

/// A chromedriver on a loopback port, killed on drop.
pub struct Driver {
    child: Child,
    url: String,
    dirs: Vec<tempfile::TempDir>,
}

impl Driver {
    pub async fn start() -> Driver {
        let chromedriver = program(
            "CHROMEDRIVER",
            &["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"],
        );
        // chromedriver takes a port number, not a bound socket: pick a free one, retry if taken.
        for _ in 0..5 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let mut child = Command::new(&chromedriver)
                .arg(format!("--port={port}"))
                .arg("--allowed-ips=127.0.0.1")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|error| panic!("{INSTALL_HINT}: {chromedriver:?}: {error}"));
            let url = format!("http://127.0.0.1:{port}");
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if child.try_wait().unwrap().is_some() {
                    break;
                }
                if reqwest::get(format!("{url}/status")).await.is_ok() {
                    return Driver {
                        child,
                        url,
                        dirs: Vec::new(),
                    };
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("chromedriver did not start ({INSTALL_HINT})");
    }

    /// A new browser session (its own profile: no shared cookies) with a `width`×`height` viewport.
    /// Below desktop widths the viewport is a phone's (device emulation): a headless window cannot be
    /// narrower than 500 px.
    pub async fn session(&mut self, width: u32, height: u32) -> Client {
        let chromium = program(
            "CHROMIUM",
            &["/usr/bin/chromium", "/usr/bin/chromium-browser"],
        );
        let profile = tempfile::Builder::new()
            .prefix("chromium-")
            .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
            .unwrap();
        let mut capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                    "--disable-dev-shm-usage",
                    "--disable-component-update",
                    "--disable-sync",
                    "--no-first-run",
                    "--hide-scrollbars",
                    format!("--window-size={width},{height}"),
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            },
        });
        if width < 800 {
            capabilities["goog:chromeOptions"]["mobileEmulation"] = json!({
                "deviceMetrics": {"width": width, "height": height, "pixelRatio": 1.0, "touch": true},
            });
        }
        self.dirs.push(profile);
        let Value::Object(capabilities) = capabilities else {
            unreachable!()
        };
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        fantoccini::ClientBuilder::new(connector)
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .unwrap_or_else(|error| panic!("no browser session ({INSTALL_HINT}): {error}"))
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // Chromium exits by itself when its driver's pipe closes.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The first element matching `css`, waiting for it to exist.
pub async fn find(client: &Client, css: &str) -> fantoccini::elements::Element {
    client
        .wait()
        .at_most(PATIENCE)
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|error| panic!("no element {css}: {error}"))
}

/// Runs `script` (a function body returning a value) until it returns something other than
/// `null`/`false`, and returns that; fails after [`PATIENCE`] with `what`.
pub async fn eventually(client: &Client, what: &str, script: &str) -> Value {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let value = client
            .execute(script, vec![])
            .await
            .unwrap_or_else(|error| panic!("{what}: script failed: {error}"));
        if !matches!(value, Value::Null | Value::Bool(false)) {
            return value;
        }
        if Instant::now() > deadline {
            let url = client.current_url().await.map(|u| u.to_string());
            panic!("timed out waiting until {what} (page {url:?})");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until some element matching `css` contains `text`.
pub async fn text_appears(client: &Client, css: &str, text: &str) {
    let script = format!(
        "return Array.from(document.querySelectorAll({css})).some(e => e.textContent.includes({text}));",
        css = json!(css),
        text = json!(text),
    );
    eventually(client, &format!("{css} shows {text:?}"), &script).await;
}

/// Types `text` into the element and presses Enter, as a visitor would.
pub async fn type_and_enter(client: &Client, css: &str, text: &str) {
    let field = find(client, css).await;
    field.send_keys(text).await.unwrap();
    field.send_keys("\u{E007}").await.unwrap();
}

/// Saves a PNG of the page under target/browser-screenshots/.
pub async fn screenshot(client: &Client, name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("..")
        .join("browser-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.png"));
    std::fs::write(&path, client.screenshot().await.unwrap()).unwrap();
    path
}

/// A TCP relay between the browser and the server whose connections the test can cut, to show what
/// a visitor sees when the network drops.
pub struct Proxy {
    pub addr: std::net::SocketAddr,
    links: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>>,
    refusing: std::sync::Arc<std::sync::atomic::AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    pub async fn to(target: std::net::SocketAddr) -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let links = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let refusing = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let task = tokio::spawn({
            let links = links.clone();
            let refusing = refusing.clone();
            async move {
                while let Ok((mut inbound, _)) = listener.accept().await {
                    if refusing.load(std::sync::atomic::Ordering::SeqCst) {
                        continue; // dropped: the browser sees a failed connection
                    }
                    let link = tokio::spawn(async move {
                        if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                            let _ =
                                tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                        }
                    });
                    links.lock().unwrap().push(link.abort_handle());
                }
            }
        });
        Proxy {
            addr,
            links,
            refusing,
            task,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Cuts every open connection and refuses new ones until [`Proxy::restore`].
    pub fn cut(&self) {
        self.refusing
            .store(true, std::sync::atomic::Ordering::SeqCst);
        for link in self.links.lock().unwrap().drain(..) {
            link.abort();
        }
    }

    pub fn restore(&self) {
        self.refusing
            .store(false, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
        for link in self.links.lock().unwrap().drain(..) {
            link.abort();
        }
    }
}
