//! A node's desired state: which pots it should run, merged from the fleet file (`fleet.file`)
//! and the operators' overrides (`PUT`/`DELETE /api/v1/nodes/{id}/pots/{pot_id}`).
//!
//! A node the file lists is *managed*: the pots it lists are desired, and any other pot the
//! node runs is not. An override replaces (or deletes) one pot's entry, and wins until the
//! file's entry for that pot changes — the override remembers the fingerprint of the entry it
//! overrode, and once the file says something else the file wins again and the override is
//! dropped. So an edit to the file is never silently masked by an old API call.

use std::collections::{BTreeMap, BTreeSet};

use super::RestartPolicy;

/// What one pot should be.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct DesiredPot {
    pub pot_type: String,
    pub config: BTreeMap<String, String>,
    /// `None`: `pots.restart`.
    pub restart: Option<RestartPolicy>,
    pub git_url: Option<String>,
    pub git_branch: Option<String>,
}

impl DesiredPot {
    /// A pot of `pot_type` with no config, the default restart policy and the node's own pot
    /// store.
    pub fn of_type(pot_type: impl Into<String>) -> Self {
        DesiredPot {
            pot_type: pot_type.into(),
            config: BTreeMap::new(),
            restart: None,
            git_url: None,
            git_branch: None,
        }
    }

    /// A fingerprint of every field, stable across runs and builds (it is stored with
    /// overrides): 64-bit FNV-1a over a canonical, length-prefixed encoding.
    pub fn fingerprint(&self) -> u64 {
        let mut h = Fnv1a::new();
        h.text(&self.pot_type);
        h.count(self.config.len());
        for (key, value) in &self.config {
            h.text(key);
            h.text(value);
        }
        h.option(self.restart.map(RestartPolicy::as_str));
        h.option(self.git_url.as_deref());
        h.option(self.git_branch.as_deref());
        h.finish()
    }
}

/// 64-bit FNV-1a.
struct Fnv1a(u64);

impl Fnv1a {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;

    fn new() -> Self {
        Fnv1a(Self::OFFSET)
    }

    fn bytes(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(Self::PRIME);
        }
    }

    fn count(&mut self, n: usize) {
        self.bytes(&(n as u64).to_le_bytes());
    }

    /// Length first, so that `("ab", "c")` and `("a", "bc")` differ.
    fn text(&mut self, s: &str) {
        self.count(s.len());
        self.bytes(s.as_bytes());
    }

    fn option(&mut self, s: Option<&str>) {
        match s {
            None => self.bytes(&[0]),
            Some(s) => {
                self.bytes(&[1]);
                self.text(s);
            }
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// What the fleet file says about one node.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct FileNode {
    pub pots: BTreeMap<String, DesiredPot>,
}

/// The fleet file's desired state: the nodes it lists by name and by id (parsed by
/// `honeybee_core::fleet_file`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FleetFile {
    pub by_name: BTreeMap<String, FileNode>,
    pub by_id: BTreeMap<u64, FileNode>,
}

impl FleetFile {
    /// What the file says about a node: its entry by id (its current id, then its previous
    /// ones), else by name (a name entry applies to every node of that name), else `None` (the
    /// node is not managed by the file).
    pub fn for_node(&self, node_id: u64, previous_ids: &[u64], name: &str) -> Option<&FileNode> {
        std::iter::once(&node_id)
            .chain(previous_ids)
            .find_map(|id| self.by_id.get(id))
            .or_else(|| self.by_name.get(name))
    }
}

/// An operator's override of one pot (`PUT` = `Some`, `DELETE` = `None`), remembering the
/// fingerprint of the file's entry for that pot when it was set (`None`: the file had no
/// entry).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Override {
    pub desired: Option<DesiredPot>,
    pub file_fingerprint: Option<u64>,
}

impl Override {
    /// An override of `pot_id` set now, against the file's current entry for the node.
    pub fn new(desired: Option<DesiredPot>, file: Option<&FileNode>, pot_id: &str) -> Self {
        Override {
            desired,
            file_fingerprint: file_entry(file, pot_id).map(DesiredPot::fingerprint),
        }
    }
}

/// The effective desired state of a node.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct Desired {
    /// The fleet file lists the node: pots it runs that are not in `pots` are not desired.
    pub managed: bool,
    /// The pots the node should run.
    pub pots: BTreeMap<String, DesiredPot>,
    /// Pots explicitly deleted (never also in `pots`).
    pub not_desired: BTreeSet<String>,
}

impl Desired {
    /// Whether the node should not run `pot_id`: deleted, or unlisted on a managed node. An
    /// unmanaged node's unlisted pots are neither wanted nor unwanted: they are left alone.
    pub fn unwanted(&self, pot_id: &str) -> bool {
        self.not_desired.contains(pot_id) || (self.managed && !self.pots.contains_key(pot_id))
    }

    /// What the node's desired state says of one pot.
    pub fn entry(&self, pot_id: &str) -> DesiredEntry {
        DesiredEntry {
            pot: self.pots.get(pot_id).cloned(),
            unwanted: self.unwanted(pot_id),
        }
    }
}

/// One pot's part of its node's desired state: what it should be, or that it should not run
/// (neither: the Core leaves it as it is).
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct DesiredEntry {
    pub pot: Option<DesiredPot>,
    pub unwanted: bool,
}

/// The effective desired state of a node: the file's pots, overrides on top. Also returns the
/// pot ids whose override is stale (the file's entry changed since it was set) and must be
/// dropped; the file's entry applies to them.
pub fn effective(
    file: Option<&FileNode>,
    overrides: &BTreeMap<String, Override>,
) -> (Desired, Vec<String>) {
    let mut desired = Desired {
        managed: file.is_some(),
        pots: file.map(|f| f.pots.clone()).unwrap_or_default(),
        not_desired: BTreeSet::new(),
    };
    let mut stale = Vec::new();
    for (pot_id, over) in overrides {
        let now = file_entry(file, pot_id).map(DesiredPot::fingerprint);
        if now != over.file_fingerprint {
            stale.push(pot_id.clone());
            continue;
        }
        match &over.desired {
            Some(pot) => {
                desired.pots.insert(pot_id.clone(), pot.clone());
            }
            None => {
                desired.pots.remove(pot_id);
                desired.not_desired.insert(pot_id.clone());
            }
        }
    }
    (desired, stale)
}

fn file_entry<'a>(file: Option<&'a FileNode>, pot_id: &str) -> Option<&'a DesiredPot> {
    file.and_then(|f| f.pots.get(pot_id))
}
