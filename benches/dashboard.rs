//! The dashboard benchmark, under DASHBOARD.md's conditions, against the release
//! `honeybee-core` binary run as a child process on 127.0.0.1 (the fleet bench's harness):
//!
//! - **fleet page** — server time of `GET /ui/fleet` (a 100-row page), 20 loads over a signed-in
//!   session, while the Core holds 10,000 simulated nodes (one cowrie pot each, TOTP on) that
//!   send 5,000 events/s in total. Target: p95 < 300 ms.
//! - **live feed** — headless Chromium on `/ui/attacks` while 100 simulated nodes send 1,000
//!   events/s in total for 60 s (after 10 s of warm-up): events rendered per second (rows the
//!   page adds, counted by a MutationObserver) and the longest task (Long Tasks API).
//!   Target: longest task < 200 ms.
//!
//! The fleets run on this process's threads and the browser on the same 2 cores as the Core.
//! `cargo bench --bench dashboard`; `HONEYBEE_BENCH_SECTIONS` = `fleet,feed` (default both).
//! Needs /usr/bin/chromium and /usr/bin/chromedriver for the feed section. Every process it
//! starts (the Core, chromedriver and its browser) is ended by it; traffic stays on 127.0.0.1.

#![allow(
    unreachable_pub,
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    missing_debug_implementations
)]

#[path = "../tests/dashboard/browser.rs"]
mod browser;
#[path = "fleet/core_process.rs"]
mod core_process;
#[path = "fleet/http.rs"]
mod http;
#[path = "fleet/machine.rs"]
mod machine;
#[path = "fleet/report.rs"]
mod report;
#[path = "fleet/sim.rs"]
mod sim;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use core_process::{Core, Metrics, Settings};
use honeybee_sim::SimConfig;
use report::{Table, Target, int, ms, percentile, round};

/// The admin token of the bench's Cores (`core_process.rs`).
const TOKEN: &str = "honeybee-bench-admin-token-0123456789abcdef";
const FLEET_NODES: usize = 10_000;
const FLEET_EVENTS: f64 = 5000.0;
const PAGE_LOADS: usize = 20;
const PAGE_TARGET: Duration = Duration::from_millis(300);
const FEED_NODES: usize = 100;
const FEED_EVENTS: f64 = 1000.0;
const FEED_WARM_UP: Duration = Duration::from_secs(10);
const FEED_WINDOW: Duration = Duration::from_secs(60);
const TASK_TARGET_MS: f64 = 200.0;

fn main() {
    let sections = std::env::var("HONEYBEE_BENCH_SECTIONS").unwrap_or_else(|_| "fleet,feed".into());
    machine::Machine::read().print();
    let mut targets = Vec::new();
    if sections.contains("fleet") {
        targets.push(fleet_page());
    }
    if sections.contains("feed") {
        targets.extend(live_feed());
    }
    report::print_summary(&targets);
}

/// Signs in with the admin token; the session cookie (`hb_session=…`).
fn sign_in(api: SocketAddr) -> String {
    let (status, head, _) = request(
        api,
        "POST",
        "/ui/signin",
        None,
        Some(&format!("token={TOKEN}&next=/ui/")),
    );
    assert_eq!(status, 303, "sign-in failed");
    head.lines()
        .find_map(|l| {
            l.strip_prefix("set-cookie: ")
                .or_else(|| l.strip_prefix("Set-Cookie: "))
        })
        .and_then(|v| v.split(';').next())
        .expect("a session cookie")
        .to_owned()
}

