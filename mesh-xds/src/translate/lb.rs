//! A cluster's load-balancing policy → [`LbPolicy`].
//!
//! `load_balancing_policy` (typed extension policies, gRFC A52) wins when set: its list
//! is in order of preference, the first policy of a supported type is used (its config
//! must then be valid), and if none is supported the cluster is rejected. Supported:
//! `round_robin`, `least_request`, `random`, `ring_hash` and `wrr_locality` around one
//! of them (locality weights are folded into endpoint weights, see `endpoints.rs`).
//! Otherwise the `lb_policy` enum applies with its legacy `*_lb_config`.
//!
//! Rejected because they change which endpoint is picked: slow start, zone-aware
//! routing, an `active_request_bias` other than 1, full-scan least request, Murmur
//! hashing, hashing host names, bounded-load hashing, Maglev and cluster-provided LB.

use envoy_types::pb::envoy::config::cluster::v3::Cluster;
use envoy_types::pb::envoy::config::cluster::v3::LoadBalancingPolicy;
use envoy_types::pb::envoy::config::cluster::v3::cluster::{LbConfig, LbPolicy as PbLbPolicy, ring_hash_lb_config};
use envoy_types::pb::envoy::config::core::v3::RuntimeDouble;
use envoy_types::pb::envoy::extensions::load_balancing_policies::common::v3::LocalityLbConfig;
use envoy_types::pb::envoy::extensions::load_balancing_policies::common::v3::locality_lb_config::LocalityConfigSpecifier;
use envoy_types::pb::envoy::extensions::load_balancing_policies::least_request::v3::LeastRequest;
use envoy_types::pb::envoy::extensions::load_balancing_policies::least_request::v3::least_request::SelectionMethod;
use envoy_types::pb::envoy::extensions::load_balancing_policies::random::v3::Random;
use envoy_types::pb::envoy::extensions::load_balancing_policies::ring_hash::v3::RingHash;
use envoy_types::pb::envoy::extensions::load_balancing_policies::ring_hash::v3::ring_hash::HashFunction;
use envoy_types::pb::envoy::extensions::load_balancing_policies::round_robin::v3::RoundRobin;
use envoy_types::pb::envoy::extensions::load_balancing_policies::wrr_locality::v3::WrrLocality;
use envoy_types::pb::google::protobuf::Any;
use mesh_core::lb::LbPolicy;

use super::field::{At, FieldResult, reject, unsupported};
use super::value::{MAX_NESTING, is, unpack};

const DEFAULT_MIN_RING: u64 = 1024;
const DEFAULT_MAX_RING: u64 = 8 * 1024 * 1024;

/// The cluster's policy.
pub(super) fn lb_policy(c: &Cluster) -> FieldResult<LbPolicy> {
    if let Some(p) = &c.load_balancing_policy {
        return typed_policies(p, 0).at("load_balancing_policy");
    }
    match PbLbPolicy::try_from(c.lb_policy) {
        Ok(PbLbPolicy::RoundRobin) => {
            if let Some(LbConfig::RoundRobinLbConfig(rr)) = &c.lb_config {
                unsupported(rr.slow_start_config.is_some(), "round_robin_lb_config.slow_start_config", "slow start")?;
            }
            Ok(LbPolicy::RoundRobin)
        }
        Ok(PbLbPolicy::LeastRequest) => match &c.lb_config {
            Some(LbConfig::LeastRequestLbConfig(lr)) => {
                unsupported(lr.slow_start_config.is_some(), "least_request_lb_config.slow_start_config", "slow start")?;
                let count = lr.choice_count.as_ref().map(|v| v.value);
                least_request(count, lr.active_request_bias.as_ref()).at("least_request_lb_config")
            }
            _ => least_request(None, None),
        },
        Ok(PbLbPolicy::Random) => Ok(LbPolicy::Random),
        Ok(PbLbPolicy::RingHash) => match &c.lb_config {
            Some(LbConfig::RingHashLbConfig(rh)) => {
                if rh.hash_function != ring_hash_lb_config::HashFunction::XxHash as i32 {
                    return reject("ring_hash_lb_config.hash_function", "only XX_HASH is supported");
                }
                let (min, max) = (rh.minimum_ring_size.as_ref(), rh.maximum_ring_size.as_ref());
                ring_hash(min.map(|v| v.value), max.map(|v| v.value)).at("ring_hash_lb_config")
            }
            _ => Ok(LbPolicy::ring_hash_default()),
        },
        Ok(PbLbPolicy::LoadBalancingPolicyConfig) => {
            reject("lb_policy", "LOAD_BALANCING_POLICY_CONFIG requires load_balancing_policy")
        }
        Ok(other) => reject("lb_policy", format!("{} is not supported", other.as_str_name())),
        Err(_) => reject("lb_policy", format!("unknown policy {}", c.lb_policy)),
    }
}

