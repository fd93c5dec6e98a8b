//! The dashboard in a real browser: headless Chromium driven through chromedriver (WebDriver,
//! fantoccini) against a real Core with fake nodes over real TCP. Every page visited is
//! screenshotted to `target/screenshots/`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../common/mod.rs"]
mod common;

mod browser;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use browser::{browser, find, js, page_text, present, screenshot, wait_js, wait_text};
use common::{FakeNode, TestCore, start_core, wait_until};
use fantoccini::{Client, Locator};
use serde_json::{Value, json};

const ADMIN: &str = "admin-token-for-dashboard";
const READ: &str = "read-token-for-dashboard";
const CONFIG: &str = "[api]\ntoken = \"admin-token-for-dashboard\"\n\
    read_tokens = [\"read-token-for-dashboard\"]\n\
    [protocol]\nheartbeat_timeout_secs = 300\n[commands]\nlist_window_ms = 200\n";
const WAIT: Duration = Duration::from_secs(10);

fn base(core: &TestCore) -> String {
    format!("http://{}", core.api_addr)
}

/// Signs the browser in with `token` (from a clean slate) and waits for the page after it.
async fn sign_in(c: &Client, base: &str, token: &str) {
    c.goto(&format!("{base}/ui/signin")).await.unwrap();
    c.delete_all_cookies().await.unwrap();
    c.goto(&format!("{base}/ui/signin")).await.unwrap();
    let field = find(c, "#token", WAIT).await;
    field.send_keys(token).await.unwrap();
    find(c, "#signin", WAIT).await.click().await.unwrap();
    // The answer has arrived: the form again with its message, or a signed-in page.
    wait_js(
        c,
        "return document.readyState === 'complete' && \
         (document.getElementById('signin-error') !== null || \
          document.getElementById('token') === null)",
        WAIT,
    )
    .await;
}

/// The session cookie the browser holds (HttpOnly: only WebDriver sees it).
async fn session_cookie(c: &Client) -> String {
    let cookies = c.get_all_cookies().await.unwrap();
    let cookie = cookies
        .iter()
        .find(|k| k.name() == "hb_session")
        .expect("a session cookie");
    format!("hb_session={}", cookie.value())
}

/// A node registered with `pots` reported (answering the Core's `GetInstalledPots`).
fn node_with_pots(core: &TestCore, node_id: u64, name: &str, pots: &[(&str, &str)]) -> FakeNode {
    let mut node = FakeNode::connect(core.node_addr, node_id);
    node.register(name);
    let asked = node.expect_message("NodeCommand");
    assert_eq!(asked["command"], json!({"GetInstalledPots": {}}));
    for (pot, status) in pots {
        let report = node.pot_status(pot, status, None);
        node.send(report);
    }
    node
}

fn pot_event(node: &FakeNode, pot: &str, event_type: &str, data: Value) -> Value {
    json!({"PotEvent": {"node_id": node.node_id, "pot_id": pot, "event_type": event_type,
        "data": data}})
}

/// One HTTP/1.1 request with a cookie and a form body; status, headers (lowercase) and body.
fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    cookie: Option<&str>,
    form: Option<&str>,
) -> (u16, Vec<(String, String)>, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if let Some(cookie) = cookie {
        head.push_str(&format!("Cookie: {cookie}\r\n"));
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
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let text = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head[9..12].parse().unwrap();
    let headers = head
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_lowercase(), v.trim().to_owned()))
        .collect();
    (status, headers, body.to_owned())
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// `honeybee_api_unauthorized_total` now.
fn unauthorized_total(core: &TestCore) -> u64 {
    let answer = common::http::raw(core.api_addr, "GET", "/metrics", Some(ADMIN), None);
    answer
        .text()
        .lines()
        .find_map(|l| l.strip_prefix("honeybee_api_unauthorized_total "))
        .and_then(|n| n.trim().parse().ok())
        .expect("the counter")
}