/// One request on a new connection; status, head and body.
fn request(
    api: SocketAddr,
    method: &str,
    path: &str,
    cookie: Option<&str>,
    form: Option<&str>,
) -> (u16, String, String) {
    let mut stream = TcpStream::connect(api).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {api}\r\nConnection: close\r\n");
    if let Some(c) = cookie {
        head.push_str(&format!("Cookie: {c}\r\n"));
    }
    let body = form.unwrap_or_default();
    if form.is_some() {
        head.push_str(&format!(
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body.as_bytes()).unwrap();
    let mut out = Vec::new();
    stream.read_to_end(&mut out).unwrap();
    let text = String::from_utf8_lossy(&out).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    (
        head[9..12].parse().unwrap(),
        head.to_owned(),
        body.to_owned(),
    )
}

fn fleet(core: &Core, nodes: usize, rate: f64) -> SimConfig {
    SimConfig {
        pots: vec!["cowrie".into()],
        events_per_sec: rate,
        ..sim::idle(core, nodes, Duration::from_secs(30))
    }
}

/// **fleet page**: p95 server time of a 100-row page under 10,000 nodes and 5,000 events/s.
fn fleet_page() -> Target {
    let core = Core::start(&Settings::fleet());
    let config = fleet(&core, FLEET_NODES, FLEET_EVENTS);
    let ramp = sim::ramp_deadline(&config);
    let handle = sim::start(config);
    let mut api = core.api();
    let held = sim::wait_held(&mut api, &handle, FLEET_NODES, ramp);
    // Let ingestion settle at its rate before measuring.
    std::thread::sleep(Duration::from_secs(10));
    let cookie = sign_in(core.api_addr);
    let stored_before = Metrics::read(&mut api).events_stored();
    let started = Instant::now();
    let mut times = Vec::with_capacity(PAGE_LOADS);
    let mut rows = 0;
    let mut bytes = 0;
    for i in 0..PAGE_LOADS {
        // Walk through the pages and sort orders as an operator would.
        let path = match i % 4 {
            0 => "/ui/fleet".to_owned(),
            1 => format!("/ui/fleet?page={}", 1 + i * 3),
            2 => "/ui/fleet?sort=-last_seen".to_owned(),
            _ => "/ui/fleet?pot_type=cowrie&sort=alerts".to_owned(),
        };
        let at = Instant::now();
        let (status, _, body) = request(core.api_addr, "GET", &path, Some(&cookie), None);
        times.push(at.elapsed());
        assert_eq!(status, 200, "{path}");
        rows = rows.max(body.matches("<tr data-node=").count());
        bytes = bytes.max(body.len());
        std::thread::sleep(Duration::from_millis(250));
    }
    let stored = Metrics::read(&mut api).events_stored() - stored_before;
    let rate = stored as f64 / started.elapsed().as_secs_f64();
    sim::stop(handle, &mut api);
    core.stop();
    times.sort();
    let p95 = percentile(&times, 95.0);
    let mut table = Table::new(
        &format!(
            "fleet page — GET /ui/fleet ({PAGE_LOADS} loads, 100 rows each) while the Core holds \
             {} nodes sending {} events/s in total (load generator on the same 2 cores)",
            int(FLEET_NODES as u64),
            round(FLEET_EVENTS)
        ),
        &[
            "nodes Running",
            "stored/s meanwhile",
            "rows in the page",
            "page size",
            "p50",
            "p95",
            "max",
        ],
    );
    table.row(vec![
        int(held.running),
        round(rate),
        int(rows as u64),
        format!("{} KiB", bytes / 1024),
        format!("{} ms", ms(percentile(&times, 50.0))),
        format!("{} ms", ms(p95)),
        format!("{} ms", ms(*times.last().unwrap())),
    ]);
    table.print();
    Target::new(
        "dashboard",
        "fleet page p95 < 300 ms (10,000 nodes, 5,000 events/s)",
        format!("{} ms", ms(p95)),
        p95 < PAGE_TARGET,
    )
}

/// What the page measured: rows added and the longest task, since the observers started.
fn feed_counts(b: &browser::Browser) -> (u64, f64, u64, u64, f64) {
    let c = b.client.clone();
    let value = b.run(async move {
        browser::js(
            &c,
            "return [window.__rows, window.__longest, window.__tasks, \
             hb.feedStats.batches, hb.feedStats.longestMs]",
        )
        .await
    });
    (
        value[0].as_u64().unwrap_or(0),
        value[1].as_f64().unwrap_or(0.0),
        value[2].as_u64().unwrap_or(0),
        value[3].as_u64().unwrap_or(0),
        value[4].as_f64().unwrap_or(0.0),
    )
}

/// **live feed**: rows rendered per second and the longest task at 1,000 events/s.
fn live_feed() -> Vec<Target> {
    let Some(b) = browser::browser("the live feed benchmark") else {
        return vec![Target::unmeasured(
            "dashboard",
            "live feed longest task < 200 ms",
            "no /usr/bin/chromium or /usr/bin/chromedriver",
        )];
    };
    let core = Core::start(&Settings::fleet());
    let config = fleet(&core, FEED_NODES, FEED_EVENTS);
    let ramp = sim::ramp_deadline(&config);
    let handle = sim::start(config);
    handle.control().set_events_share(0.0);
    let mut api = core.api();
    sim::wait_held(&mut api, &handle, FEED_NODES, ramp);
    let base = format!("http://{}", core.api_addr);
    let c = b.client.clone();
    let setup = format!("{base}/ui/signin");
    b.run(async move {
        c.goto(&setup).await.unwrap();
        c.delete_all_cookies().await.unwrap();
        c.goto(&setup).await.unwrap();
        browser::find(&c, "#token", Duration::from_secs(10))
            .await
            .send_keys(TOKEN)
            .await
            .unwrap();
        browser::find(&c, "#signin", Duration::from_secs(10)).await.click().await.unwrap();
        browser::find(&c, "#fleet-live", Duration::from_secs(10)).await;
        c.goto(&format!("{base}/ui/attacks")).await.unwrap();
        browser::wait_js(&c, "return document.getElementById('feed-state').textContent === 'Live'",
            Duration::from_secs(10)).await;
        // The observers: rows the feed adds, and every long task (≥ 50 ms) with its length.
        browser::js(&c, "window.__rows = 0; window.__longest = 0; window.__tasks = 0; \
            new MutationObserver(ms => { for (const m of ms) window.__rows += m.addedNodes.length; })\
              .observe(document.getElementById('feed-rows'), {childList: true}); \
            new PerformanceObserver(list => { for (const e of list.getEntries()) { \
              window.__tasks += 1; window.__longest = Math.max(window.__longest, e.duration); } })\
              .observe({type: 'longtask'}); return 1").await;
    });
    handle.control().set_events_share(1.0);
    std::thread::sleep(FEED_WARM_UP);
    let c = b.client.clone();
    b.run(async move {
        browser::js(
            &c,
            "window.__rows = 0; window.__longest = 0; window.__tasks = 0; \
             hb.feedStats.batches = 0; hb.feedStats.longestMs = 0; return 1",
        )
        .await;
    });
    let stored_before = Metrics::read(&mut api).events_stored();
    let window = Instant::now();
    std::thread::sleep(FEED_WINDOW);
    let seconds = window.elapsed().as_secs_f64();
    let (rows, longest, tasks, batches, batch_ms) = feed_counts(&b);
    let stored = Metrics::read(&mut api).events_stored() - stored_before;
    let c = b.client.clone();
    let kept = b.run(async move {
        browser::js(
            &c,
            "return document.querySelectorAll('#feed-rows > div').length",
        )
        .await
    });
    // The page (and its stream) closed before the Core stops.
    let c = b.client.clone();
    b.run(async move {
        c.goto("about:blank").await.unwrap();
    });
    sim::stop(handle, &mut api);
    core.stop();
    let mut table = Table::new(
        &format!(
            "live feed — headless Chromium on /ui/attacks, {} nodes sending {} events/s in total \
             for {} s after {} s of warm-up (browser, Core and load generator on the same 2 cores)",
            FEED_NODES,
            round(FEED_EVENTS),
            FEED_WINDOW.as_secs(),
            FEED_WARM_UP.as_secs()
        ),
        &[
            "stored/s",
            "rendered rows/s (MutationObserver)",
            "rows kept",
            "render batches",
            "longest batch (its script)",
            "long tasks (≥ 50 ms)",
            "longest task",
        ],
    );
    table.row(vec![
        round(stored as f64 / seconds),
        round(rows as f64 / seconds),
        kept.to_string(),
        int(batches),
        format!("{batch_ms:.0} ms"),
        int(tasks),
        if tasks == 0 {
            "none ≥ 50 ms".into()
        } else {
            format!("{longest:.0} ms")
        },
    ]);
    table.print();
    vec![Target::new(
        "dashboard",
        "live feed longest task < 200 ms (1,000 events/s)",
        if tasks == 0 {
            "< 50 ms".into()
        } else {
            format!("{longest:.0} ms")
        },
        longest < TASK_TARGET_MS,
    )]
}
