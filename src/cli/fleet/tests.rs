use serde_json::json;

use super::*;

#[test]
fn nodes_as_a_table() {
    let document = json!({"nodes": [
        {"node_id": 11_364_728_073_201_639_405u64, "node_id_str": "11364728073201639405",
         "previous_ids": [], "node_name": "edge-fra\u{1b}[31m", "name_shared": false,
         "node_type": "Full", "address": "10.0.0.5", "port": 2222, "status": "Running",
         "connected": true, "protocol_version": 2, "remote_addr": "203.0.113.9:50412",
         "last_seen": "2024-01-15T10:30:00Z", "registered_at": "2024-01-01T00:00:00Z",
         "enrollment": "enrolled", "pot_count": 3, "alerts": ["pot_silent", "pot_gave_up"]},
        {"node_id": 5, "node_id_str": "5", "node_name": "lab", "node_type": "Agent",
         "status": "Unknown", "connected": false, "protocol_version": 1, "remote_addr": null,
         "last_seen": null, "pot_count": 0, "alerts": []}
    ]});
    assert_eq!(
        nodes_table(&document),
        "NODE_ID               NAME              TYPE   STATUS   CONNECTED  PROTOCOL  \
         REMOTE_ADDR        LAST_SEEN             POTS  ALERTS\n\
         11364728073201639405  edge-fra\\x1b[31m  Full   Running  yes        2         \
         203.0.113.9:50412  2024-01-15T10:30:00Z  3     pot_silent,pot_gave_up\n\
         5                     lab               Agent  Unknown  no         1         \
         -                  -                     0     -\n"
    );
    assert_eq!(nodes_table(&json!({"nodes": []})), "No nodes.\n");
}

#[test]
fn pots_as_a_table() {
    let document = json!({"honeypots": [
        {"node_id": 7, "node_id_str": "7", "pot_id": "cowrie-01", "pot_type": "cowrie",
         "status": "Failed", "message": "exit 1\nTraceback", "updated_at": "2024-01-15T10:30:00Z",
         "restarts": 2, "desired": {"honeypot_type": "cowrie", "config": {}, "restart": "always"}},
        {"node_id": 7, "node_id_str": "7", "pot_id": "h-1", "pot_type": null,
         "status": "Running", "message": null, "updated_at": "2024-01-15T10:31:00Z",
         "restarts": 0, "desired": null}
    ]});
    assert_eq!(
        pots_table(&document),
        "NODE_ID  POT_ID     TYPE    STATUS   RESTARTS  DESIRED  UPDATED_AT            MESSAGE\n\
         7        cowrie-01  cowrie  Failed   2         yes      2024-01-15T10:30:00Z  \
         exit 1\\nTraceback\n\
         7        h-1        -       Running  0         -        2024-01-15T10:31:00Z  -\n"
    );
}

#[test]
fn alerts_as_a_table() {
    let document = json!({"alerts": [
        {"alert_id": 3, "type": "pot_gave_up", "state": "open", "node_id": 7, "node_id_str": "7",
         "node_name": "edge\u{1b}", "pot_id": "cowrie-01",
         "message": "cowrie-01 failed 5 times in 600 s", "opened_at": "2024-01-15T10:30:00Z",
         "cleared_at": null},
        {"alert_id": 1, "type": "disk_low", "state": "cleared", "node_id": null,
         "node_id_str": null, "node_name": null, "pot_id": null, "message": "12 MB free",
         "opened_at": "2024-01-14T10:00:00Z", "cleared_at": "2024-01-14T11:00:00Z"}
    ]});
    assert_eq!(
        alerts_table(&document),
        "ALERT_ID  TYPE         STATE    NODE_ID  NODE_NAME  POT_ID     OPENED_AT             \
         CLEARED_AT            MESSAGE\n\
         3         pot_gave_up  open     7        edge\\x1b   cowrie-01  2024-01-15T10:30:00Z  \
         -                     cowrie-01 failed 5 times in 600 s\n\
         1         disk_low     cleared  -        -          -          2024-01-14T10:00:00Z  \
         2024-01-14T11:00:00Z  12 MB free\n"
    );
    assert_eq!(alerts_table(&json!({"alerts": []})), "No alerts.\n");
}

#[test]
fn stats_as_sections_sorted_by_count() {
    let stats = json!({"total_events": 12,
        "by_event_type": {"cowrie.login.failed": 2, "cowrie.command.input": 10},
        "by_pot_type": {"cowrie": 12}, "by_node": {},
        "top_src_ips": [{"value": "203.0.113.7", "count": 9}],
        "top_usernames": [{"value": "root\u{1b}", "count": 2}],
        "top_passwords": [], "top_commands": [],
        "top_downloads": [{"value": "http://x/a.sh", "count": 3}], "top_sha256": [],
        "per_hour": [{"hour": "2024-01-15T10:00:00Z", "count": 12}]});
    assert_eq!(
        stats_text(&stats),
        "Total events: 12\n\
         \n\
         EVENT_TYPE            COUNT\n\
         cowrie.command.input  10\n\
         cowrie.login.failed   2\n\
         \n\
         POT_TYPE  COUNT\n\
         cowrie    12\n\
         \n\
         SRC_IP       COUNT\n\
         203.0.113.7  9\n\
         \n\
         USERNAME  COUNT\n\
         root\\x1b  2\n\
         \n\
         DOWNLOAD_URL   COUNT\n\
         http://x/a.sh  3\n\
         \n\
         HOUR                  COUNT\n\
         2024-01-15T10:00:00Z  12\n"
    );
}
