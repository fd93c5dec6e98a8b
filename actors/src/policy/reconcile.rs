//! Reconciliation: the steps that bring a node's pots to its desired state ([`plan`]), and the
//! differences between the two as the API shows them ([`drift`]).
//!
//! `plan` proposes at most one step per pot and leaves alone the pots that something else is
//! handling: a command in flight or waiting (`busy`), an operator's stop (`held`), a pot the
//! guard gave up on (`gave_up`). A `Failed` desired pot is the guard's to restart, not the
//! plan's. Run it whenever the desired or observed state changes; a step's answer changes the
//! observed state, and the next plan goes on from there.

use std::collections::{BTreeMap, BTreeSet};

use honeybee_protocol::PotStatus;

use super::desired::{Desired, DesiredEntry, DesiredPot};

/// What the node last reported about one of its pots.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Observed {
    pub pot_type: String,
    pub status: PotStatus,
}

/// One command to send.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Step {
    /// `InstallPot` from `desired` (a missing pot, or one of another type); `auto_start`.
    Install { pot_id: String, desired: DesiredPot },
    /// `DeployPot`: a desired pot is `Stopped`.
    Deploy { pot_id: String },
    /// `StopPot`: a pot that is not desired is `Running` or `Installing`.
    Stop { pot_id: String },
}

impl Step {
    pub fn pot_id(&self) -> &str {
        match self {
            Step::Install { pot_id, .. } | Step::Deploy { pot_id } | Step::Stop { pot_id } => {
                pot_id
            }
        }
    }
}

/// How a pot differs from its desired state.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum DriftKind {
    /// Running or installing although not desired.
    NotDesired,
    /// Desired, and the node does not have it.
    Missing,
    /// Desired with one type, installed with another.
    TypeDiffers,
}

impl DriftKind {
    /// The API name: `not_desired`, `missing`, `type_differs`.
    pub const fn as_str(self) -> &'static str {
        match self {
            DriftKind::NotDesired => "not_desired",
            DriftKind::Missing => "missing",
            DriftKind::TypeDiffers => "type_differs",
        }
    }
}

/// One pot's difference from its desired state.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Drift {
    pub pot_id: String,
    pub kind: DriftKind,
    pub desired_type: Option<String>,
    pub observed_type: Option<String>,
}

/// The steps that bring the node to `desired`, at most one per pot, in pot id order. Skips pots
/// in `busy` (a command in flight or waiting), `held` (operator stop) and `gave_up`.
///
/// Desired but not observed → `Install`; observed with another type → `Install` (reinstall
/// with the desired type); desired and `Stopped` → `Deploy`; not desired (deleted, or unlisted
/// on a managed node) and `Running` or `Installing` → `Stop`. Nothing else.
pub fn plan(
    desired: &Desired,
    observed: &BTreeMap<String, Observed>,
    busy: &BTreeSet<String>,
    held: &BTreeSet<String>,
    gave_up: &BTreeSet<String>,
) -> Vec<Step> {
    pot_ids(desired, observed)
        .filter(|id| !busy.contains(*id) && !held.contains(*id) && !gave_up.contains(*id))
        .filter_map(|id| step(id, &desired.entry(id), observed.get(id)))
        .collect()
}

/// The step that brings one pot to its desired `entry` (the rules of [`plan`], for a pot that
/// is not busy, held or given up on).
pub fn step(pot_id: &str, entry: &DesiredEntry, observed: Option<&Observed>) -> Option<Step> {
    let pot_id = pot_id.to_owned();
    match (&entry.pot, observed) {
        (Some(want), None) => Some(Step::Install {
            pot_id,
            desired: want.clone(),
        }),
        (Some(want), Some(seen)) if seen.pot_type != want.pot_type => Some(Step::Install {
            pot_id,
            desired: want.clone(),
        }),
        (Some(_), Some(seen)) if seen.status == PotStatus::Stopped => Some(Step::Deploy { pot_id }),
        (None, Some(seen)) if entry.unwanted && is_up(seen.status) => Some(Step::Stop { pot_id }),
        _ => None,
    }
}

/// How the node differs from `desired`, in pot id order: desired pots it lacks or has with
/// another type, and unwanted pots it runs (`Running` or `Installing`; an unwanted pot that is
/// stopped or failed is as the Core would leave it).
pub fn drift(desired: &Desired, observed: &BTreeMap<String, Observed>) -> Vec<Drift> {
    pot_ids(desired, observed)
        .filter_map(|id| {
            let want = desired.pots.get(id);
            let seen = observed.get(id);
            let kind = match (want, seen) {
                (Some(_), None) => DriftKind::Missing,
                (Some(w), Some(s)) if w.pot_type != s.pot_type => DriftKind::TypeDiffers,
                (None, Some(s)) if desired.unwanted(id) && is_up(s.status) => DriftKind::NotDesired,
                _ => return None,
            };
            Some(Drift {
                pot_id: id.to_owned(),
                kind,
                desired_type: want.map(|w| w.pot_type.clone()),
                observed_type: seen.map(|s| s.pot_type.clone()),
            })
        })
        .collect()
}

/// Every pot id desired or observed, each once, in order.
fn pot_ids<'a>(
    desired: &'a Desired,
    observed: &'a BTreeMap<String, Observed>,
) -> impl Iterator<Item = &'a str> {
    let ids: BTreeSet<&str> = desired
        .pots
        .keys()
        .chain(observed.keys())
        .map(String::as_str)
        .collect();
    ids.into_iter()
}

fn is_up(status: PotStatus) -> bool {
    matches!(status, PotStatus::Running | PotStatus::Installing)
}