#[test]
fn signing_in_with_admin_read_and_wrong_tokens() {
    let Some(b) = browser("signing_in_with_admin_read_and_wrong_tokens") else {
        return;
    };
    let core = start_core(CONFIG);
    let base = base(&core);
    let c = b.client.clone();
    let before = unauthorized_total(&core);
    b.run(async {
        // `/` without a session is the sign-in form.
        c.goto(&format!("{base}/")).await.unwrap();
        c.delete_all_cookies().await.unwrap();
        c.goto(&format!("{base}/")).await.unwrap();
        find(&c, "#token", WAIT).await;
        screenshot(&c, "signin").await;
        for wrong in ["not-a-token", "admin-token-for-dashboarX"] {
            sign_in(&c, &base, wrong).await;
            let error = find(&c, "#signin-error", WAIT).await.text().await.unwrap();
            assert_eq!(error, "That token was not accepted.");
        }
        assert!(c.get_all_cookies().await.unwrap().is_empty());

        sign_in(&c, &base, READ).await;
        find(&c, "#fleet-live", WAIT).await;
        let text = page_text(&c).await;
        assert!(text.contains("read only"), "{text}");
        // The cookie is invisible to scripts.
        assert_eq!(js(&c, "return document.cookie").await, json!(""));

        sign_in(&c, &base, ADMIN).await;
        find(&c, "#fleet-live", WAIT).await;
        assert!(!page_text(&c).await.contains("read only"));
        // Signing out ends the session: the next page asks to sign in again.
        find(&c, "header form.who button", WAIT)
            .await
            .click()
            .await
            .unwrap();
        find(&c, "#token", WAIT).await;
        c.goto(&format!("{base}/ui/alerts")).await.unwrap();
        find(&c, "#token", WAIT).await;
    });
    assert_eq!(
        unauthorized_total(&core),
        before + 2,
        "wrong tokens are counted"
    );
    // The cookie's attributes, as the Core sends them.
    let (status, headers, _) = http(
        core.api_addr,
        "POST",
        "/ui/signin",
        None,
        Some(&format!("token={ADMIN}&next=/ui/")),
    );
    assert_eq!(status, 303);
    let cookie = header(&headers, "set-cookie").unwrap();
    for part in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(part), "{cookie}");
    }
    assert!(
        !cookie.contains(ADMIN),
        "the token never goes to the browser"
    );
}

#[test]
fn the_fleet_shows_a_registered_node_with_its_pots_and_follows_changes() {
    let Some(b) = browser("the_fleet_shows_a_registered_node_with_its_pots_and_follows_changes")
    else {
        return;
    };
    let core = start_core(CONFIG);
    let base = base(&core);
    let _first = node_with_pots(
        &core,
        1001,
        "bee-fleet-1",
        &[("cowrie-01", "Running"), ("web-01", "Stopped")],
    );
    wait_until(WAIT, "the pots are known", || {
        core.store
            .load_fleet()
            .map(|f| f.nodes.iter().any(|n| n.pots.len() == 2))
            .unwrap_or(false)
    });
    let c = b.client.clone();
    let second = b.run(async {
        sign_in(&c, &base, ADMIN).await;
        find(&c, "#fleet-live", WAIT).await;
        let text = wait_text(&c, "bee-fleet-1", WAIT).await;
        assert!(
            text.contains("cowrie-01") && text.contains("web-01"),
            "{text}"
        );
        let chip = find(&c, "tr[data-node='1001'] .chip.st-Running", WAIT).await;
        assert_eq!(chip.text().await.unwrap(), "cowrie-01");
        js(&c, "window.__stayed = true; return 1").await;
        // A node that registers now appears without a reload.
        let second = node_with_pots(&core, 1002, "bee-fleet-2", &[("cowrie-02", "Running")]);
        wait_text(&c, "bee-fleet-2", Duration::from_secs(8)).await;
        assert_eq!(js(&c, "return window.__stayed === true").await, json!(true));
        // Filters: by name, then by pot type (a plain GET form).
        c.goto(&format!("{base}/ui/fleet?q=fleet-2")).await.unwrap();
        let text = wait_text(&c, "bee-fleet-2", WAIT).await;
        assert!(!text.contains("bee-fleet-1"), "{text}");
        c.goto(&format!("{base}/ui/fleet?status=Unknown"))
            .await
            .unwrap();
        find(&c, "#fleet-live", WAIT).await;
        assert!(!page_text(&c).await.contains("bee-fleet-"));
        c.goto(&format!("{base}/ui/fleet?sort=-name"))
            .await
            .unwrap();
        find(&c, "#fleet-live", WAIT).await;
        let names = js(
            &c,
            "return [...document.querySelectorAll('a.node-name')].map(a => a.textContent)",
        )
        .await;
        assert_eq!(names, json!(["bee-fleet-2", "bee-fleet-1"]));
        c.goto(&format!("{base}/ui/fleet")).await.unwrap();
        find(&c, "#fleet-live", WAIT).await;
        screenshot(&c, "fleet").await;
        second
    });
    drop(second);
}

