//! `[[outputs]]` and `[intel]`: every sink type's keys, each problem named with its path, and
//! secrets never quoted.

use std::time::Duration;

use super::{err, ok};
use crate::config::outputs::{SinkConfig, SyslogFormat, Template, Transport, WebhookFormat};

#[test]
fn every_sink_type_reads_with_its_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("hec.token");
    std::fs::write(&token_file, "0f1e2d3c-hec-token\n").unwrap();
    let toml = format!(
        r#"
        [[outputs]]
        name = "soc-syslog"
        type = "syslog"
        address = "127.0.0.1:6514"
        transport = "tls"
        filter = {{ event_type_prefix = ["cowrie.login"], pot_type = ["cowrie"] }}

        [[outputs]]
        name = "splunk"
        type = "splunk_hec"
        what = "both"
        url = "https://splunk.example:8088/services/collector/event"
        token_file = "{}"
        ack = true
        gzip = true

        [[outputs]]
        name = "chat"
        type = "webhook"
        what = "alerts"
        url = "https://hooks.example/T0/B0"
        secret = "webhook-signing-secret"
        format = "slack"

        [[outputs]]
        name = "elastic"
        type = "elasticsearch"
        url = "https://elastic:s3cr%40t@es.example:9200/"
        template = "flat_object"
        max_events_per_sec = 500
        "#,
        token_file.display()
    );
    let config = ok(&toml, &[]);
    assert_eq!(config.outputs.len(), 4);
    let [syslog, hec, webhook, elastic] = &config.outputs[..] else {
        unreachable!()
    };
    assert_eq!(syslog.batch_size, 500);
    assert_eq!(syslog.max_lag_events, 1_000_000);
    assert_eq!(syslog.timeout, Duration::from_secs(10));
    assert_eq!(syslog.filter.event_type_prefix, ["cowrie.login"]);
    let SinkConfig::Syslog(s) = &syslog.sink else {
        unreachable!()
    };
    assert_eq!(
        (s.transport, s.format, s.facility),
        (Transport::Tls, SyslogFormat::Cef, 16)
    );
    let SinkConfig::SplunkHec(h) = &hec.sink else {
        unreachable!()
    };
    assert_eq!(h.token.expose(), "0f1e2d3c-hec-token");
    assert!(h.ack && h.gzip);
    assert!(hec.what.events && hec.what.alerts);
    assert_eq!(webhook.batch_size, 1);
    let SinkConfig::Webhook(w) = &webhook.sink else {
        unreachable!()
    };
    assert_eq!(w.format, WebhookFormat::Slack);
    let SinkConfig::Elasticsearch(e) = &elastic.sink else {
        unreachable!()
    };
    assert_eq!(e.url.url, "https://es.example:9200/");
    assert_eq!(e.username.as_deref(), Some("elastic"));
    assert_eq!(e.password.as_ref().map(|p| p.expose()), Some("s3cr@t"));
    assert_eq!(
        (e.index.as_str(), e.template),
        ("honeybee-events-%Y.%m.%d", Template::FlatObject)
    );
    assert_eq!(elastic.max_events_per_sec, 500);
    let printed = format!("{config:?}");
    for secret in ["0f1e2d3c-hec-token", "webhook-signing-secret", "s3cr"] {
        assert!(!printed.contains(secret), "{secret} in {printed}");
    }
}

#[test]
fn every_problem_is_named_with_its_path() {
    let toml = r#"
        [intel]
        allowlist = ["203.0.113.0/24", "not-a-range", "10.0.0.0/33"]
        include_private = "yes"

        [[outputs]]
        name = "a"
        type = "syslog"
        address = "localhost"
        transport = "quic"
        url = "http://x/"

        [[outputs]]
        name = "a"
        type = "splunk_hec"
        url = "ftp://user:hunter2@x/"

        [[outputs]]
        type = "webhook"
        url = "https://hooks.example/"
        secret = "hunter3-secret"
        secret_file = "/nonexistent"
        batch_size = 0

        [[outputs]]
        name = "_intel"
        type = "kafka"

        [[outputs]]
        name = "e"
        type = "elasticsearch"
        url = "https://es.example/"
        index = "Events-%H"
        filter = { colour = ["red"] }
        "#;
    let shown = err(toml, &[]);
    assert_eq!(
        shown,
        [
            "intel.allowlist: entry 2 must be an address or a CIDR range like 203.0.113.0/24 or 2001:db8::/32",
            "intel.allowlist: entry 3 must be an address or a CIDR range like 203.0.113.0/24 or 2001:db8::/32",
            "intel.include_private: must be true or false, got \"yes\"",
            "outputs[0].address: must be host:port (like 127.0.0.1:514, siem.example:6514 or [::1]:514), got \"localhost\"",
            "outputs[0].transport: must be one of \"udp\", \"tcp\", \"tls\", got \"quic\"",
            "outputs[0].url: unknown key for this type",
            "outputs[1].name: \"a\" is used by an earlier sink",
            "outputs[1].token: required (or token_file)",
            "outputs[1].url: must be an http:// or https:// URL",
            "outputs[2].batch_size: must be an integer from 1 to 10000, got 0",
            "outputs[2].name: required",
            "outputs[2].secret_file: set either secret or secret_file, not both",
            "outputs[3].name: must not start with _ (reserved for the Core's own followers)",
            "outputs[3].type: must be one of \"syslog\", \"splunk_hec\", \"webhook\", \"elasticsearch\", got \"kafka\"",
            "outputs[4].filter.colour: unknown key (a filter has event_type_prefix, pot_type, node)",
            "outputs[4].index: must be a lowercase index name with only %Y, %m and %d as placeholders, got \"Events-%H\"",
        ]
        .join("\n")
    );
    assert!(!shown.contains("hunter"), "{shown}");
}

#[test]
fn outputs_cannot_come_from_the_environment() {
    let shown = err("", &[("HONEYBEE__OUTPUTS__URL", "http://x/")]);
    assert!(
        shown.starts_with(
            "outputs: [[outputs]] is a list of tables and cannot be set from the environment"
        ),
        "{shown}"
    );
}
