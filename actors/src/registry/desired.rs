//! The desired state in the registry: the fleet file (at start and on SIGHUP) and operators'
//! overrides (`PUT`/`DELETE .../pots/{pot_id}`, stored). A node's effective desired state is
//! worked out whenever one of them changes (an override the file's entry has changed under is
//! dropped then, never while answering a query), kept on the node's record, and each pot's
//! part of it is handed to the pot's actor, which converges on it.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use actix::prelude::*;
use honeybee_protocol::{Command, NodeId};
use honeybee_store::OverrideRow;
use serde_json::{Value, json};

use super::{NodeRecord, Registry, queued};
use crate::policy::{
    Desired, DesiredEntry, DesiredPot, Drift, FleetFile, Observed, Override, RestartPolicy,
    effective,
};
use crate::pot::{Input, install_of};

/// Where the desired state comes from.
#[derive(Debug, Default)]
pub(super) struct DesiredSources {
    file: FleetFile,
    /// Operators' overrides, by node record id, then pot id.
    overrides: HashMap<NodeId, BTreeMap<String, Override>>,
    /// Pots held stopped when the Core last ran, until their actors start.
    holds: BTreeSet<(NodeId, String)>,
}

/// Replaces the fleet file's desired state (at start and on SIGHUP).
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct SetFleetFile(pub FleetFile);

/// An operator's override of one pot's desired state: `Some` installs and keeps it running,
/// `None` means it is no longer desired (it is stopped).
#[derive(Debug, Message)]
#[rtype(result = "Result<Option<DesiredPot>, DesiredError>")]
pub struct SetDesired {
    pub node_id: NodeId,
    pub pot_id: String,
    pub desired: Option<DesiredPot>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DesiredError {
    #[error("no such node")]
    UnknownNode,
    #[error("{0}")]
    Invalid(String),
}

impl Registry {
    /// Starts from the fleet file, the stored overrides and the pots operators held stopped
    /// (every node's desired state is worked out now).
    pub fn with_desired_state(
        mut self,
        file: FleetFile,
        overrides: HashMap<NodeId, BTreeMap<String, Override>>,
        holds: Vec<(NodeId, String)>,
    ) -> Self {
        self.desired = DesiredSources {
            file,
            overrides,
            holds: holds.into_iter().collect(),
        };
        let ids: Vec<NodeId> = self.nodes.keys().copied().collect();
        for node_id in ids {
            let desired = self.effective_of(node_id);
            if let Some(node) = self.nodes.get_mut(&node_id) {
                node.desired = desired;
            }
        }
        self
    }

    /// The holds stored when the Core last ran (once: the pot actors keep them from then on).
    pub(super) fn take_holds(&mut self) -> BTreeSet<(NodeId, String)> {
        std::mem::take(&mut self.desired.holds)
    }

    /// What the node's desired state says of one pot.
    pub(super) fn desired_entry(&self, node_id: NodeId, pot_id: &str) -> DesiredEntry {
        self.nodes
            .get(&node_id)
            .map(|n| n.desired.entry(pot_id))
            .unwrap_or_default()
    }

    /// The node's effective desired state from the file and its overrides; an override whose
    /// file entry changed since it was set is dropped (and its row with it).
    fn effective_of(&mut self, node_id: NodeId) -> Desired {
        let Some(node) = self.nodes.get(&node_id) else {
            return Desired::default();
        };
        let file = self
            .desired
            .file
            .for_node(node.node_id, &node.previous_ids, &node.node_name);
        let empty = BTreeMap::new();
        let overrides = self.desired.overrides.get(&node_id).unwrap_or(&empty);
        let (desired, stale) = effective(file, overrides);
        if let Some(overrides) = self.desired.overrides.get_mut(&node_id) {
            for pot_id in stale {
                log::info!(
                    "Node {node_id} pot {pot_id}: the fleet file's entry changed; it replaces \
                     the operator's override."
                );
                overrides.remove(&pot_id);
                queued(self.store.drop_override(node_id, pot_id));
            }
        }
        desired
    }

    /// Works the node's desired state out again and hands each pot whose part changed (and
    /// `by_operator`, the pot an operator just set) its new entry; a listed node's other pots
    /// converge again too.
    pub(super) fn refresh_desired(
        &mut self,
        node_id: NodeId,
        by_operator: Option<&str>,
        ctx: &mut Context<Self>,
    ) {
        let desired = self.effective_of(node_id);
        let Some(node) = self.nodes.get_mut(&node_id) else {
            return;
        };
        let old = std::mem::replace(&mut node.desired, desired);
        let listed = node.listed;
        let desired = &node.desired;
        let pot_ids: BTreeSet<String> = desired
            .pots
            .keys()
            .chain(old.pots.keys())
            .chain(node.pots.keys())
            .chain(by_operator.map(str::to_owned).as_ref())
            .cloned()
            .collect();
        let inputs: Vec<(String, DesiredEntry, bool)> = pot_ids
            .into_iter()
            .filter_map(|pot_id| {
                let entry = desired.entry(&pot_id);
                let operator = by_operator == Some(pot_id.as_str());
                let changed = entry != old.entry(&pot_id) || operator;
                (changed || (listed && node.pots.contains_key(&pot_id)))
                    .then_some((pot_id, entry, changed))
            })
            .collect();
        for (pot_id, entry, changed) in inputs {
            let busy = self.pot_busy(node_id, &pot_id);
            let input = if changed {
                Input::Desired {
                    entry,
                    by_operator: by_operator == Some(pot_id.as_str()),
                    busy,
                }
            } else {
                Input::Listed { busy }
            };
            self.feed_pot(node_id, &pot_id, input, ctx);
        }
    }

