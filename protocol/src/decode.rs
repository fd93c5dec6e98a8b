//! The lenient decoder: every shape real peers send, in one place, mapped onto the canonical
//! types of `types.rs`. Anything else becomes a [`DecodeError`] carrying the exact error code.
//!
//! The legacy and quirk shapes handled here (PROTOCOL.md, "Other shapes that real peers send"):
//! - a variant without data as `{"Name": {}}`, `{"Name": null}` or the bare string `"Name"`;
//! - `NodeEvent` as a bare string, tagged (`{"Error": {"message": ..}}`), or flat with
//!   `description` instead of `message`;
//! - the legacy `PotEvent` (`event`, `message`, `metadata`, unix-seconds `timestamp`);
//! - a `PotStatusUpdate` with an empty or missing `status`, which is an event;
//! - on the node side, unit commands as bare strings; for operators, config values given as
//!   numbers or booleans (converted to strings).
//!
//! `null` means absent for every optional field, and unknown fields are ignored everywhere
//! except in `message`, which must have exactly one key.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::error::{DecodeError, DecodeWarning, ErrorCode};
use crate::secret::SecretString;
use crate::time::Timestamp;
use crate::types::*;
use crate::validate;

/// A decoded frame: its message, and the envelope version it arrived with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded<M> {
    /// The `version` the envelope carried (the canonical re-encoding always writes 2).
    pub version: u64,
    pub message: M,
}

impl<M> Decoded<M> {
    /// What the session should log (once per connection) about this frame, if anything.
    pub fn warning(&self) -> Option<DecodeWarning> {
        (self.version != PROTOCOL_VERSION).then_some(DecodeWarning::ProtocolVersionMismatch {
            received: self.version,
        })
    }
}

/// Decodes one Node → Core frame (without its line ending).
pub fn decode_node_frame(frame: &[u8]) -> Result<Decoded<NodeToCore>, DecodeError> {
    decode_frame(frame)
}

/// Decodes one Core → Node frame, as a node (the simulator) must.
pub fn decode_core_frame(frame: &[u8]) -> Result<Decoded<CoreToNode>, DecodeError> {
    decode_frame(frame)
}

/// Decodes a wire `Command` on its own (an operator's request body), with the same leniency a
/// node applies.
pub fn decode_command(json: &[u8]) -> Result<Command, DecodeError> {
    let text = utf8(json)?;
    serde_json::from_str::<Command>(text).map_err(|e| classify(json, &e))
}

/// The frame as text: all of it must be UTF-8, ignored fields included (serde does not
/// validate what it skips).
fn utf8(frame: &[u8]) -> Result<&str, DecodeError> {
    std::str::from_utf8(frame).map_err(|e| {
        DecodeError::new(
            ErrorCode::MessageParseFailed,
            format_args!("not UTF-8: {e}"),
        )
    })
}

fn decode_frame<M: Tagged>(frame: &[u8]) -> Result<Decoded<M>, DecodeError> {
    let text = utf8(frame)?;
    match serde_json::from_str::<Envelope<M>>(text) {
        Ok(Envelope {
            version,
            message: Variant::Known(message),
        }) => Ok(Decoded { version, message }),
        Ok(Envelope {
            message: Variant::Unknown(name),
            ..
        }) => Err(DecodeError::new(
            ErrorCode::UnknownMessageType,
            format_args!("unknown message type {name:?}"),
        )),
        Err(e) => Err(classify(frame, &e)),
    }
}

/// Maps a serde_json error to its protocol code. serde stops at the first problem, so a frame
/// with a data error is checked once more for syntax: broken JSON is always a parse failure.
fn classify(frame: &[u8], error: &serde_json::Error) -> DecodeError {
    use serde_json::error::Category;
    let code = match error.classify() {
        Category::Syntax | Category::Eof | Category::Io => ErrorCode::MessageParseFailed,
        Category::Data if serde_json::from_slice::<IgnoredAny>(frame).is_err() => {
            ErrorCode::MessageParseFailed
        }
        Category::Data => ErrorCode::InvalidMessageFormat,
    };
    DecodeError::new(code, error)
}

// ---------------------------------------------------------------------------------------------
// Envelope and externally tagged messages

struct Envelope<M> {
    version: u64,
    message: Variant<M>,
}

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "lowercase")]
enum EnvelopeField {
    Version,
    Message,
    #[serde(other)]
    Other,
}

impl<'de, M: Tagged> Deserialize<'de> for Envelope<M> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(EnvelopeVisitor(PhantomData))
    }
}

struct EnvelopeVisitor<M>(PhantomData<M>);

