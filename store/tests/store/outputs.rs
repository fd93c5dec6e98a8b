//! What the outputs keep: positions that survive reopening, dead letters newest first and
//! bounded per sink, indicators added once with a `date_added` that never goes back, and
//! observations of a time range per pot.

use std::time::Duration;

use honeybee_store::{
    DEAD_LETTERS_KEPT, DeadKind, DeadLetter, Indicator, IndicatorKind, OutputPosition,
};

use crate::common::{at, event, spawn};

fn letter(sink: &str, item_id: u64) -> DeadLetter {
    DeadLetter {
        seq: 0,
        sink: sink.into(),
        kind: DeadKind::Event,
        item_id,
        change_seq: 0,
        at: at(item_id),
        status: Some(400),
        error: format!("refused {item_id}"),
    }
}

#[test]
fn positions_are_replaced_and_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (writer, store) = spawn(dir.path());
        assert!(store.output_positions().unwrap().is_empty());
        for (event, alert) in [(5, 1), (9, 2)] {
            writer
                .set_output_position(OutputPosition {
                    sink: "soc".into(),
                    last_event_id: event,
                    last_alert_seq: alert,
                    skipped: 3,
                })
                .unwrap();
        }
        writer.flush().unwrap();
    }
    let (_writer, store) = spawn(dir.path());
    let positions = store.output_positions().unwrap();
    assert_eq!(
        positions,
        vec![OutputPosition {
            sink: "soc".into(),
            last_event_id: 9,
            last_alert_seq: 2,
            skipped: 3
        }]
    );
}

#[test]
fn dead_letters_are_listed_newest_first_and_bounded_per_sink() {
    let dir = tempfile::tempdir().unwrap();
    let (writer, store) = spawn(dir.path());
    let n = DEAD_LETTERS_KEPT as u64 + 300;
    for id in 1..=n {
        writer.dead_letter(letter("a", id)).unwrap();
    }
    writer.dead_letter(letter("b", 1)).unwrap();
    writer.flush().unwrap();
    let (page, total) = store.dead_letters("a", None, 3).unwrap();
    assert_eq!(
        page.iter().map(|d| d.item_id).collect::<Vec<_>>(),
        vec![n, n - 1, n - 2]
    );
    assert_eq!(page[0].error, format!("refused {n}"));
    assert_eq!(page[0].status, Some(400));
    assert!(total <= DEAD_LETTERS_KEPT as u64 + 128 && total >= DEAD_LETTERS_KEPT as u64);
    let (next, _) = store.dead_letters("a", Some(page[2].seq), 1).unwrap();
    assert_eq!(next[0].item_id, n - 3);
    assert_eq!(store.dead_letters("b", None, 10).unwrap().1, 1);
}

#[test]
fn indicators_are_added_once_in_date_added_order() {
    let dir = tempfile::tempdir().unwrap();
    let (writer, store) = spawn(dir.path());
    let ind = |value: &str, added: u64| Indicator {
        seq: 0,
        kind: IndicatorKind::Ip,
        value: value.into(),
        first_seen: at(1),
        date_added: at(added),
    };
    writer
        .add_indicators(vec![ind("203.0.113.7", 10), ind("198.51.100.1", 20)])
        .unwrap();
    // Known again (later), and one whose clock went back: it is raised to the last one.
    writer
        .add_indicators(vec![ind("203.0.113.7", 30), ind("192.0.2.9", 15)])
        .unwrap();
    writer.flush().unwrap();
    let all = store.indicators(0, None, 10).unwrap();
    let seen: Vec<_> = all
        .iter()
        .map(|i| (i.value.as_str(), i.date_added))
        .collect();
    assert_eq!(
        seen,
        vec![
            ("203.0.113.7", at(10)),
            ("198.51.100.1", at(20)),
            ("192.0.2.9", at(20)),
        ]
    );
    let later = store.indicators(0, Some(at(10)), 10).unwrap();
    assert_eq!(later.len(), 2);
    let paged = store.indicators(all[0].seq, None, 1).unwrap();
    assert_eq!(paged[0].value, "198.51.100.1");
}

#[test]
fn observations_count_each_value_per_pot_within_the_range() {
    let dir = tempfile::tempdir().unwrap();
    let (writer, store) = spawn(dir.path());
    let mut events = Vec::new();
    for (i, ip) in ["203.0.113.7", "203.0.113.7", "198.51.100.1"]
        .iter()
        .enumerate()
    {
        let mut e = event(7, at(100 + i as u64));
        e.src_ip = Some((*ip).into());
        e.download_url = (i == 2).then(|| "http://198.51.100.1/x.sh".into());
        events.push(e);
    }
    let mut old = event(7, at(10));
    old.src_ip = Some("192.0.2.1".into());
    events.insert(0, old);
    writer.append(events).unwrap();
    writer.flush().unwrap();
    let seen = store
        .observations(at(50), at(1000) + Duration::from_secs(1))
        .unwrap();
    assert!(!seen.truncated);
    let mut ips: Vec<_> = seen
        .rows
        .iter()
        .filter(|o| o.kind == IndicatorKind::Ip)
        .map(|o| (o.value.as_str(), o.count, o.first_seen, o.last_seen))
        .collect();
    ips.sort();
    assert_eq!(
        ips,
        vec![
            ("198.51.100.1", 1, at(102), at(102)),
            ("203.0.113.7", 2, at(100), at(101)),
        ]
    );
    assert!(
        seen.rows
            .iter()
            .any(|o| o.kind == IndicatorKind::Url && o.value == "http://198.51.100.1/x.sh")
    );
}

#[test]
fn event_values_are_the_indicator_columns_of_a_page_after_an_id() {
    let dir = tempfile::tempdir().unwrap();
    let (writer, store) = spawn(dir.path());
    let events: Vec<_> = (0..5)
        .map(|i| {
            let mut e = event(1, at(i));
            e.download_url = (i == 3).then(|| "http://x/y".to_owned());
            e
        })
        .collect();
    writer.append(events.clone()).unwrap();
    writer.flush().unwrap();
    let page = store.event_values(1, 3).unwrap();
    let got: Vec<_> = page
        .iter()
        .map(|v| {
            (
                v.id,
                v.received_at,
                v.src_ip.clone(),
                v.download_url.clone(),
            )
        })
        .collect();
    let expected: Vec<_> = (2..=4u64)
        .map(|id| {
            let e = &events[id as usize - 1];
            (id, e.received_at, e.src_ip.clone(), e.download_url.clone())
        })
        .collect();
    assert_eq!(got, expected);
    assert_eq!(page[0].sha256, events[1].sha256);
    assert!(store.event_values(5, 10).unwrap().is_empty());
}
