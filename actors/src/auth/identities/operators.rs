//! Operators' acts on identities: enrolling a node (by id or name, with a fresh key handed
//! out of band), approving a pending one, revoking one (a tombstone stays).

use honeybee_protocol::NodeId;

use super::{Identity, IdentityBook, IdentityChange, IdentityKey, IdentityState, totp};

impl IdentityBook {
    /// Enrolls an identity by node id or name (an operator's act): a fresh secret, handed out
    /// of band. A tombstone of the same id or name is lifted.
    pub fn enroll(
        &mut self,
        node_id: Option<NodeId>,
        name: Option<&str>,
    ) -> (Identity, Vec<IdentityChange>) {
        let existing = node_id.and_then(|id| self.by_node_id.get(&id).copied());
        let key = match (existing, node_id) {
            (Some(key), _) => key,
            (None, Some(id)) if !self.identities.contains_key(&id) => id,
            _ => self.synthetic_key(),
        };
        let previous = self.identities.get(&key);
        let mut node_ids = previous.map(|i| i.node_ids.clone()).unwrap_or_default();
        if let Some(id) = node_id
            && !node_ids.contains(&id)
        {
            node_ids.push(id);
        }
        let name = name
            .map(str::to_owned)
            .or_else(|| previous.and_then(|i| i.name.clone()));
        let identity = Identity {
            key,
            name: name.clone(),
            node_ids,
            secret: Some(totp::new_secret()),
            state: IdentityState::Active,
            // A new secret: the old one's accepted steps mean nothing for it.
            last_step: None,
            key_delivered: true,
            name_shared: false,
        };
        let mut changes = Vec::new();
        if let Some(name) = &name {
            changes.extend(self.lift_name_tombstones(name, key));
        }
        self.index(identity.clone());
        changes.push(IdentityChange::Upsert(Identity::clone(&identity)));
        (identity, changes)
    }

    /// Revoked identities other than `keep` give up `name` (enrolling it again lifts the
    /// tombstone on the name; the revoked ids stay refused).
    fn lift_name_tombstones(&mut self, name: &str, keep: IdentityKey) -> Vec<IdentityChange> {
        let keys = self.by_name.get(name).cloned().unwrap_or_default();
        let mut changes = Vec::new();
        for key in keys.into_iter().filter(|k| *k != keep) {
            if let Some(identity) = self.identities.get_mut(&key)
                && identity.state == IdentityState::Revoked
            {
                identity.name = None;
                changes.push(IdentityChange::Upsert(Identity::clone(identity)));
                if let Some(list) = self.by_name.get_mut(name) {
                    list.retain(|k| *k != key);
                }
            }
        }
        changes
    }

    /// A key no identity has.
    pub(super) fn synthetic_key(&mut self) -> IdentityKey {
        while self.identities.contains_key(&self.next_synthetic) {
            self.next_synthetic -= 1;
        }
        let key = self.next_synthetic;
        self.next_synthetic -= 1;
        key
    }

    /// Approves a pending identity: its next registration gets the key.
    pub fn approve(&mut self, key: IdentityKey) -> Option<IdentityChange> {
        let identity = self.identities.get_mut(&key)?;
        if identity.state != IdentityState::Pending {
            return None;
        }
        identity.state = IdentityState::Active;
        identity.key_delivered = false;
        Some(IdentityChange::Upsert(Identity::clone(identity)))
    }

    /// Revokes an identity: its secret is forgotten and a tombstone stays.
    pub fn revoke(&mut self, key: IdentityKey) -> Option<IdentityChange> {
        let identity = self.identities.get_mut(&key)?;
        identity.state = IdentityState::Revoked;
        identity.secret = None;
        identity.key_delivered = false;
        Some(IdentityChange::Upsert(Identity::clone(identity)))
    }
}
