//! A simulated node's model, pure: its pots and how it answers each command, as PROTOCOL.md
//! says real nodes answer ("How real nodes answer"). No sockets and no clocks: work that takes
//! time (an install) comes back as a [`Reply::Later`] for the connection driver to schedule.

use std::collections::BTreeMap;
use std::time::Duration;

use honeybee_protocol::{
    Command, NodeEvent, NodeEventKind, NodeId, NodeRegistration, NodeStatus, NodeStatusUpdate,
    NodeToCore, NodeType, PotStatus, PotStatusUpdate, SecretString,
};

use crate::rng::Rng;

#[cfg(test)]
mod tests;

/// How long a restarting pot stays `Stopped` before it reports its outcome.
pub const RESTART_DELAY: Duration = Duration::from_millis(200);

/// One installed pot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pot {
    pub pot_type: String,
    pub status: PotStatus,
}

/// What answering a command produces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// A frame to send at once.
    Now(NodeToCore),
    /// Work to finish after a while (then [`NodeModel::finish`]).
    Later { after: Duration, work: Deferred },
}

/// Work that finishes later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Deferred {
    /// An install ends: `Running` (auto start) or `Stopped`, or `Failed`.
    FinishInstall { pot_id: String, auto_start: bool },
    /// A restart ends: `Running`, or `Failed`.
    FinishRestart { pot_id: String },
}

/// A node's behaviour settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Behaviour {
    /// Probability that an install or a restart fails.
    pub fail_rate: f64,
    /// How long an install takes.
    pub install_time: Duration,
}

/// A simulated node: its id, its pots, and how it behaves.
#[derive(Debug, Clone)]
pub struct NodeModel {
    pub node_id: NodeId,
    pub pots: BTreeMap<String, Pot>,
    pub behaviour: Behaviour,
}

impl NodeModel {
    /// A node whose pots of `pot_types` (in order) are installed and `Running`, named
    /// `<type>-01`, `<type>-02`, ... per type.
    pub fn new(node_id: NodeId, pot_types: &[String], behaviour: Behaviour) -> NodeModel {
        let mut pots = BTreeMap::new();
        let mut per_type: BTreeMap<&str, usize> = BTreeMap::new();
        for pot_type in pot_types {
            let n = per_type.entry(pot_type.as_str()).or_default();
            *n += 1;
            pots.insert(
                format!("{pot_type}-{n:02}"),
                Pot {
                    pot_type: pot_type.clone(),
                    status: PotStatus::Running,
                },
            );
        }
        NodeModel {
            node_id,
            pots,
            behaviour,
        }
    }

    /// The registration frame, with a TOTP code when the node has one.
    pub fn registration(
        &self,
        name: &str,
        address: &str,
        port: u16,
        totp_code: Option<SecretString>,
    ) -> NodeToCore {
        NodeToCore::NodeRegistration(NodeRegistration {
            node_id: self.node_id,
            node_name: name.to_owned(),
            address: address.to_owned(),
            port,
            node_type: NodeType::Full,
            totp_code,
        })
    }

    /// The heartbeat: `NodeStatusUpdate` `Running`.
    pub fn heartbeat(&self) -> NodeToCore {
        self.node_status(NodeStatus::Running)
    }

    fn node_status(&self, status: NodeStatus) -> NodeToCore {
        NodeToCore::NodeStatusUpdate(NodeStatusUpdate {
            node_id: self.node_id,
            status,
        })
    }

    /// The `Running` pots, as `(pot_id, pot_type)`.
    pub fn running_pots(&self) -> Vec<(&str, &str)> {
        self.pots
            .iter()
            .filter(|(_, pot)| pot.status == PotStatus::Running)
            .map(|(id, pot)| (id.as_str(), pot.pot_type.as_str()))
            .collect()
    }