    /// The node's pots were listed on its connection: every pot it has or should have
    /// converges on its desired state.
    pub(super) fn converge_node(&mut self, node_id: NodeId, ctx: &mut Context<Self>) {
        let Some(node) = self.nodes.get_mut(&node_id) else {
            return;
        };
        node.listed = true;
        let pot_ids: BTreeSet<String> = node
            .pots
            .keys()
            .chain(node.desired.pots.keys())
            .cloned()
            .collect();
        for pot_id in pot_ids {
            let busy = self.pot_busy(node_id, &pot_id);
            self.feed_pot(node_id, &pot_id, Input::Listed { busy }, ctx);
        }
    }

    /// How the node's reported pots differ from its desired state.
    pub(super) fn drift_of(node: &NodeRecord) -> Vec<Drift> {
        let observed: BTreeMap<String, Observed> = node
            .pots
            .iter()
            .filter_map(|(id, p)| {
                let view = p.view.as_ref()?;
                Some((
                    id.clone(),
                    Observed {
                        pot_type: view.pot_type.clone(),
                        status: view.status,
                    },
                ))
            })
            .collect();
        crate::policy::drift(&node.desired, &observed)
    }
}

impl Handler<SetFleetFile> for Registry {
    type Result = ();

    fn handle(&mut self, msg: SetFleetFile, ctx: &mut Context<Self>) {
        self.desired.file = msg.0;
        let ids: Vec<NodeId> = self.nodes.keys().copied().collect();
        for node_id in ids {
            self.refresh_desired(node_id, None, ctx);
        }
    }
}

impl Handler<SetDesired> for Registry {
    type Result = Result<Option<DesiredPot>, DesiredError>;

    fn handle(&mut self, msg: SetDesired, ctx: &mut Context<Self>) -> Self::Result {
        let node_id = self.resolve(msg.node_id);
        let node = self.nodes.get(&node_id).ok_or(DesiredError::UnknownNode)?;
        if let Some(d) = &msg.desired {
            let install = Command::InstallPot(install_of(&msg.pot_id, d));
            honeybee_protocol::validate::command(&install, &self.settings.commands.allowed_sources)
                .map_err(|e| DesiredError::Invalid(e.to_string()))?;
        } else {
            honeybee_protocol::validate::pot_id(&msg.pot_id)
                .map_err(|e| DesiredError::Invalid(e.to_string()))?;
        }
        let file = self
            .desired
            .file
            .for_node(node.node_id, &node.previous_ids, &node.node_name);
        let over = Override::new(msg.desired.clone(), file, &msg.pot_id);
        queued(self.store.set_override(OverrideRow {
            node_id,
            pot_id: msg.pot_id.clone(),
            desired: msg.desired.as_ref().map(|d| desired_json(d).to_string()),
            file_fingerprint: over.file_fingerprint,
            set_at: crate::clock::now(),
        }));
        self.desired
            .overrides
            .entry(node_id)
            .or_default()
            .insert(msg.pot_id.clone(), over);
        self.refresh_desired(node_id, Some(&msg.pot_id), ctx);
        Ok(msg.desired)
    }
}

/// `DesiredPot` as stored in an override row.
pub fn desired_json(desired: &DesiredPot) -> Value {
    json!({
        "pot_type": desired.pot_type,
        "config": desired.config,
        "restart": desired.restart.map(RestartPolicy::as_str),
        "git_url": desired.git_url,
        "git_branch": desired.git_branch,
    })
}

fn desired_from_json(text: &str) -> Option<DesiredPot> {
    let v: Value = serde_json::from_str(text).ok()?;
    Some(DesiredPot {
        pot_type: v["pot_type"].as_str()?.to_owned(),
        config: v["config"]
            .as_object()
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                    .collect()
            })
            .unwrap_or_default(),
        restart: v["restart"].as_str().and_then(RestartPolicy::parse),
        git_url: v["git_url"].as_str().map(str::to_owned),
        git_branch: v["git_branch"].as_str().map(str::to_owned),
    })
}

/// Stored overrides, by node: rows that do not parse are skipped with a warning.
pub fn overrides_from(rows: Vec<OverrideRow>) -> HashMap<NodeId, BTreeMap<String, Override>> {
    let mut out: HashMap<NodeId, BTreeMap<String, Override>> = HashMap::new();
    for row in rows {
        let desired = match row.desired.as_deref().map(desired_from_json) {
            Some(None) => {
                log::warn!(
                    "Skipping an unreadable desired-state override of node {} pot {}.",
                    row.node_id,
                    row.pot_id
                );
                continue;
            }
            Some(Some(d)) => Some(d),
            None => None,
        };
        out.entry(row.node_id).or_default().insert(
            row.pot_id,
            Override {
                desired,
                file_fingerprint: row.file_fingerprint,
            },
        );
    }
    out
}