fn least_request(choice_count: Option<u32>, bias: Option<&RuntimeDouble>) -> FieldResult<LbPolicy> {
    if bias.is_some_and(|b| b.default_value != 1.0) {
        return reject("active_request_bias", "only the default bias of 1.0 is supported");
    }
    LbPolicy::least_request(choice_count.unwrap_or(2)).for_field("choice_count")
}

fn ring_hash(min: Option<u64>, max: Option<u64>) -> FieldResult<LbPolicy> {
    let (min, max) = (min.unwrap_or(DEFAULT_MIN_RING), max.unwrap_or(DEFAULT_MAX_RING));
    LbPolicy::ring_hash(min, max).for_field(if min > max || min == 0 {
        "minimum_ring_size"
    } else {
        "maximum_ring_size"
    })
}

fn typed_policies(p: &LoadBalancingPolicy, depth: usize) -> FieldResult<LbPolicy> {
    if depth >= MAX_NESTING {
        return reject("", format!("policies nest more than {MAX_NESTING} deep"));
    }
    for (i, policy) in p.policies.iter().enumerate() {
        let Some(any) = policy.typed_extension_config.as_ref().and_then(|t| t.typed_config.as_ref()) else {
            continue;
        };
        let at = format!("policies[{i}].typed_extension_config.typed_config");
        if let Some(lb) = typed_policy(any, depth).at(at)? {
            return Ok(lb);
        }
    }
    let types: Vec<&str> = p
        .policies
        .iter()
        .filter_map(|p| p.typed_extension_config.as_ref()?.typed_config.as_ref().map(|a| a.type_url.as_str()))
        .collect();
    reject(
        "policies",
        format!(
            "none of the policies is supported (round_robin, least_request, random, ring_hash, wrr_locality): {types:?}"
        ),
    )
}

/// A typed policy, or `None` if its type is not supported.
// Deprecated fields (`enable_full_scan`, `use_hostname_for_hashing`, `hash_balance_factor`)
// still change the policy when set, so they are checked.
#[allow(deprecated)]
fn typed_policy(any: &Any, depth: usize) -> FieldResult<Option<LbPolicy>> {
    let policy = if is::<RoundRobin>(any) {
        let rr: RoundRobin = unpack(any, "")?;
        unsupported(rr.slow_start_config.is_some(), "slow_start_config", "slow start")?;
        locality(rr.locality_lb_config.as_ref())?;
        LbPolicy::RoundRobin
    } else if is::<LeastRequest>(any) {
        let lr: LeastRequest = unpack(any, "")?;
        unsupported(lr.slow_start_config.is_some(), "slow_start_config", "slow start")?;
        locality(lr.locality_lb_config.as_ref())?;
        unsupported(lr.enable_full_scan.as_ref().is_some_and(|b| b.value), "enable_full_scan", "full scan")?;
        unsupported(lr.selection_method == SelectionMethod::FullScan as i32, "selection_method", "full scan")?;
        least_request(lr.choice_count.as_ref().map(|v| v.value), lr.active_request_bias.as_ref())?
    } else if is::<Random>(any) {
        let r: Random = unpack(any, "")?;
        locality(r.locality_lb_config.as_ref())?;
        LbPolicy::Random
    } else if is::<RingHash>(any) {
        let rh: RingHash = unpack(any, "")?;
        if !matches!(HashFunction::try_from(rh.hash_function), Ok(HashFunction::DefaultHash | HashFunction::XxHash)) {
            return reject("hash_function", "only XX_HASH is supported");
        }
        unsupported(rh.use_hostname_for_hashing, "use_hostname_for_hashing", "hashing host names")?;
        unsupported(rh.hash_balance_factor.is_some(), "hash_balance_factor", "bounded-load hashing")?;
        if let Some(c) = &rh.consistent_hashing_lb_config {
            let set = c.use_hostname_for_hashing || c.hash_balance_factor.is_some() || !c.hash_policy.is_empty();
            unsupported(set, "consistent_hashing_lb_config", "consistent_hashing_lb_config")?;
        }
        let (min, max) = (rh.minimum_ring_size.as_ref(), rh.maximum_ring_size.as_ref());
        ring_hash(min.map(|v| v.value), max.map(|v| v.value))?
    } else if is::<WrrLocality>(any) {
        let w: WrrLocality = unpack(any, "")?;
        let Some(inner) = &w.endpoint_picking_policy else {
            return reject("endpoint_picking_policy", "is required");
        };
        typed_policies(inner, depth + 1).at("endpoint_picking_policy")?
    } else {
        return Ok(None);
    };
    Ok(Some(policy))
}

/// Locality-weighted balancing is what the endpoint weights already do; zone-aware
/// routing needs the local zone's share and is rejected.
fn locality(l: Option<&LocalityLbConfig>) -> FieldResult<()> {
    match l.and_then(|l| l.locality_config_specifier.as_ref()) {
        Some(LocalityConfigSpecifier::ZoneAwareLbConfig(_)) => {
            reject("locality_lb_config.zone_aware_lb_config", "zone-aware routing is not supported")
        }
        _ => Ok(()),
    }
}
