//! The threat-intel indexer: a follower of the store (position `_intel`) that records each
//! attacker address (the event's `src_ip`, when it is an IP address), download URL and file
//! hash the first time a pot reports it, with the `received_at` of that event. Those rows are
//! the TAXII collection's objects: their `date_added` is fixed once written. The allowlist and
//! private-range rules apply when the collection is read, so changing them needs no re-index.

use std::collections::HashSet;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use honeybee_store::{EventValues, Indicator, IndicatorKind, OutputPosition, Store, WriterHandle};

use super::{Control, OutputsError, Running};

/// Events read per pass.
const PAGE: usize = 5_000;
/// Values remembered as already recorded (past it the memory starts over; the store ignores
/// a value it has).
const REMEMBERED: usize = 1_000_000;

/// The indicator values an event carries.
pub(super) fn indicators_of(event: &EventValues) -> Vec<(IndicatorKind, String)> {
    let mut out = Vec::new();
    if let Some(ip) = event
        .src_ip
        .as_deref()
        .and_then(|s| s.parse::<IpAddr>().ok())
    {
        out.push((IndicatorKind::Ip, ip.to_string()));
    }
    if let Some(url) = event.download_url.as_deref().filter(|u| u.contains("://")) {
        out.push((IndicatorKind::Url, url.to_owned()));
    }
    if let Some(hash) = event
        .sha256
        .as_deref()
        .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        out.push((IndicatorKind::Sha256, hash.to_ascii_lowercase()));
    }
    out
}

pub(super) fn start(
    store: Store,
    writer: WriterHandle,
    position: OutputPosition,
) -> Result<Running, OutputsError> {
    let control = Arc::new(Control::default());
    let c = Arc::clone(&control);
    let thread = std::thread::Builder::new()
        .name("honeybee-intel".into())
        .spawn(move || {
            super::background_priority();
            actix_rt::System::new().block_on(run(store, writer, position, c));
        })
        .map_err(OutputsError::Thread)?;
    Ok(Running { control, thread })
}

async fn run(store: Store, writer: WriterHandle, mut pos: OutputPosition, control: Arc<Control>) {
    let mut seen: HashSet<(IndicatorKind, String)> = HashSet::new();
    let mut stop_target = None;
    loop {
        if control.stopping() {
            let target = *stop_target
                .get_or_insert_with(|| store.last_event_id().ok().flatten().unwrap_or(0));
            if pos.last_event_id >= target || control.past_deadline() {
                break;
            }
        }
        // The indicator columns only: reading whole events cost this thread more than the rest
        // of its work.
        let page = match store.event_values(pos.last_event_id, PAGE) {
            Ok(page) => page,
            Err(e) => {
                log::warn!("Threat-intel indexer: reading events: {e}; retrying.");
                control.sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let Some(last) = page.last().map(|e| e.id) else {
            control.wait(Duration::from_millis(500)).await;
            continue;
        };
        let mut new = Vec::new();
        for event in &page {
            for (kind, value) in indicators_of(event) {
                if seen.len() >= REMEMBERED {
                    seen.clear();
                }
                if seen.insert((kind, value.clone())) {
                    new.push(Indicator {
                        seq: 0,
                        kind,
                        value,
                        first_seen: event.received_at,
                        date_added: SystemTime::now(),
                    });
                }
            }
        }
        pos.last_event_id = last;
        // The indicators and the position after them travel in one queue: a crash keeps both
        // or neither.
        if writer.add_indicators(new).is_err() || writer.set_output_position(pos.clone()).is_err() {
            log::warn!("Threat-intel indexer: the store writer has stopped.");
            break;
        }
    }
}
