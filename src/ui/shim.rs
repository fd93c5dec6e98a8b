//! TEMPORARY until main's `Store::last_events` is merged: the same signature, answering with
//! no times. Removed at the merge.

use std::collections::HashMap;
use std::time::SystemTime;

use honeybee_protocol::NodeId;
use honeybee_store::{Store, StoreError};

pub(crate) trait LastEvents {
    fn last_events(&self, nodes: &[NodeId]) -> Result<HashMap<NodeId, SystemTime>, StoreError>;
}

impl LastEvents for Store {
    fn last_events(&self, _nodes: &[NodeId]) -> Result<HashMap<NodeId, SystemTime>, StoreError> {
        Ok(HashMap::new())
    }
}
