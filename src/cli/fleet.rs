//! What the fleet looks like: `nodes`, `pots`, `alerts` and `stats`, each one `GET` rendered
//! as tables.

use std::process::ExitCode;

use clap::Args;
use serde_json::Value;

use super::client::with_api;
use super::table::{Table, cell, field, id_field, items};
use super::{ApiArgs, CliError, show};
use crate::config::Config;

#[derive(Debug, Args)]
pub struct NodesArgs {
    /// Only nodes with this status (Connected, Deploying, Running, Stopped, Failed, Unknown).
    #[arg(long)]
    pub status: Option<String>,
    /// Only nodes connected (true) or not (false).
    #[arg(long, value_name = "true|false")]
    pub connected: Option<bool>,
    #[command(flatten)]
    pub api: ApiArgs,
}

#[derive(Debug, Args)]
pub struct StatsArgs {
    /// From this time (RFC 3339), by when events were received.
    #[arg(long)]
    pub since: Option<String>,
    /// Until this time (RFC 3339).
    #[arg(long)]
    pub until: Option<String>,
    /// Only this node's events.
    #[arg(long)]
    pub node_id: Option<String>,
    #[command(flatten)]
    pub api: ApiArgs,
}

pub(super) fn nodes(args: &NodesArgs, config: &Config) -> Result<ExitCode, CliError> {
    let mut query = Vec::new();
    if let Some(status) = &args.status {
        query.push(("status", status.clone()));
    }
    if let Some(connected) = args.connected {
        query.push(("connected", connected.to_string()));
    }
    let reply = with_api(&args.api, config, async |api| {
        api.get("/api/v1/nodes", &query).await
    })?;
    show(args.api.json, &reply, nodes_table);
    Ok(ExitCode::SUCCESS)
}

pub(super) fn pots(api: &ApiArgs, config: &Config) -> Result<ExitCode, CliError> {
    let reply = with_api(api, config, async |api| {
        api.get("/api/v1/honeypots", &[]).await
    })?;
    show(api.json, &reply, pots_table);
    Ok(ExitCode::SUCCESS)
}

pub(super) fn alerts(
    limit: Option<u32>,
    api: &ApiArgs,
    config: &Config,
) -> Result<ExitCode, CliError> {
    let query: Vec<(&str, String)> = limit
        .map(|n| ("limit", n.to_string()))
        .into_iter()
        .collect();
    let reply = with_api(api, config, async |api| {
        api.get("/api/v1/alerts", &query).await
    })?;
    show(api.json, &reply, alerts_table);
    Ok(ExitCode::SUCCESS)
}

pub(super) fn stats(args: &StatsArgs, config: &Config) -> Result<ExitCode, CliError> {
    let query: Vec<(&str, String)> = [
        ("since", &args.since),
        ("until", &args.until),
        ("node_id", &args.node_id),
    ]
    .into_iter()
    .filter_map(|(key, value)| Some((key, value.clone()?)))
    .collect();
    let reply = with_api(&args.api, config, async |api| {
        api.get("/api/v1/stats", &query).await
    })?;
    show(args.api.json, &reply, stats_text);
    Ok(ExitCode::SUCCESS)
}

pub(super) fn nodes_table(document: &Value) -> String {
    let mut table = Table::new(&[
        "NODE_ID",
        "NAME",
        "TYPE",
        "STATUS",
        "CONNECTED",
        "PROTOCOL",
        "REMOTE_ADDR",
        "LAST_SEEN",
        "POTS",
        "ALERTS",
    ]);
    for node in items(document, "nodes") {
        table.row(vec![
            id_field(node, "node_id"),
            field(node, "node_name"),
            field(node, "node_type"),
            field(node, "status"),
            field(node, "connected"),
            field(node, "protocol_version"),
            field(node, "remote_addr"),
            field(node, "last_seen"),
            field(node, "pot_count"),
            field(node, "alerts"),
        ]);
    }
    or_none(&table, "No nodes.")
}

pub(super) fn pots_table(document: &Value) -> String {
    let mut table = Table::new(&[
        "NODE_ID",
        "POT_ID",
        "TYPE",
        "STATUS",
        "RESTARTS",
        "DESIRED",
        "UPDATED_AT",
        "MESSAGE",
    ]);
    for pot in items(document, "honeypots") {
        let desired = match pot.get("desired") {
            Some(Value::Object(_)) => "yes".to_owned(),
            other => cell(other),
        };
        table.row(vec![
            id_field(pot, "node_id"),
            field(pot, "pot_id"),
            field(pot, "pot_type"),
            field(pot, "status"),
            field(pot, "restarts"),
            desired,
            field(pot, "updated_at"),
            field(pot, "message"),
        ]);
    }
    or_none(&table, "No honeypots.")
}

pub(super) fn alerts_table(document: &Value) -> String {
    let mut table = Table::new(&[
        "ALERT_ID",
        "TYPE",
        "STATE",
        "NODE_ID",
        "NODE_NAME",
        "POT_ID",
        "OPENED_AT",
        "CLEARED_AT",
        "MESSAGE",
    ]);
    for alert in items(document, "alerts") {
        table.row(vec![
            field(alert, "alert_id"),
            field(alert, "type"),
            field(alert, "state"),
            id_field(alert, "node_id"),
            field(alert, "node_name"),
            field(alert, "pot_id"),
            field(alert, "opened_at"),
            field(alert, "cleared_at"),
            field(alert, "message"),
        ]);
    }
    or_none(&table, "No alerts.")
}

/// The statistics: the total, then one two-column table per breakdown.
pub(super) fn stats_text(stats: &Value) -> String {
    let mut out = format!("Total events: {}\n", field(stats, "total_events"));
    let counts = [
        ("by_event_type", "EVENT_TYPE"),
        ("by_pot_type", "POT_TYPE"),
        ("by_node", "NODE"),
    ];
    for (key, header) in counts {
        let mut rows: Vec<(String, u64)> = stats[key]
            .as_object()
            .map(|map| {
                map.iter()
                    .map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0)))
                    .collect()
            })
            .unwrap_or_default();
        rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        section(
            &mut out,
            header,
            rows.into_iter().map(|(k, n)| (k, n.to_string())),
        );
    }
    let tops = [
        ("top_src_ips", "SRC_IP"),
        ("top_usernames", "USERNAME"),
        ("top_passwords", "PASSWORD"),
        ("top_commands", "COMMAND"),
        ("top_downloads", "DOWNLOAD_URL"),
        ("top_sha256", "SHA256"),
    ];
    for (key, header) in tops {
        let rows = items(stats, key)
            .iter()
            .map(|top| (field(top, "value"), field(top, "count")));
        section(&mut out, header, rows);
    }
    let hours = items(stats, "per_hour")
        .iter()
        .map(|hour| (field(hour, "hour"), field(hour, "count")));
    section(&mut out, "HOUR", hours);
    out
}

/// A blank line and a `HEADER  COUNT` table, unless there are no rows.
fn section(out: &mut String, header: &'static str, rows: impl Iterator<Item = (String, String)>) {
    let mut table = Table::new(&[header, "COUNT"]);
    for (key, count) in rows {
        table.row(vec![key, count]);
    }
    if !table.is_empty() {
        out.push('\n');
        out.push_str(&table.render());
    }
}

fn or_none(table: &Table, none: &str) -> String {
    if table.is_empty() {
        format!("{none}\n")
    } else {
        table.render()
    }
}

#[cfg(test)]
mod tests;
