//! The private bridge network of a run. Its /24 subnet is chosen by the harness so each
//! node gets a fixed address (`.11`, `.12`, ...): a killed and restarted container keeps
//! its address, so peer lists and grudges stay true. The gateway (`.1`) is the host's
//! address on the network: every client connection arrives from it.

use std::net::Ipv4Addr;

use bollard::models::{Ipam, IpamConfig, NetworkCreateRequest};
use bollard::Docker;
use sha2::{Digest, Sha256};

use crate::cluster::error::{docker_error, ClusterError};
use crate::cluster::labels::run_labels;

/// How many candidate subnets are tried before giving up with a clash error.
pub const SUBNET_CANDIDATES: usize = 16;

/// The network created for one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunNetwork {
    /// Docker network name (`samsa-<run id>`).
    pub name: String,
    /// Docker network id.
    pub id: String,
    /// The first three octets of the /24.
    pub prefix: [u8; 3],
}

impl RunNetwork {
    /// The gateway: the host's address on this network, source of all client traffic.
    pub fn gateway(&self) -> Ipv4Addr {
        let [a, b, c] = self.prefix;
        Ipv4Addr::new(a, b, c, 1)
    }

    /// The fixed address of node `index` (0-based): `.11`, `.12`, ...
    pub fn node_ip(&self, index: usize) -> Ipv4Addr {
        assert!(index < 200, "node index {index} out of the /24");
        let [a, b, c] = self.prefix;
        Ipv4Addr::new(a, b, c, 11 + index as u8)
    }

    /// The subnet in CIDR notation.
    pub fn subnet(&self) -> String {
        let [a, b, c] = self.prefix;
        format!("{a}.{b}.{c}.0/24")
    }
}

/// Candidate /24 prefixes for a run, in 10.231.0.0/16, starting at a point derived from
/// the run id so concurrent runs rarely race for the same one.
pub fn subnet_candidates(run_id: &str) -> Vec<[u8; 3]> {
    let digest = Sha256::digest(run_id.as_bytes());
    let start = usize::from(digest[0]) % 240;
    (0..SUBNET_CANDIDATES)
        .map(|k| [10, 231, ((start + k) % 240 + 8) as u8])
        .collect()
}

/// Create the run's network, trying candidate subnets until one does not clash.
pub async fn create_network(docker: &Docker, run_id: &str) -> Result<RunNetwork, ClusterError> {
    let name = format!("samsa-{run_id}");
    let candidates = subnet_candidates(run_id);
    for prefix in &candidates {
        let [a, b, c] = *prefix;
        let request = NetworkCreateRequest {
            name: name.clone(),
            driver: Some("bridge".into()),
            labels: Some(run_labels(run_id)),
            ipam: Some(Ipam {
                driver: Some("default".into()),
                config: Some(vec![IpamConfig {
                    subnet: Some(format!("{a}.{b}.{c}.0/24")),
                    gateway: Some(format!("{a}.{b}.{c}.1")),
                    ..Default::default()
                }]),
                options: None,
            }),
            ..Default::default()
        };
        match docker.create_network(request).await {
            Ok(response) => {
                return Ok(RunNetwork {
                    name,
                    id: response.id,
                    prefix: *prefix,
                })
            }
            Err(e) if e.to_string().contains("overlaps") => {
                tracing::debug!(subnet = %format!("{a}.{b}.{c}.0/24"), "subnet in use, trying the next");
            }
            Err(e) => return Err(docker_error("network create", &name, e)),
        }
    }
    Err(ClusterError::SubnetClash {
        tried: candidates
            .iter()
            .map(|[a, b, c]| format!("{a}.{b}.{c}.0/24"))
            .collect::<Vec<_>>()
            .join(", "),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // Candidates are distinct private /24s and depend on the run id.
    #[test]
    fn candidates_are_distinct_private_subnets() {
        let c = subnet_candidates("run-1");
        assert_eq!(c.len(), SUBNET_CANDIDATES);
        let unique: std::collections::BTreeSet<_> = c.iter().collect();
        assert_eq!(unique.len(), c.len());
        assert!(c.iter().all(|p| p[0] == 10 && p[1] == 231 && p[2] >= 8));
        assert_eq!(c, subnet_candidates("run-1"));
    }

    // Addresses: gateway .1, nodes from .11.
    #[test]
    fn addresses_are_fixed() {
        let net = RunNetwork {
            name: "n".into(),
            id: "i".into(),
            prefix: [10, 231, 40],
        };
        assert_eq!(net.gateway(), Ipv4Addr::new(10, 231, 40, 1));
        assert_eq!(net.node_ip(0), Ipv4Addr::new(10, 231, 40, 11));
        assert_eq!(net.node_ip(4), Ipv4Addr::new(10, 231, 40, 15));
        assert_eq!(net.subnet(), "10.231.40.0/24");
    }
}
