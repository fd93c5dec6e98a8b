//! What the API reads: views of the nodes, their pots and alerts, assembled from the records
//! and the views the pot actors last showed. Reads never change anything.

use actix::prelude::*;

use super::{
    CountNodes, GetNode, ListAlerts, ListIdentities, ListNodes, ListPots, NodeCounts, NodeDetail,
    NodeView, PotHistory, PotView, Registry,
};
use crate::admission::IdentityView;
use crate::pot::GetHistory;
use crate::pot::lifecycle::Transition;

impl Handler<ListNodes> for Registry {
    type Result = Vec<NodeView>;

    fn handle(&mut self, _: ListNodes, _: &mut Context<Self>) -> Vec<NodeView> {
        let mut alerts = self.alerts.open_by_node();
        let mut nodes: Vec<_> = self
            .nodes
            .values()
            .map(|n| self.view_of(n, Some(alerts.remove(&n.node_id).unwrap_or_default())))
            .collect();
        nodes.sort_by_key(|n| n.node_id);
        nodes
    }
}

impl Handler<GetNode> for Registry {
    type Result = Option<NodeDetail>;

    fn handle(&mut self, msg: GetNode, _: &mut Context<Self>) -> Option<NodeDetail> {
        let node = self.nodes.get(&self.resolve(msg.node_id))?;
        let mut detail = node.detail();
        detail.node = self.view_of(node, None);
        detail.drift = Registry::drift_of(node);
        Some(detail)
    }
}

impl Handler<ListPots> for Registry {
    type Result = Vec<PotView>;

    fn handle(&mut self, _: ListPots, _: &mut Context<Self>) -> Vec<PotView> {
        let mut nodes: Vec<_> = self.nodes.values().collect();
        nodes.sort_unstable_by_key(|n| n.node_id);
        nodes.into_iter().flat_map(|n| n.pot_views()).collect()
    }
}

impl Handler<PotHistory> for Registry {
    type Result = ResponseFuture<Option<Vec<Transition>>>;

    /// Asks the pot's actor (the one owner of its history).
    fn handle(&mut self, msg: PotHistory, _: &mut Context<Self>) -> Self::Result {
        let actor = self
            .nodes
            .get(&self.resolve(msg.node_id))
            .and_then(|n| n.pots.get(&msg.pot_id))
            .filter(|p| p.view.is_some())
            .and_then(|p| p.actor.clone());
        Box::pin(async move { actor?.send(GetHistory).await.ok() })
    }
}

impl Handler<ListIdentities> for Registry {
    type Result = Vec<IdentityView>;

    fn handle(&mut self, _: ListIdentities, _: &mut Context<Self>) -> Self::Result {
        self.admission.identities()
    }
}

impl Handler<CountNodes> for Registry {
    type Result = NodeCounts;

    fn handle(&mut self, _: CountNodes, _: &mut Context<Self>) -> NodeCounts {
        let mut counts = NodeCounts::of(self.nodes.values().map(|n| &**n));
        counts.alerts_open = self.alerts.open_count();
        counts
    }
}

impl Handler<ListAlerts> for Registry {
    type Result = Vec<crate::alerts::Alert>;

    fn handle(&mut self, _: ListAlerts, _: &mut Context<Self>) -> Self::Result {
        self.alerts.list()
    }
}
