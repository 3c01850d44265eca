//! The listener's defaults applied to its routes.
//!
//! A listener and its route configuration arrive separately (LDS, then RDS), so the
//! listener's `max_stream_duration` and fault filter config are kept on the
//! [`ListenerConfig`] and applied when the two meet.

use mesh_core::route::RouteTable;

use super::ListenerConfig;

/// The routes with the listener's defaults: its `max_stream_duration` becomes the
/// deadline of routes that set none, its fault policy the fault of routes that set none
/// (a route with an empty fault policy keeps it: faults disabled there).
///
/// A route whose `max_stream_duration` is explicitly 0 cannot be told from one that sets
/// nothing, so it too gets the listener's deadline (gRFC A31 would leave it unlimited).
pub fn apply_listener_defaults(routes: &RouteTable, listener: &ListenerConfig) -> RouteTable {
    let mut table = routes.clone();
    if listener.max_stream_duration.is_none() && listener.default_fault.is_none() {
        return table;
    }
    table.for_each_action_mut(|a| {
        if a.timeout.is_none() {
            a.timeout = listener.max_stream_duration;
        }
        if a.fault.is_none() {
            a.fault = listener.default_fault;
        }
    });
    table
}
