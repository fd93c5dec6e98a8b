//! STIX 2.1 objects for the feeds, with deterministic ids: cyber-observables (SCOs) take the
//! UUIDv5 of their contributing properties in the STIX namespace, exactly as STIX 2.1 §2.9 says;
//! the domain objects take the UUIDv5 of what they are about in HoneyBee's own namespace. A
//! repeated pull therefore names every object the same way.

use std::collections::{BTreeMap, BTreeSet};
use std::time::SystemTime;

use honeybee_protocol::Timestamp;
use honeybee_store::{IndicatorKind, Observation};
use serde_json::{Value, json};
use uuid::Uuid;

/// STIX 2.1's namespace for SCO ids.
const SCO_NAMESPACE: Uuid = Uuid::from_u128(0x00ab_edb4_aa42_466c_9c01_fed2_3315_a9b7);
/// HoneyBee's namespace for the ids of its domain objects (UUIDv5 of "honeybee-core" in the
/// DNS namespace).
fn namespace() -> Uuid {
    Uuid::new_v5(&Uuid::NAMESPACE_DNS, b"honeybee-core")
}

/// When the Core's identity object was "created": fixed, so it never changes.
pub const IDENTITY_CREATED: &str = "2024-01-01T00:00:00.000Z";

pub fn time(t: SystemTime) -> String {
    Timestamp::from_system_time(t).to_string()
}

fn sdo_id(kind: &str, key: &str) -> String {
    format!(
        "{kind}--{}",
        Uuid::new_v5(&namespace(), format!("{kind}|{key}").as_bytes())
    )
}

/// The Core's `identity`.
pub fn identity_id() -> String {
    sdo_id("identity", "honeybee-core")
}

pub fn identity() -> Value {
    json!({
        "type": "identity",
        "spec_version": "2.1",
        "id": identity_id(),
        "created": IDENTITY_CREATED,
        "modified": IDENTITY_CREATED,
        "name": "HoneyBee Core",
        "description": "A central service for honeypot fleets; these objects come from what its honeypots saw.",
        "identity_class": "system",
    })
}

fn pot_identity_id(o: &Observation) -> String {
    sdo_id("identity", &format!("pot|{}|{}", o.node_id, o.pot_id))
}

/// A honeypot as an `identity` (where sightings happened).
fn pot_identity(o: &Observation) -> Value {
    json!({
        "type": "identity",
        "spec_version": "2.1",
        "id": pot_identity_id(o),
        "created": IDENTITY_CREATED,
        "modified": IDENTITY_CREATED,
        "created_by_ref": identity_id(),
        "name": format!("{}/{}", o.node_name, o.pot_id),
        "description": format!(
            "HoneyBee honeypot {} ({}) on node {}",
            o.pot_id,
            o.pot_type.as_deref().unwrap_or("unknown type"),
            o.node_id
        ),
        "identity_class": "system",
    })
}

/// The SCO id and object of a value.
pub fn observable(kind: IndicatorKind, value: &str) -> (String, Value) {
    let (ty, contributing, object) = match kind {
        IndicatorKind::Ip => {
            let ty = if value.contains(':') {
                "ipv6-addr"
            } else {
                "ipv4-addr"
            };
            (ty, json!({"value": value}), json!({"value": value}))
        }
        IndicatorKind::Url => ("url", json!({"value": value}), json!({"value": value})),
        IndicatorKind::Sha256 => (
            "file",
            json!({"hashes": {"SHA-256": value}}),
            json!({"hashes": {"SHA-256": value}}),
        ),
    };
    let canonical = serde_json::to_string(&contributing).unwrap_or_default();
    let id = format!(
        "{ty}--{}",
        Uuid::new_v5(&SCO_NAMESPACE, canonical.as_bytes())
    );
    let mut object = object;
    if let Value::Object(map) = &mut object {
        map.insert("type".into(), ty.into());
        map.insert("spec_version".into(), "2.1".into());
        map.insert("id".into(), id.clone().into());
    }
    (id, object)
}

/// A string literal of a STIX pattern: `'` and `\` escaped.
fn literal(value: &str) -> String {
    value.replace('\\', "\\\\").replace('\'', "\\'")
}

