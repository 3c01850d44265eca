//! Virtual hosts, routes and weighted destinations: the first decision on the request
//! path. A request is matched to a [`VirtualHost`] by its authority (Envoy's domain
//! precedence), then to the first [`Route`] of that host whose [`RouteMatch`] accepts it,
//! and the route's [`RouteAction`] picks a [`Destination`] by weight.
//!
//! "First match wins" is deliberate (it is Envoy's and Istio's rule): the order of rules
//! in a VirtualService is the order of evaluation, so a user can read precedence off the
//! file.

mod action;
mod destination;
mod matching;
mod mirror;
mod regex_rewrite;
mod rewrite;
mod table;

pub use action::{HashPolicy, RouteAction};
pub use destination::{Destination, DestinationHeaders, WeightedDestinations};
pub use matching::{PathMatch, RouteMatch};
pub use mirror::{MirrorHost, RequestMirror, shadow_authority};
pub use regex_rewrite::RegexRewrite;
pub use rewrite::{
    HeaderMutation, Redirect, RedirectCode, RedirectPath, rewrite_prefix, validate_authority, validate_prefix_rewrite,
};
pub use table::{NoRoute, Route, RouteTable, VirtualHost};