impl<'de, M: Tagged> Visitor<'de> for EnvelopeVisitor<M> {
    type Value = Envelope<M>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an envelope object {\"version\": 2, \"message\": ..}")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Envelope<M>, A::Error> {
        let mut version = None;
        let mut message = None;
        while let Some(field) = map.next_key::<EnvelopeField>()? {
            match field {
                EnvelopeField::Version if version.is_some() => {
                    return Err(de::Error::duplicate_field("version"));
                }
                EnvelopeField::Version => version = Some(map.next_value::<u64>()?),
                EnvelopeField::Message if message.is_some() => {
                    return Err(de::Error::duplicate_field("message"));
                }
                EnvelopeField::Message => message = Some(map.next_value::<Variant<M>>()?),
                EnvelopeField::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Envelope {
            version: version.ok_or_else(|| de::Error::missing_field("version"))?,
            message: message.ok_or_else(|| de::Error::missing_field("message"))?,
        })
    }
}

/// A message union: a known variant, or the name of one this direction does not know.
enum Variant<M> {
    Known(M),
    Unknown(String),
}

/// A set of externally tagged variants.
trait Tagged: Sized {
    const EXPECTING: &'static str;
    /// Every variant name of the set.
    const NAMES: &'static [&'static str];

    /// The variant named `name` given as a bare string, if it has no data.
    fn unit(name: &str) -> Option<Self>;

    /// Reads the payload of the variant named `name` from `map`; `Ok(None)` if this set has no
    /// such variant (the payload is then still unread).
    fn payload<'de, A: MapAccess<'de>>(name: &str, map: &mut A) -> Result<Option<Self>, A::Error>;
}

impl<'de, M: Tagged> Deserialize<'de> for Variant<M> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(VariantVisitor(PhantomData))
    }
}

struct VariantVisitor<M>(PhantomData<M>);

impl<'de, M: Tagged> Visitor<'de> for VariantVisitor<M> {
    type Value = Variant<M>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(M::EXPECTING)
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<Variant<M>, E> {
        match M::unit(name) {
            Some(message) => Ok(Variant::Known(message)),
            None if M::NAMES.contains(&name) => Err(E::custom(format_args!(
                "message type {name} needs its data"
            ))),
            None => Ok(Variant::Unknown(name.to_owned())),
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Variant<M>, A::Error> {
        let Some(Key(name)) = map.next_key::<Key>()? else {
            return Err(de::Error::custom(
                "message must have exactly one key, found none",
            ));
        };
        let variant = match M::payload(&name, &mut map)? {
            Some(message) => Variant::Known(message),
            None => {
                map.next_value::<IgnoredAny>()?;
                Variant::Unknown(name.into_owned())
            }
        };
        if map.next_key::<IgnoredAny>()?.is_some() {
            return Err(de::Error::custom("message must have exactly one key"));
        }
        Ok(variant)
    }
}

/// A map key, borrowed from the input when it has no escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a variant name")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// The payload of a variant without data: `null` or any object (its fields ignored).
struct Unit;

impl<'de> Deserialize<'de> for Unit {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct UnitVisitor;
        impl<'de> Visitor<'de> for UnitVisitor {
            type Value = Unit;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("{} or null")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Unit, E> {
                Ok(Unit)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Unit, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Unit)
            }
        }
        deserializer.deserialize_any(UnitVisitor)
    }
}

// ---------------------------------------------------------------------------------------------
// Node → Core

impl Tagged for NodeToCore {
    const EXPECTING: &'static str = "a Node → Core message";
    const NAMES: &'static [&'static str] = &[
        "NodeRegistration",
        "NodeStatusUpdate",
        "PotStatusUpdate",
        "PotEvent",
        "NodeEvent",
        "NodeDrop",
    ];

    fn unit(name: &str) -> Option<Self> {
        (name == "NodeDrop").then_some(NodeToCore::NodeDrop)
    }

    fn payload<'de, A: MapAccess<'de>>(name: &str, map: &mut A) -> Result<Option<Self>, A::Error> {
        let message = match name {
            "NodeRegistration" => {
                let r: WireRegistration = map.next_value()?;
                validate::node_name(&r.node_name).map_err(de::Error::custom)?;
                NodeToCore::NodeRegistration(NodeRegistration {
                    node_id: r.node_id,
                    node_name: r.node_name,
                    address: r.address,
                    port: r.port,
                    node_type: r.node_type,
                    totp_code: r.totp_code,
                })
            }
            "NodeStatusUpdate" => {
                let s: WireNodeStatus = map.next_value()?;
                NodeToCore::NodeStatusUpdate(NodeStatusUpdate {
                    node_id: s.node_id,
                    status: s.status,
                })
            }
            "PotStatusUpdate" => map.next_value::<WirePotStatus>()?.into_message()?,
            "PotEvent" => NodeToCore::PotEvent(map.next_value::<WirePotEvent>()?.into_event()?),
            "NodeEvent" => NodeToCore::NodeEvent(map.next_value::<WireNodeEvent>()?.0),
            "NodeDrop" => {
                map.next_value::<Unit>()?;
                NodeToCore::NodeDrop
            }
            _ => return Ok(None),
        };
        Ok(Some(message))
    }
}

