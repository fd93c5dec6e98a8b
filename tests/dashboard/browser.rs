//! One headless Chromium for every test of this binary: chromedriver is started once, on a free
//! port of 127.0.0.1 (again on another port if it does not answer), with a small shell watchdog
//! that ends it and the browser (their process group) within a second or two of this test
//! process exiting. Tests take turns on it (a mutex) and
//! run their browser steps on one shared tokio runtime, where the WebDriver connection lives.
//!
//! Without `/usr/bin/chromium` or `/usr/bin/chromedriver` a test prints a NOTICE naming itself
//! and passes — unless `CI=true`, where it fails.

use std::future::Future;
use std::io::Write;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

pub(crate) struct Browser {
    /// chromedriver and its watchdog: they outlive this process on purpose (the watchdog ends
    /// chromedriver after it), so they are never waited for.
    _driver: Driver,
    runtime: tokio::runtime::Runtime,
    pub(crate) client: Client,
}

static BROWSER: OnceLock<Mutex<Browser>> = OnceLock::new();

/// The shared browser, for the test `test` — or `None` (with a NOTICE) when this machine has
/// no Chromium; under `CI=true` that fails the test instead.
pub(crate) fn browser(test: &str) -> Option<MutexGuard<'static, Browser>> {
    if !Path::new(CHROMIUM).exists() || !Path::new(CHROMEDRIVER).exists() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but {CHROMIUM} or {CHROMEDRIVER} is missing (needed by {test})"
        );
        // Straight to stderr: the test harness captures `eprintln!` of a passing test.
        let _ = writeln!(
            std::io::stderr(),
            "NOTICE: skipped dashboard test `{test}`: it needs {CHROMIUM} and {CHROMEDRIVER} \
             (Debian packages chromium and chromium-driver)."
        );
        return None;
    }
    let browser = BROWSER.get_or_init(|| Mutex::new(Browser::start()));
    Some(browser.lock().unwrap_or_else(PoisonError::into_inner))
}

/// A port free on every address: chromedriver listens on 127.0.0.1 and on ::1, and gives up
/// ("IPv6 port not available") when the second is taken, so the port is chosen by a wildcard
/// IPv6 bind (which conflicts with any IPv4 or IPv6 use of it), on IPv4 alone where there is
/// no IPv6.
fn free_port() -> u16 {
    TcpListener::bind("[::]:0")
        .or_else(|_| TcpListener::bind("127.0.0.1:0"))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Tries at most this many chromedriver starts (one very rarely never answers).
const ATTEMPTS: usize = 3;
/// How long one start may take to answer.
const START_DEADLINE: Duration = Duration::from_secs(15);

/// One chromedriver, in a session (and process group) of its own that the browsers it starts
/// share, and its watchdog: a shell that ends the whole group once this process is gone.
struct Driver {
    port: u16,
    child: std::process::Child,
    watchdog: std::process::Child,
    log: std::path::PathBuf,
    profile: std::path::PathBuf,
}

impl Driver {
    fn launch() -> Driver {
        let port = free_port();
        let profile = std::env::temp_dir().join(format!("hb-dashboard-chromium-{port}"));
        let log = std::env::temp_dir().join(format!("hb-dashboard-chromedriver-{port}.log"));
        // `setsid` execs chromedriver (this child leads no group), so its pid is the group's.
        let child = Command::new("setsid")
            .arg(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).expect("chromedriver's log"))
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let script = format!(
            "while kill -0 {me} 2>/dev/null; do sleep 0.5; done; \
             /bin/kill -TERM -- -{group} 2>/dev/null; sleep 2; \
             /bin/kill -KILL -- -{group} 2>/dev/null; rm -rf '{profile}' '{log}'",
            me = std::process::id(),
            group = child.id(),
            profile = profile.display(),
            log = log.display(),
        );
        let watchdog = Command::new("sh")
            .arg("-c")
            .arg(script)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver's watchdog");
        Driver {
            port,
            child,
            watchdog,
            log,
            profile,
        }
    }

    /// Ends a chromedriver that did not answer, with what it started.
    fn end(mut self) -> String {
        let _ = Command::new("/bin/kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.wait();
        let _ = self.watchdog.kill();
        let _ = self.watchdog.wait();
        let said = std::fs::read_to_string(&self.log).unwrap_or_default();
        let _ = std::fs::remove_file(&self.log);
        let _ = std::fs::remove_dir_all(&self.profile);
        said
    }
}

impl Browser {
    fn start() -> Browser {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let mut failures = Vec::new();
        for _ in 0..ATTEMPTS {
            let driver = Driver::launch();
            match runtime.block_on(session(&driver)) {
                Ok(client) => {
                    return Browser {
                        _driver: driver,
                        runtime,
                        client,
                    };
                }
                Err(e) => {
                    let said = driver.end();
                    failures.push(format!("{e}; it said: {said}"));
                }
            }
        }
        panic!("chromedriver did not start: {failures:#?}");
    }

    /// Runs browser steps to their end.
    pub(crate) fn run<F: Future>(&self, steps: F) -> F::Output {
        self.runtime.block_on(steps)
    }
}

/// A browser session on `driver`, once it answers (within [`START_DEADLINE`]).
async fn session(driver: &Driver) -> Result<Client, String> {
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": CHROMIUM,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                "--disable-dev-shm-usage", "--window-size=1280,800",
                "--no-first-run", "--disable-extensions",
                "--disable-background-networking", "--disable-sync",
                "--disable-component-update", "--disable-default-apps",
                format!("--user-data-dir={}", driver.profile.display())],
        }),
    );
    let url = format!("http://127.0.0.1:{}", driver.port);
    let deadline = Instant::now() + START_DEADLINE;
    loop {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        match ClientBuilder::new(connector)
            .capabilities(capabilities.clone())
            .connect(&url)
            .await
        {
            Ok(client) => return Ok(client),
            Err(e) if Instant::now() >= deadline => return Err(e.to_string()),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// Waits up to `within` for an element matching `css`.
pub(crate) async fn find(c: &Client, css: &str, within: Duration) -> fantoccini::elements::Element {
    c.wait()
        .at_most(within)
        .every(Duration::from_millis(50))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css} within {within:?}: {e}"))
}

/// Whether an element matching `css` is on the page now.
pub(crate) async fn present(c: &Client, css: &str) -> bool {
    !c.find_all(Locator::Css(css)).await.unwrap().is_empty()
}

/// The page's text.
pub(crate) async fn page_text(c: &Client) -> String {
    c.find(Locator::Css("body"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Polls the page's text until it contains `needle` (deadline `within`).
pub(crate) async fn wait_text(c: &Client, needle: &str, within: Duration) -> String {
    let deadline = Instant::now() + within;
    loop {
        let text = page_text(c).await;
        if text.contains(needle) {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "{needle:?} did not appear within {within:?}; the page says:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Runs `script` in the page and returns its value.
pub(crate) async fn js(c: &Client, script: &str) -> Value {
    c.execute(script, vec![]).await.unwrap()
}

/// Writes a screenshot of the page to `target/screenshots/<name>.png`.
pub(crate) async fn screenshot(c: &Client, name: &str) {
    let png = c.screenshot().await.unwrap();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
}

/// Polls `script` (returning a boolean) in the page until it is true (deadline `within`).
pub(crate) async fn wait_js(c: &Client, script: &str, within: Duration) {
    let deadline = Instant::now() + within;
    while js(c, script).await != Value::Bool(true) {
        assert!(
            Instant::now() < deadline,
            "not true within {within:?}: {script}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
