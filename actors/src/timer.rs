//! One actix timer for the earliest of many deadlines (commands' timeouts, lost nodes'
//! reconnect graces): the deadlines sit in an ordered set, and this fires at the first of them,
//! so idle entries cost no timer each.

use std::time::Instant;

use actix::{Actor, AsyncContext, Context, SpawnHandle};

#[derive(Debug, Default)]
pub(crate) struct EarliestTimer(Option<(Instant, SpawnHandle)>);

impl EarliestTimer {
    /// Makes sure `fire` runs at `first` (the earliest deadline now): a timer set for later is
    /// replaced, one set for earlier or the same time is kept (it will re-arm for the rest).
    /// `fire` must call [`EarliestTimer::fired`] first.
    pub(crate) fn arm<A>(
        &mut self,
        first: Instant,
        ctx: &mut Context<A>,
        fire: impl FnOnce(&mut A, &mut Context<A>) + 'static,
    ) where
        A: Actor<Context = Context<A>>,
    {
        if let Some((at, handle)) = self.0 {
            if at <= first {
                return;
            }
            ctx.cancel_future(handle);
        }
        let delay = first.saturating_duration_since(Instant::now());
        self.0 = Some((first, ctx.run_later(delay, fire)));
    }

    /// The timer went off: the next [`EarliestTimer::arm`] sets a new one.
    pub(crate) fn fired(&mut self) {
        self.0 = None;
    }
}