#[derive(Deserialize)]
struct WireRegistration {
    node_id: NodeId,
    node_name: String,
    address: String,
    port: u16,
    node_type: NodeType,
    #[serde(default)]
    totp_code: Option<SecretString>,
}

#[derive(Deserialize)]
struct WireNodeStatus {
    node_id: NodeId,
    status: NodeStatus,
}

#[derive(Deserialize)]
struct WirePotStatus {
    node_id: NodeId,
    pot_id: String,
    #[serde(default)]
    pot_type: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

impl WirePotStatus {
    /// A status update, or — with an empty or missing `status` — the event one real node
    /// forwards this way (only the honeypot's text survives, in `message`).
    fn into_message<E: de::Error>(self) -> Result<NodeToCore, E> {
        let status = match self.status.as_deref() {
            None | Some("") => {
                let mut data = serde_json::Map::new();
                if let Some(message) = self.message {
                    data.insert("message".to_owned(), message.into());
                }
                return Ok(NodeToCore::PotEvent(PotEvent {
                    node_id: self.node_id,
                    pot_id: self.pot_id,
                    pot_type: self.pot_type.filter(|t| !t.is_empty()),
                    event_type: "unknown".to_owned(),
                    timestamp: None,
                    data: EventData::from_map(&data),
                }));
            }
            Some(name) => PotStatus::from_wire(name).ok_or_else(|| {
                E::unknown_variant(name, &["Installing", "Running", "Stopped", "Failed"])
            })?,
        };
        Ok(NodeToCore::PotStatusUpdate(PotStatusUpdate {
            node_id: self.node_id,
            pot_id: self.pot_id,
            pot_type: self.pot_type.ok_or_else(|| E::missing_field("pot_type"))?,
            status,
            message: self.message,
        }))
    }
}

#[derive(Deserialize)]
struct WirePotEvent {
    node_id: NodeId,
    pot_id: String,
    #[serde(default)]
    pot_type: Option<String>,
    #[serde(default)]
    event_type: Option<String>,
    #[serde(default)]
    timestamp: Option<WireTimestamp>,
    #[serde(default)]
    data: Option<Box<RawValue>>,
    // The legacy shape: `event`, `message`, `metadata`.
    #[serde(default)]
    event: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    metadata: Option<serde_json::Map<String, serde_json::Value>>,
}

impl WirePotEvent {
    fn into_event<E: de::Error>(self) -> Result<PotEvent, E> {
        let timestamp = self.timestamp.map(|t| t.0);
        let (event_type, data) = match (self.event_type, self.event) {
            (Some(event_type), _) => {
                let raw = self.data.ok_or_else(|| E::missing_field("data"))?;
                (event_type, EventData::from_raw(raw).map_err(E::custom)?)
            }
            (None, Some(event)) => {
                let mut data = self.metadata.unwrap_or_default();
                if let Some(message) = self.message {
                    data.insert("message".to_owned(), message.into());
                }
                (event, EventData::from_map(&data))
            }
            (None, None) => return Err(E::missing_field("event_type")),
        };
        Ok(PotEvent {
            node_id: self.node_id,
            pot_id: self.pot_id,
            pot_type: self.pot_type,
            event_type,
            timestamp,
            data,
        })
    }
}

/// An event time: RFC 3339 text, or (legacy) whole unix seconds.
struct WireTimestamp(Timestamp);

impl<'de> Deserialize<'de> for WireTimestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TimestampVisitor;
        impl Visitor<'_> for TimestampVisitor {
            type Value = WireTimestamp;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an RFC 3339 timestamp or unix seconds")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<WireTimestamp, E> {
                Timestamp::parse_rfc3339(v)
                    .map(WireTimestamp)
                    .map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<WireTimestamp, E> {
                Timestamp::from_unix_seconds(v)
                    .map(WireTimestamp)
                    .map_err(E::custom)
            }
        }
        deserializer.deserialize_any(TimestampVisitor)
    }
}

/// A `NodeEvent` in any of its shapes.
struct WireNodeEvent(NodeEvent);