    /// The answers to `command`, in order.
    pub fn on_command(&mut self, command: &Command) -> Vec<Reply> {
        use Reply::Now;
        match command {
            Command::InstallPot(install) => {
                if self.pots.contains_key(&install.pot_id) {
                    return vec![Now(error(format!("Pot {} already exists", install.pot_id)))];
                }
                self.pots.insert(
                    install.pot_id.clone(),
                    Pot {
                        pot_type: install.honeypot_type.clone(),
                        status: PotStatus::Installing,
                    },
                );
                vec![
                    Now(self.set_status(&install.pot_id, PotStatus::Installing, None)),
                    Reply::Later {
                        after: self.behaviour.install_time,
                        work: Deferred::FinishInstall {
                            pot_id: install.pot_id.clone(),
                            auto_start: install.auto_start,
                        },
                    },
                ]
            }
            Command::DeployPot(pot_id) => self.with_pot(pot_id, |node| {
                vec![Now(node.set_status(pot_id, PotStatus::Running, None))]
            }),
            Command::StopPot(pot_id) => self.with_pot(pot_id, |node| {
                // Nothing at all if it was not running.
                if node.pots[pot_id].status != PotStatus::Running {
                    return Vec::new();
                }
                vec![Now(node.set_status(pot_id, PotStatus::Stopped, None))]
            }),
            Command::RestartPot(pot_id) => self.with_pot(pot_id, |node| {
                vec![
                    Now(node.set_status(pot_id, PotStatus::Stopped, None)),
                    Reply::Later {
                        after: RESTART_DELAY,
                        work: Deferred::FinishRestart {
                            pot_id: pot_id.clone(),
                        },
                    },
                ]
            }),
            Command::GetPotStatus(pot_id) => {
                self.with_pot(pot_id, |node| vec![Now(node.pot_update(pot_id, None))])
            }
            Command::GetPotInfo(pot_id) => self.with_pot(pot_id, |node| {
                let info = format!("{} pot {pot_id}", node.pots[pot_id].pot_type);
                vec![Now(node.pot_update(pot_id, Some(info)))]
            }),
            Command::GetPotLogs(pot_id) | Command::GetPotMetrics(pot_id) => {
                vec![Now(error(format!(
                    "{} not yet implemented (pot {pot_id})",
                    command.name()
                )))]
            }
            Command::UpdateConfig => vec![Now(error("UpdateConfig not yet implemented".into()))],
            Command::GetInstalledPots => {
                let ids: Vec<String> = self.pots.keys().cloned().collect();
                ids.iter()
                    .map(|id| Now(self.pot_update(id, None)))
                    .collect()
            }
            Command::Restart => vec![
                Now(self.node_status(NodeStatus::Stopped)),
                Now(self.node_status(NodeStatus::Running)),
                Now(NodeToCore::NodeEvent(NodeEvent {
                    kind: NodeEventKind::Started,
                    message: Some("Node restarted".into()),
                })),
            ],
        }
    }

    /// Finishes deferred work; what to send.
    pub fn finish(&mut self, work: &Deferred, rng: &mut Rng) -> Vec<NodeToCore> {
        let fails = rng.chance(self.behaviour.fail_rate);
        match work {
            Deferred::FinishInstall { pot_id, auto_start } => {
                let Some(pot) = self.pots.get(pot_id) else {
                    return Vec::new();
                };
                if pot.status != PotStatus::Installing {
                    return Vec::new();
                }
                if fails {
                    let reason = format!(
                        "Failed to install {}: git clone exited with status 128",
                        pot.pot_type
                    );
                    let update = self.set_status(pot_id, PotStatus::Failed, Some(reason));
                    // A failed install leaves nothing installed: the Core may install it again.
                    self.pots.remove(pot_id);
                    return vec![update];
                }
                let status = if *auto_start {
                    PotStatus::Running
                } else {
                    PotStatus::Stopped
                };
                vec![self.set_status(pot_id, status, None)]
            }
            Deferred::FinishRestart { pot_id } => {
                if !self.pots.contains_key(pot_id) {
                    return Vec::new();
                }
                if fails {
                    let reason = "container exited with code 1 while starting".to_owned();
                    return vec![self.set_status(pot_id, PotStatus::Failed, Some(reason))];
                }
                vec![self.set_status(pot_id, PotStatus::Running, None)]
            }
        }
    }

    /// A `Running` pot crashes (chosen at random); its `Failed` update, if any pot runs.
    pub fn crash_a_pot(&mut self, rng: &mut Rng) -> Option<NodeToCore> {
        let running: Vec<String> = self
            .running_pots()
            .into_iter()
            .map(|(id, _)| id.to_owned())
            .collect();
        if running.is_empty() {
            return None;
        }
        let pot_id = rng.pick(&running).clone();
        let reason = "process exited unexpectedly (signal 9)".to_owned();
        Some(self.set_status(&pot_id, PotStatus::Failed, Some(reason)))
    }

    /// `answer(self)` when the pot exists, else `NodeEvent` `Error` naming it.
    fn with_pot(
        &mut self,
        pot_id: &String,
        answer: impl FnOnce(&mut NodeModel) -> Vec<Reply>,
    ) -> Vec<Reply> {
        if self.pots.contains_key(pot_id) {
            answer(self)
        } else {
            vec![Reply::Now(error(format!("Pot {pot_id} not found")))]
        }
    }

    fn set_status(
        &mut self,
        pot_id: &str,
        status: PotStatus,
        message: Option<String>,
    ) -> NodeToCore {
        if let Some(pot) = self.pots.get_mut(pot_id) {
            pot.status = status;
        }
        self.pot_update(pot_id, message)
    }

    fn pot_update(&self, pot_id: &str, message: Option<String>) -> NodeToCore {
        // Callers name installed pots; an unknown one would be reported as a stopped pot.
        let (pot_type, status) = match self.pots.get(pot_id) {
            Some(pot) => (pot.pot_type.clone(), pot.status),
            None => (String::new(), PotStatus::Stopped),
        };
        NodeToCore::PotStatusUpdate(PotStatusUpdate {
            node_id: self.node_id,
            pot_id: pot_id.to_owned(),
            pot_type,
            status,
            message,
        })
    }
}

/// `NodeEvent` `Error` with `message`.
pub fn error(message: String) -> NodeToCore {
    NodeToCore::NodeEvent(NodeEvent {
        kind: NodeEventKind::Error,
        message: Some(message),
    })
}

/// The answer to a command the node does not know (it failed to decode).
pub fn unknown_command() -> NodeToCore {
    error("Unknown command".into())
}