#[test]
fn an_event_shows_in_the_live_feed_within_2_s() {
    let Some(b) = browser("an_event_shows_in_the_live_feed_within_2_s") else {
        return;
    };
    let core = start_core(CONFIG);
    let base = base(&core);
    let mut node = node_with_pots(&core, 2001, "bee-feed", &[("cowrie-01", "Running")]);
    // Some history for the charts and top lists of the screenshot.
    for i in 0..40u32 {
        let user = ["root", "admin", "pi"][i as usize % 3];
        let event = pot_event(
            &node,
            "cowrie-01",
            "cowrie.login.failed",
            json!({"src_ip": format!("203.0.113.{}", i % 7), "username": user,
                "password": format!("pass{}", i % 5), "input": "uname -a"}),
        );
        node.send(event);
    }
    wait_until(WAIT, "the history is stored", || {
        core.store.event_count().unwrap() >= 40
    });
    let c = b.client.clone();
    b.run(async {
        sign_in(&c, &base, ADMIN).await;
        c.goto(&format!("{base}/ui/attacks")).await.unwrap();
        let state = find(&c, "#feed-state", WAIT).await;
        let deadline = Instant::now() + WAIT;
        while state.text().await.unwrap() != "Live" {
            assert!(Instant::now() < deadline, "the feed did not connect");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let sent = Instant::now();
        let event = pot_event(
            &node,
            "cowrie-01",
            "cowrie.login.success",
            json!({"src_ip": "198.51.100.23", "username": "feed-check-user", "password": "x"}),
        );
        node.send(event);
        wait_text(&c, "feed-check-user", Duration::from_secs(2)).await;
        let took = sent.elapsed();
        assert!(took < Duration::from_secs(2), "{took:?}");
        eprintln!("The event showed in the live feed after {took:?}.");
        // Paused, the feed holds still; resumed, it catches up.
        find(&c, "#pause", WAIT).await.click().await.unwrap();
        let event = pot_event(
            &node,
            "cowrie-01",
            "cowrie.command.input",
            json!({"src_ip": "198.51.100.24", "input": "paused-check"}),
        );
        node.send(event);
        tokio::time::sleep(Duration::from_millis(800)).await;
        assert!(!page_text(&c).await.contains("paused-check"));
        find(&c, "#pause", WAIT).await.click().await.unwrap();
        wait_text(&c, "paused-check", Duration::from_secs(2)).await;
        // A source address links to every event from it.
        c.goto(&format!("{base}/ui/attacks")).await.unwrap();
        find(&c, "#chart-day .uplot", WAIT).await;
        wait_text(&c, "203.0.113.0", WAIT).await;
        for i in 0..3u32 {
            let event = pot_event(
                &node,
                "cowrie-01",
                "cowrie.session.connect",
                json!({"src_ip": format!("192.0.2.{i}"), "username": "live"}),
            );
            node.send(event);
        }
        wait_text(&c, "192.0.2.2", WAIT).await;
        screenshot(&c, "attacks").await;
        c.find(Locator::LinkText("203.0.113.0"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let text = wait_text(&c, "Events from", WAIT).await;
        assert!(text.contains("203.0.113.0"));
        assert!(!text.contains("203.0.113.1 "), "{text}");
        screenshot(&c, "events").await;
        // The fleet shows the node's last event (kept on its record, a few seconds late).
        let deadline = Instant::now() + WAIT;
        loop {
            c.goto(&format!("{base}/ui/fleet")).await.unwrap();
            find(&c, "#fleet-live", WAIT).await;
            if present(&c, "tr[data-node='2001'] td:nth-child(5) time").await {
                break;
            }
            assert!(Instant::now() < deadline, "no last event on the fleet page");
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    });
}

#[test]
fn a_command_from_the_node_page_reaches_the_node_and_its_outcome_shows() {
    let Some(b) = browser("a_command_from_the_node_page_reaches_the_node_and_its_outcome_shows")
    else {
        return;
    };
    let core = start_core(CONFIG);
    let base = base(&core);
    let mut node = node_with_pots(&core, 3001, "bee-cmd", &[("cowrie-01", "Running")]);
    let c = b.client.clone();
    b.run(async {
        sign_in(&c, &base, ADMIN).await;
        c.goto(&format!("{base}/ui/nodes/3001")).await.unwrap();
        wait_text(&c, "cowrie-01", WAIT).await;
        let select = find(&c, "#command-name", WAIT).await;
        select.select_by_value("GetPotStatus").await.unwrap();
        let pot = find(&c, "#command-form input[name=pot_id]", WAIT).await;
        pot.send_keys("cowrie-01").await.unwrap();
        find(&c, "#send-command", WAIT).await.click().await.unwrap();
        let notice = find(&c, "#form-notice", WAIT).await.text().await.unwrap();
        assert!(
            notice.starts_with("Command ") && notice.ends_with(" sent."),
            "{notice}"
        );
        js(&c, "window.__stayed = true; return 1").await;
    });
    // The node gets it, and answers.
    let command = node.expect_message("NodeCommand");
    assert_eq!(command["command"], json!({"GetPotStatus": "cowrie-01"}));
    let answer = node.pot_status("cowrie-01", "Running", Some("answer-from-the-node"));
    node.send(answer);
    b.run(async {
        // The newest command's row turns completed (the page's live part reloads itself).
        wait_js(
            &c,
            "const s = document.querySelector('tr[data-command] td.cmd-status'); \
             return s !== null && s.textContent === 'completed'",
            WAIT,
        )
        .await;
        wait_text(&c, "answer-from-the-node", WAIT).await;
        assert_eq!(js(&c, "return window.__stayed === true").await, json!(true));
        // A bad form gets the API's own refusal, shown on the page.
        let select = find(&c, "#command-name", WAIT).await;
        select.select_by_value("StopPot").await.unwrap();
        find(&c, "#send-command", WAIT).await.click().await.unwrap();
        let error = find(&c, "#form-error", WAIT).await.text().await.unwrap();
        assert!(error.starts_with("The command was not sent:"), "{error}");
        c.goto(&format!("{base}/ui/nodes/3001")).await.unwrap();
        find(&c, "#commands", WAIT).await;
        screenshot(&c, "node").await;
        c.goto(&format!("{base}/ui/audit")).await.unwrap();
        let text = wait_text(&c, "POST /api/v1/nodes/{id}/commands", WAIT).await;
        assert!(text.contains("admin"), "{text}");
        screenshot(&c, "audit").await;
    });
}

#[test]
fn read_tokens_find_no_action_controls_and_forged_posts_are_refused() {
    let Some(b) = browser("read_tokens_find_no_action_controls_and_forged_posts_are_refused")
    else {
        return;
    };
    let core = start_core(CONFIG);
    let base = base(&core);
    let mut node = node_with_pots(&core, 4001, "bee-read", &[("cowrie-01", "Running")]);
    let c = b.client.clone();
    let (read_cookie, read_csrf) = b.run(async {
        sign_in(&c, &base, READ).await;
        for page in [
            "/ui/fleet",
            "/ui/nodes/4001",
            "/ui/enrollment",
            "/ui/alerts",
            "/ui/audit",
            "/ui/attacks",
        ] {
            c.goto(&format!("{base}{page}")).await.unwrap();
            find(&c, "main", WAIT).await;
            let forms = js(
                &c,
                "return [...document.querySelectorAll('form[method=post]')]\
                .filter(f => !f.classList.contains('who')).length",
            )
            .await;
            assert_eq!(
                forms,
                json!(0),
                "{page} shows action controls to a read token"
            );
            assert!(!present(&c, "#command-form").await);
        }
        let csrf = js(
            &c,
            "return document.querySelector('form.who input[name=csrf]').value",
        )
        .await;
        (session_cookie(&c).await, csrf.as_str().unwrap().to_owned())
    });
    // A read session's POST, even with its own CSRF token, is refused.
    let form = format!("csrf={read_csrf}&command=Restart");
    let (status, _, body) = http(
        core.api_addr,
        "POST",
        "/ui/nodes/4001/commands",
        Some(&read_cookie),
        Some(&form),
    );
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("may only read"), "{body}");
    // An admin session's POST without its CSRF token (a forged form) is refused.
    let admin_cookie = b.run(async {
        sign_in(&c, &base, ADMIN).await;
        find(&c, "#fleet-live", WAIT).await;
        session_cookie(&c).await
    });
    for forged in ["command=Restart", "csrf=wrong&command=Restart"] {
        let (status, _, body) = http(
            core.api_addr,
            "POST",
            "/ui/nodes/4001/commands",
            Some(&admin_cookie),
            Some(forged),
        );
        assert_eq!(status, 403, "{body}");
        assert!(body.contains("CSRF"), "{body}");
    }
    // No session at all.
    let (status, _, _) = http(
        core.api_addr,
        "POST",
        "/ui/nodes/4001/commands",
        None,
        Some("command=Restart"),
    );
    assert_eq!(status, 403);
    // None of them reached the node: the next command it gets is one sent properly.
    let csrf = b.run(async {
        js(
            &c,
            "return document.querySelector('form.who input[name=csrf]').value",
        )
        .await
    });
    let form = format!("csrf={}&command=GetInstalledPots", csrf.as_str().unwrap());
    let (status, _, _) = http(
        core.api_addr,
        "POST",
        "/ui/nodes/4001/commands",
        Some(&admin_cookie),
        Some(&form),
    );
    assert_eq!(status, 303);
    let command = node.expect_message("NodeCommand");
    assert_eq!(command["command"], json!({"GetInstalledPots": {}}));
}

/// What a hostile pot puts in every field it controls.
const HOSTILE: &str = "<script>window.__pwned=1</script><img src=x onerror=\"window.__pwned=2\">\u{1b}[31mred\u{1b}[0m";

#[test]
fn hostile_strings_render_as_text() {
    let Some(b) = browser("hostile_strings_render_as_text") else {
        return;
    };
    let core = start_core(CONFIG);
    let base = base(&core);
    let mut node = node_with_pots(&core, 5001, "bee-hostile", &[("cowrie-01", "Running")]);
    let c = b.client.clone();
    let event = pot_event(
        &node,
        "cowrie-01",
        HOSTILE,
        json!({"src_ip": "198.51.100.66", "username": HOSTILE, "password": HOSTILE,
            "input": HOSTILE, "url": HOSTILE, "sha256": HOSTILE}),
    );
    let shown = "<script>window.__pwned=1</script><img src=x onerror=\"window.__pwned=2\">\\x1b[31mred\\x1b[0m";
    b.run(async {
        sign_in(&c, &base, ADMIN).await;
        c.goto(&format!("{base}/ui/attacks")).await.unwrap();
        let state = find(&c, "#feed-state", WAIT).await;
        let deadline = Instant::now() + WAIT;
        while state.text().await.unwrap() != "Live" {
            assert!(Instant::now() < deadline, "the feed did not connect");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        node.send(event);
        let text = wait_text(&c, shown, WAIT).await;
        assert!(text.matches(shown).count() >= 4, "{text}");
        // Stored and listed by the server: the events page and the top lists.
        for page in ["/ui/events?src_ip=198.51.100.66", "/ui/attacks"] {
            c.goto(&format!("{base}{page}")).await.unwrap();
            let text = wait_text(&c, shown, WAIT).await;
            assert!(text.matches(shown).count() >= 3, "{page}: {text}");
        }
        for (what, script) in [
            ("no script ran", "return window.__pwned === undefined"),
            (
                "no image was made",
                "return document.querySelectorAll('main img').length === 0",
            ),
            (
                "no script element came in",
                "return [...document.scripts].every(s => s.src.startsWith(location.origin))",
            ),
        ] {
            assert_eq!(js(&c, script).await, json!(true), "{what}");
        }
    });
}

#[test]
fn every_page_has_the_csp_and_makes_no_request_outside_the_core() {
    let Some(b) = browser("every_page_has_the_csp_and_makes_no_request_outside_the_core") else {
        return;
    };
    let core = start_core(&format!("{CONFIG}[alerts]\nreconnect_grace_secs = 0.2\n"));
    let base = base(&core);
    let _node = node_with_pots(&core, 6001, "bee-csp", &[("cowrie-01", "Running")]);
    // A node that goes away: its `node_unknown` alert is on the alerts page, linked to it.
    drop(node_with_pots(
        &core,
        6002,
        "bee-gone",
        &[("cowrie-02", "Running")],
    ));
    let c = b.client.clone();
    let pages = [
        "/",
        "/ui/fleet",
        "/ui/nodes/6001",
        "/ui/attacks",
        "/ui/events",
        "/ui/alerts",
        "/ui/enrollment",
        "/ui/audit",
    ];
    let cookie = b.run(async {
        sign_in(&c, &base, ADMIN).await;
        find(&c, "#fleet-live", WAIT).await;
        for page in pages {
            c.goto(&format!("{base}{page}")).await.unwrap();
            find(&c, "main", WAIT).await;
            // Let the scripts start (streams, chart data) before looking.
            tokio::time::sleep(Duration::from_millis(300)).await;
            let outside = js(
                &c,
                "return performance.getEntriesByType('resource')\
                .map(e => e.name).filter(n => !n.startsWith(location.origin + '/')\
                && !n.startsWith(location.origin.replace('http', 'ws') + '/'))",
            )
            .await;
            assert_eq!(outside, json!([]), "{page} reached outside the Core");
        }
        // Pre-enrolling shows the key, its URI and a QR code drawn by the Core.
        c.goto(&format!("{base}/ui/enrollment")).await.unwrap();
        find(&c, "#enroll-form input[name=node_name]", WAIT)
            .await
            .send_keys("bee-new")
            .await
            .unwrap();
        find(&c, "#enroll-form button", WAIT)
            .await
            .click()
            .await
            .unwrap();
        let uri = find(&c, "#otpauth-uri", WAIT).await.text().await.unwrap();
        assert!(uri.starts_with("otpauth://totp/"), "{uri}");
        assert!(present(&c, "#qr svg").await);
        screenshot(&c, "enrolled").await;
        c.goto(&format!("{base}/ui/enrollment")).await.unwrap();
        wait_text(&c, "bee-new", WAIT).await;
        screenshot(&c, "enrollment").await;
        let deadline = Instant::now() + WAIT;
        loop {
            c.goto(&format!("{base}/ui/alerts")).await.unwrap();
            find(&c, "main", WAIT).await;
            if present(&c, "tr.open a[href='/ui/nodes/6002']").await {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "no open node_unknown alert linked to its node"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert!(page_text(&c).await.contains("node_unknown"));
        screenshot(&c, "alerts").await;
        // A phone's width: the pages fit it (wide tables scroll inside their box).
        c.set_window_size(390, 844).await.unwrap();
        for (page, name) in [
            ("/ui/fleet", "fleet-phone"),
            ("/ui/nodes/6001", "node-phone"),
        ] {
            c.goto(&format!("{base}{page}")).await.unwrap();
            find(&c, "main", WAIT).await;
            let fits = js(
                &c,
                "return document.documentElement.scrollWidth <= window.innerWidth + 1",
            )
            .await;
            screenshot(&c, name).await;
            assert_eq!(fits, json!(true), "{page} is wider than a phone");
        }
        c.set_window_size(1280, 800).await.unwrap();
        session_cookie(&c).await
    });
    for page in pages.iter().chain(&["/ui/signin", "/ui/assets/app.js"]) {
        let (status, headers, _) = http(core.api_addr, "GET", page, Some(&cookie), None);
        assert_eq!(status, 200, "{page}");
        let csp = header(&headers, "content-security-policy").unwrap_or_default();
        assert!(csp.contains("default-src 'self'"), "{page}: {csp}");
        assert_eq!(header(&headers, "x-frame-options"), Some("DENY"), "{page}");
        assert_eq!(
            header(&headers, "referrer-policy"),
            Some("no-referrer"),
            "{page}"
        );
    }
    let (_, headers, _) = http(core.api_addr, "GET", "/ui/enrollment", Some(&cookie), None);
    assert_eq!(header(&headers, "cache-control"), Some("no-store"));
    // The page's stream opens only for this Core's own pages.
    let key = "dGhlIHNhbXBsZSBub25jZQ==";
    for (origin, want) in [
        (format!("http://{}", core.api_addr), 101),
        ("http://evil.example".to_owned(), 403),
    ] {
        let mut stream = TcpStream::connect(core.api_addr).unwrap();
        stream.set_read_timeout(Some(WAIT)).unwrap();
        write!(
            stream,
            "GET /ui/live HTTP/1.1\r\nHost: {}\r\nOrigin: {origin}\r\nCookie: {cookie}\r\n\
             Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\
             Sec-WebSocket-Key: {key}\r\n\r\n",
            core.api_addr
        )
        .unwrap();
        let mut first = [0u8; 12];
        stream.read_exact(&mut first).unwrap();
        let status: u16 = String::from_utf8_lossy(&first[9..12]).parse().unwrap();
        assert_eq!(status, want, "Origin {origin}");
    }
}

/// Signs in over plain HTTP; the session cookie.
fn http_sign_in(addr: SocketAddr, token: &str) -> String {
    let (status, headers, body) = http(
        addr,
        "POST",
        "/ui/signin",
        None,
        Some(&format!("token={token}&next=/ui/fleet")),
    );
    assert_eq!(status, 303, "{body}");
    header(&headers, "set-cookie")
        .and_then(|c| c.split(';').next())
        .expect("a session cookie")
        .to_owned()
}

/// Whether `cookie` still opens the fleet page (a 303 sends to the sign-in form).
fn signed_in(addr: SocketAddr, cookie: &str) -> bool {
    let (status, headers, _) = http(addr, "GET", "/ui/fleet", Some(cookie), None);
    match status {
        200 => true,
        303 => {
            assert!(
                header(&headers, "location")
                    .unwrap()
                    .starts_with("/ui/signin")
            );
            false
        }
        other => panic!("the fleet page answered {other}"),
    }
}

#[test]
fn sessions_end_with_their_token_when_idle_and_sign_ins_are_limited() {
    // Over plain HTTP: no browser needed.
    let core = start_core(&format!("{CONFIG}[api]\nui_session_idle_secs = 2\n"));
    let named = core.dir().join("data").join("tokens.toml");
    let mut file = honeybee_core::tokens::TokenFile::load(&named).unwrap();
    let operator = file
        .create("operator", honeybee_core::tokens::Role::Admin)
        .unwrap();
    file.save(&named).unwrap();
    // (Checked through the API: sign-in attempts are limited.)
    wait_until(WAIT, "the named token loaded", || {
        common::http::raw(core.api_addr, "GET", "/api/v1/nodes", Some(&operator), None).status
            == 200
    });
    let cookie = http_sign_in(core.api_addr, &operator);
    assert!(signed_in(core.api_addr, &cookie));
    // Revoking the token ends its sessions.
    let mut file = honeybee_core::tokens::TokenFile::load(&named).unwrap();
    file.revoke("operator");
    file.save(&named).unwrap();
    wait_until(WAIT, "the revoked token's session ended", || {
        !signed_in(core.api_addr, &cookie)
    });
    // A session unused for ui_session_idle_secs ends; one in use lives on.
    let cookie = http_sign_in(core.api_addr, ADMIN);
    let started = Instant::now();
    let last_used = loop {
        assert!(signed_in(core.api_addr, &cookie), "a session in use ended");
        let used = Instant::now();
        if started.elapsed() > Duration::from_secs(3) {
            break used;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    // Watched through /metrics: looking at a page would use the session.
    wait_until(WAIT, "the idle session ended", || {
        let metrics = common::http::raw(core.api_addr, "GET", "/metrics", Some(ADMIN), None);
        metrics.text().contains("honeybee_ui_sessions 0")
    });
    assert!(last_used.elapsed() >= Duration::from_millis(1900));
    assert!(!signed_in(core.api_addr, &cookie));
    // Sign-in attempts are limited per source address (the ones above count too).
    let attempts: Vec<u16> = (0..12)
        .map(|_| {
            http(
                core.api_addr,
                "POST",
                "/ui/signin",
                None,
                Some("token=wrong"),
            )
            .0
        })
        .collect();
    assert_eq!(attempts.last(), Some(&429), "{attempts:?}");
    assert!(attempts.contains(&401), "{attempts:?}");
}

#[test]
fn the_approval_queue_approves_and_rejects() {
    let Some(b) = browser("the_approval_queue_approves_and_rejects") else {
        return;
    };
    let core = start_core(&format!(
        "{CONFIG}[auth]\ntotp = true\nenrollment = \"approve\"\n"
    ));
    let base = base(&core);
    for (id, name) in [(7007, "newbie"), (7008, "stranger")] {
        let mut node = FakeNode::connect(core.node_addr, id);
        let registration = node.registration(name);
        node.send(registration);
        let ack = node.expect_message("RegistrationAck");
        assert!(
            ack["message"]
                .as_str()
                .unwrap_or_default()
                .starts_with("PENDING_APPROVAL: "),
            "{ack}"
        );
    }
    let c = b.client.clone();
    b.run(async {
        sign_in(&c, &base, ADMIN).await;
        c.goto(&format!("{base}/ui/enrollment")).await.unwrap();
        let text = wait_text(&c, "Waiting for approval", WAIT).await;
        assert!(
            text.contains("newbie") && text.contains("stranger"),
            "{text}"
        );
        screenshot(&c, "enrollment-queue").await;
        for (id, op) in [(7007, "approve"), (7008, "reject")] {
            let button = format!("form[action='/ui/nodes/{id}/identity'] button[value={op}]");
            find(&c, &button, WAIT).await.click().await.unwrap();
            wait_js(
                &c,
                &format!(
                    "return document.readyState === 'complete' && \
                     document.querySelector(\"form[action='/ui/nodes/{id}/identity']\") === null"
                ),
                WAIT,
            )
            .await;
        }
        let text = wait_text(&c, "Nobody is waiting.", WAIT).await;
        assert!(
            text.contains("active") && text.contains("revoked"),
            "{text}"
        );
    });
    let states: Vec<(Vec<u64>, &str)> = core
        .ask(honeybee_actors::registry::ListIdentities)
        .unwrap()
        .into_iter()
        .map(|i| (i.node_ids, i.state.as_str()))
        .collect();
    assert!(states.contains(&(vec![7007], "active")), "{states:?}");
    assert!(states.contains(&(vec![7008], "revoked")), "{states:?}");
    // The approved node gets its key at its next registration.
    let mut node = FakeNode::connect(core.node_addr, 7007);
    let registration = node.registration("newbie");
    node.send(registration);
    let ack = node.expect_message("RegistrationAck");
    assert_eq!(ack["accepted"], true, "{ack}");
}