impl<'de> Deserialize<'de> for WireNodeEvent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeEventVisitor)
    }
}

struct NodeEventVisitor;

impl<'de> Visitor<'de> for NodeEventVisitor {
    type Value = WireNodeEvent;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a node event")
    }

    /// `"Started"`.
    fn visit_str<E: de::Error>(self, v: &str) -> Result<WireNodeEvent, E> {
        Ok(WireNodeEvent(NodeEvent {
            kind: event_kind(v)?,
            message: None,
        }))
    }

    /// `{"type": .., "message"|"description": ..}` or `{"Error": {"message"|"description": ..}}`.
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<WireNodeEvent, A::Error> {
        let mut flat_kind: Option<NodeEventKind> = None;
        let mut flat = EventDetail::default();
        let mut tagged: Option<(NodeEventKind, EventDetail)> = None;
        while let Some(Key(key)) = map.next_key::<Key>()? {
            match &*key {
                "type" => flat_kind = Some(event_kind(&map.next_value::<Cow<str>>()?)?),
                "message" => flat.message = map.next_value()?,
                "description" => flat.description = map.next_value()?,
                name => match NodeEventKind::from_wire(name) {
                    Some(_) if tagged.is_some() => {
                        return Err(de::Error::custom("node event has more than one kind"));
                    }
                    Some(kind) => tagged = Some((kind, map.next_value::<EventDetail>()?)),
                    None => {
                        map.next_value::<IgnoredAny>()?;
                    }
                },
            }
        }
        let (kind, detail) = match (tagged, flat_kind) {
            (Some((kind, _)), Some(other)) if kind != other => {
                return Err(de::Error::custom("node event names two kinds"));
            }
            (Some((kind, detail)), _) => (kind, detail.or(flat)),
            (None, Some(kind)) => (kind, flat),
            (None, None) => return Err(de::Error::missing_field("type")),
        };
        Ok(WireNodeEvent(NodeEvent {
            kind,
            message: detail.into_message(),
        }))
    }
}

fn event_kind<E: de::Error>(name: &str) -> Result<NodeEventKind, E> {
    NodeEventKind::from_wire(name)
        .ok_or_else(|| E::unknown_variant(name, &["Started", "Stopped", "Alarm", "Error"]))
}

/// The text of a node event: `message`, or `description` in some peers.
#[derive(Default)]
struct EventDetail {
    message: Option<String>,
    description: Option<String>,
}

impl EventDetail {
    fn or(self, other: EventDetail) -> EventDetail {
        if self.message.is_some() || self.description.is_some() {
            self
        } else {
            other
        }
    }

    fn into_message(self) -> Option<String> {
        self.message.or(self.description)
    }
}

impl<'de> Deserialize<'de> for EventDetail {
    /// `null`, `{"message": ..}`, `{"description": ..}`, or a bare string.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Fields {
            #[serde(default)]
            message: Option<String>,
            #[serde(default)]
            description: Option<String>,
        }
        struct DetailVisitor;
        impl<'de> Visitor<'de> for DetailVisitor {
            type Value = EventDetail;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an event detail object, a string or null")
            }
            fn visit_unit<E: de::Error>(self) -> Result<EventDetail, E> {
                Ok(EventDetail::default())
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<EventDetail, E> {
                Ok(EventDetail {
                    message: Some(v.to_owned()),
                    description: None,
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<EventDetail, A::Error> {
                let f = Fields::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(EventDetail {
                    message: f.message,
                    description: f.description,
                })
            }
        }
        deserializer.deserialize_any(DetailVisitor)
    }
}

// ---------------------------------------------------------------------------------------------
// Core → Node (what a node-side decoder, the simulator, accepts)

impl Tagged for CoreToNode {
    const EXPECTING: &'static str = "a Core → Node message";
    const NAMES: &'static [&'static str] = &["RegistrationAck", "NodeCommand", "ProtocolError"];

    fn unit(_: &str) -> Option<Self> {
        None
    }

    fn payload<'de, A: MapAccess<'de>>(name: &str, map: &mut A) -> Result<Option<Self>, A::Error> {
        let message = match name {
            "RegistrationAck" => {
                let a: WireAck = map.next_value()?;
                CoreToNode::RegistrationAck(RegistrationAck {
                    node_id: a.node_id,
                    accepted: a.accepted,
                    message: a.message,
                    totp_key: a.totp_key,
                })
            }
            "NodeCommand" => {
                let c: WireNodeCommand = map.next_value()?;
                CoreToNode::NodeCommand(NodeCommand {
                    node_id: c.node_id,
                    command: c.command,
                })
            }
            "ProtocolError" => {
                let e: WireProtocolError = map.next_value()?;
                CoreToNode::ProtocolError(ProtocolError {
                    code: e.code,
                    message: e.message,
                    node_id: e.node_id,
                })
            }
            _ => return Ok(None),
        };
        Ok(Some(message))
    }
}