pub fn indicator_id(kind: IndicatorKind, value: &str) -> String {
    sdo_id("indicator", &format!("{}|{value}", kind.as_str()))
}

/// The `indicator` of a value first seen at `first_seen` (its one and only version).
pub fn indicator(kind: IndicatorKind, value: &str, first_seen: SystemTime) -> Value {
    let (pattern, name) = match kind {
        IndicatorKind::Ip if value.contains(':') => (
            format!("[ipv6-addr:value = '{}']", literal(value)),
            format!("Attacker address {value}"),
        ),
        IndicatorKind::Ip => (
            format!("[ipv4-addr:value = '{}']", literal(value)),
            format!("Attacker address {value}"),
        ),
        IndicatorKind::Url => (
            format!("[url:value = '{}']", literal(value)),
            format!("Download URL seen by a honeypot: {value}"),
        ),
        IndicatorKind::Sha256 => (
            format!("[file:hashes.'SHA-256' = '{}']", literal(value)),
            format!("File seen by a honeypot, SHA-256 {value}"),
        ),
    };
    let at = time(first_seen);
    json!({
        "type": "indicator",
        "spec_version": "2.1",
        "id": indicator_id(kind, value),
        "created": at,
        "modified": at,
        "created_by_ref": identity_id(),
        "name": name.chars().take(300).collect::<String>(),
        "description": format!("Seen by HoneyBee honeypots, first at {at}."),
        "indicator_types": ["malicious-activity"],
        "pattern": pattern,
        "pattern_type": "stix",
        "valid_from": at,
    })
}

/// A bundle of the observations: the Core's identity, an indicator and an observable per
/// value, and per value and honeypot an `observed-data` and a `sighting` with counts and first
/// and last seen. `first_seen` gives an indicator's first sight (from the indicator index) when
/// known.
pub fn bundle(
    observations: &[Observation],
    first_seen: &dyn Fn(IndicatorKind, &str) -> Option<SystemTime>,
    bundle_id: Uuid,
) -> Value {
    let mut objects = vec![identity()];
    let mut pots: BTreeMap<String, Value> = BTreeMap::new();
    let mut values: BTreeMap<(IndicatorKind, &str), SystemTime> = BTreeMap::new();
    for o in observations {
        let first = values
            .entry((o.kind, o.value.as_str()))
            .or_insert(o.first_seen);
        *first = (*first).min(o.first_seen);
        pots.entry(pot_identity_id(o))
            .or_insert_with(|| pot_identity(o));
    }
    let mut scos = BTreeSet::new();
    for (&(kind, value), &seen) in &values {
        let first = first_seen(kind, value).map_or(seen, |f| f.min(seen));
        objects.push(indicator(kind, value, first));
        let (id, object) = observable(kind, value);
        if scos.insert(id) {
            objects.push(object);
        }
    }
    objects.extend(pots.into_values());
    for o in observations {
        let (sco, _) = observable(o.kind, &o.value);
        let key = format!("{}|{}|{}|{}", o.kind.as_str(), o.value, o.node_id, o.pot_id);
        let observed_id = sdo_id("observed-data", &key);
        let (first, last) = (time(o.first_seen), time(o.last_seen));
        let count = o.count.clamp(1, 999_999_999);
        objects.push(json!({
            "type": "observed-data",
            "spec_version": "2.1",
            "id": observed_id,
            "created": first,
            "modified": last,
            "created_by_ref": identity_id(),
            "first_observed": first,
            "last_observed": last,
            "number_observed": count,
            "object_refs": [sco],
        }));
        objects.push(json!({
            "type": "sighting",
            "spec_version": "2.1",
            "id": sdo_id("sighting", &key),
            "created": first,
            "modified": last,
            "created_by_ref": identity_id(),
            "first_seen": first,
            "last_seen": last,
            "count": count,
            "sighting_of_ref": indicator_id(o.kind, &o.value),
            "observed_data_refs": [observed_id],
            "where_sighted_refs": [pot_identity_id(o)],
        }));
    }
    json!({
        "type": "bundle",
        "id": format!("bundle--{bundle_id}"),
        "objects": objects,
    })
}