#[derive(Deserialize)]
struct WireAck {
    #[serde(default)]
    node_id: Option<NodeId>,
    accepted: bool,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    totp_key: Option<SecretString>,
}

#[derive(Deserialize)]
struct WireNodeCommand {
    node_id: NodeId,
    command: Command,
}

#[derive(Deserialize)]
struct WireProtocolError {
    code: ErrorCode,
    message: String,
    #[serde(default)]
    node_id: Option<NodeId>,
}

impl Tagged for Command {
    const EXPECTING: &'static str = "a command";
    const NAMES: &'static [&'static str] = &[
        "InstallPot",
        "DeployPot",
        "StopPot",
        "RestartPot",
        "GetPotStatus",
        "GetPotInfo",
        "GetPotLogs",
        "GetPotMetrics",
        "Restart",
        "UpdateConfig",
        "GetInstalledPots",
    ];

    fn unit(name: &str) -> Option<Self> {
        match name {
            "Restart" => Some(Command::Restart),
            "UpdateConfig" => Some(Command::UpdateConfig),
            "GetInstalledPots" => Some(Command::GetInstalledPots),
            _ => None,
        }
    }

    fn payload<'de, A: MapAccess<'de>>(name: &str, map: &mut A) -> Result<Option<Self>, A::Error> {
        let pot_command: fn(String) -> Command = match name {
            "InstallPot" => {
                let w: WireInstallPot = map.next_value()?;
                return Ok(Some(Command::InstallPot(InstallPot {
                    pot_id: w.pot_id,
                    honeypot_type: w.honeypot_type,
                    git_url: w.git_url,
                    git_branch: w.git_branch,
                    config: w.config.map(|c| c.0),
                    auto_start: w.auto_start,
                })));
            }
            "DeployPot" => Command::DeployPot,
            "StopPot" => Command::StopPot,
            "RestartPot" => Command::RestartPot,
            "GetPotStatus" => Command::GetPotStatus,
            "GetPotInfo" => Command::GetPotInfo,
            "GetPotLogs" => Command::GetPotLogs,
            "GetPotMetrics" => Command::GetPotMetrics,
            unit => match Self::unit(unit) {
                Some(command) => {
                    map.next_value::<Unit>()?;
                    return Ok(Some(command));
                }
                None => return Ok(None),
            },
        };
        Ok(Some(pot_command(map.next_value::<String>()?)))
    }
}

impl<'de> Deserialize<'de> for Command {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match Variant::<Command>::deserialize(deserializer)? {
            Variant::Known(command) => Ok(command),
            Variant::Unknown(name) => Err(de::Error::unknown_variant(&name, Self::NAMES)),
        }
    }
}

#[derive(Deserialize)]
struct WireInstallPot {
    pot_id: String,
    honeypot_type: String,
    #[serde(default)]
    git_url: Option<String>,
    #[serde(default)]
    git_branch: Option<String>,
    #[serde(default)]
    config: Option<ConfigMap>,
    /// Absent means install only (the pot ends `Stopped`).
    #[serde(default)]
    auto_start: bool,
}

/// InstallPot's config: string values, or numbers and booleans converted to strings; `null` and
/// nested values are refused.
struct ConfigMap(BTreeMap<String, String>);

impl<'de> Deserialize<'de> for ConfigMap {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        BTreeMap::<String, ConfigValue>::deserialize(deserializer)
            .map(|m| ConfigMap(m.into_iter().map(|(k, v)| (k, v.0)).collect()))
    }
}

struct ConfigValue(String);

impl<'de> Deserialize<'de> for ConfigValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ValueVisitor;
        impl<'de> Visitor<'de> for ValueVisitor {
            type Value = ConfigValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a config value (string, number or boolean; not nested)")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ConfigValue, E> {
                Ok(ConfigValue(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<ConfigValue, E> {
                Ok(ConfigValue(v))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<ConfigValue, E> {
                Ok(ConfigValue(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ConfigValue, E> {
                Ok(ConfigValue(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ConfigValue, E> {
                Ok(ConfigValue(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<ConfigValue, E> {
                Ok(ConfigValue(v.to_string()))
            }
        }
        deserializer.deserialize_any(ValueVisitor)
    }
}

#[cfg(test)]
mod tests;
