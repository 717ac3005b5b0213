//! Partition rules as iptables commands run inside a container's network namespace from
//! the host (`nsenter -t <pid> -n iptables-nft ...`), so the broker image needs no
//! iptables of its own (it is `FROM scratch`).
//!
//! All rules live in one dedicated chain, [`CHAIN`], jumped to from INPUT: a partition is
//! "DROP packets whose source is a node this node holds a grudge against", and healing is
//! removing the jump and the chain, which cannot touch anything else in the namespace.
//! The plans are computed from the current `iptables -S` listing, so applying and healing
//! are idempotent (healing twice, or after a harness crash, is a no-op).
//!
//! Packet loss has its own chain, [`LOSS_CHAIN`], jumped to from INPUT and OUTPUT: for
//! each peer of a lossy node, "DROP a packet from it, or to it, with probability P"
//! (`-m statistic --mode random`), so both directions of every link of that node lose
//! packets, the clients' included, without a rule outside the node's namespace. Healing
//! one chain never touches the other.
//!
//! Backend: `iptables-nft`, chosen explicitly. Both `iptables-nft` and `iptables-legacy`
//! were verified to drop traffic inside a container namespace on this machine; nft is the
//! backend Docker itself uses on the host here and the only one newer kernels keep.

use std::net::Ipv4Addr;
use std::time::Duration;

use tokio::process::Command;

use crate::error::NemesisError;
use crate::loss::LossProbability;

/// The dedicated chain holding samsa's DROP rules in each container namespace.
pub const CHAIN: &str = "SAMSA";

/// The dedicated chain holding samsa's packet-loss rules in each container namespace.
pub const LOSS_CHAIN: &str = "SAMSA-LOSS";

/// The built-in chains that jump to [`LOSS_CHAIN`]: packets from a peer, packets to it.
const LOSS_HOOKS: [&str; 2] = ["INPUT", "OUTPUT"];

/// The iptables binary (nft backend) run inside the namespace.
pub const IPTABLES: &str = "iptables-nft";

/// Limit for one nsenter + iptables invocation.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);

/// The argument lists (after `iptables-nft -w 5`) that remove samsa's chain and its jump,
/// given the namespace's current `iptables -S` listing. Empty when nothing is there.
pub fn heal_plan(listing: &str) -> Vec<Vec<String>> {
    chain_heal_plan(listing, CHAIN, &["INPUT"])
}

/// The argument lists that remove `chain` and its jumps from `hooks`, jumps first (a
/// referenced chain cannot be deleted); empty when nothing of it is there.
fn chain_heal_plan(listing: &str, chain: &str, hooks: &[&str]) -> Vec<Vec<String>> {
    let declared = format!("-N {chain}");
    let mut plan = Vec::new();
    for line in listing.lines().map(str::trim) {
        for hook in hooks {
            if line == format!("-A {hook} -j {chain}") {
                plan.push(args(&["-D", hook, "-j", chain]));
            }
        }
    }
    if listing.lines().any(|line| line.trim() == declared) {
        plan.push(args(&["-F", chain]));
        plan.push(args(&["-X", chain]));
    }
    plan
}

/// The argument lists that remove samsa's packet-loss chain and its jumps.
pub fn loss_heal_plan(listing: &str) -> Vec<Vec<String>> {
    chain_heal_plan(listing, LOSS_CHAIN, &LOSS_HOOKS)
}

/// The argument lists that make this namespace drop each packet from or to each of
/// `peers` with `probability`: first heal whatever loss rules are there, then build the
/// chain and jump to it first thing in INPUT and OUTPUT.
pub fn loss_apply_plan(
    listing: &str,
    peers: &[Ipv4Addr],
    probability: LossProbability,
) -> Vec<Vec<String>> {
    let mut plan = loss_heal_plan(listing);
    if peers.is_empty() {
        return plan;
    }
    let p = probability.iptables_arg();
    plan.push(args(&["-N", LOSS_CHAIN]));
    for peer in peers {
        let peer = peer.to_string();
        for direction in ["-s", "-d"] {
            plan.push(args(&[
                "-A",
                LOSS_CHAIN,
                direction,
                &peer,
                "-m",
                "statistic",
                "--mode",
                "random",
                "--probability",
                &p,
                "-j",
                "DROP",
            ]));
        }
    }
    for hook in LOSS_HOOKS {
        plan.push(args(&["-I", hook, "1", "-j", LOSS_CHAIN]));
    }
    plan
}

/// The argument lists that make this namespace drop every packet from `sources`:
/// first heal whatever is there, then build the chain and jump to it first thing in INPUT.
pub fn apply_plan(listing: &str, sources: &[Ipv4Addr]) -> Vec<Vec<String>> {
    let mut plan = heal_plan(listing);
    if sources.is_empty() {
        return plan;
    }
    plan.push(args(&["-N", CHAIN]));
    for source in sources {
        let source = source.to_string();
        plan.push(args(&["-A", CHAIN, "-s", &source, "-j", "DROP"]));
    }
    plan.push(args(&["-I", "INPUT", "1", "-j", CHAIN]));
    plan
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// Run `iptables-nft -w 5 <args>` inside the network namespace of process `pid`; returns
/// stdout. Fails with the command line, exit status and stderr.
pub async fn run_in_namespace(pid: i64, iptables_args: &[String]) -> Result<String, NemesisError> {
    let pid_arg = pid.to_string();
    let mut full = vec!["-t", pid_arg.as_str(), "-n", IPTABLES, "-w", "5"];
    full.extend(iptables_args.iter().map(String::as_str));
    let command_line = format!("nsenter {}", full.join(" "));
    let child = Command::new("nsenter")
        .args(&full)
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(COMMAND_TIMEOUT, child)
        .await
        .map_err(|_| NemesisError::CommandTimeout {
            command: command_line.clone(),
            timeout: COMMAND_TIMEOUT,
        })?
        .map_err(|e| NemesisError::Command {
            command: command_line.clone(),
            detail: format!("cannot run nsenter (needs root and util-linux): {e}"),
        })?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(NemesisError::Command {
            command: command_line,
            detail: format!(
                "{}: {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            ),
        })
    }
}

/// Make the namespace of `pid` drop exactly the packets from `sources` (replacing any
/// earlier samsa rules there).
pub async fn apply(pid: i64, sources: &[Ipv4Addr]) -> Result<(), NemesisError> {
    run_plan(pid, |listing| apply_plan(listing, sources)).await?;
    Ok(())
}

/// Runs the steps `plan` computes from the namespace's current listing; whether there
/// were any.
async fn run_plan(
    pid: i64,
    plan: impl FnOnce(&str) -> Vec<Vec<String>>,
) -> Result<bool, NemesisError> {
    let listing = run_in_namespace(pid, &args(&["-S"])).await?;
    let steps = plan(&listing);
    for step in &steps {
        run_in_namespace(pid, step).await?;
    }
    Ok(!steps.is_empty())
}

/// Remove samsa's chain from the namespace of `pid`; a no-op when it is absent.
/// Returns whether anything was removed.
pub async fn heal(pid: i64) -> Result<bool, NemesisError> {
    run_plan(pid, heal_plan).await
}

/// Make the namespace of `pid` lose packets from and to `peers` with `probability`
/// (replacing any earlier samsa loss rules there).
pub async fn apply_loss(
    pid: i64,
    peers: &[Ipv4Addr],
    probability: LossProbability,
) -> Result<(), NemesisError> {
    run_plan(pid, |listing| loss_apply_plan(listing, peers, probability)).await?;
    Ok(())
}

/// Remove samsa's packet-loss chain from the namespace of `pid`; a no-op when it is
/// absent. Returns whether anything was removed.
pub async fn heal_loss(pid: i64) -> Result<bool, NemesisError> {
    run_plan(pid, loss_heal_plan).await
}

/// Remove both of samsa's chains (partition, packet loss) from the namespace of `pid`,
/// planned from one listing; whether each was there.
pub async fn heal_every_chain(pid: i64) -> Result<(bool, bool), NemesisError> {
    let listing = run_in_namespace(pid, &args(&["-S"])).await?;
    let partition = heal_plan(&listing);
    let loss = loss_heal_plan(&listing);
    for step in partition.iter().chain(&loss) {
        run_in_namespace(pid, step).await?;
    }
    Ok((!partition.is_empty(), !loss.is_empty()))
}

/// The peers whose packets the namespace of `pid` currently loses, each once (for tests
/// and diagnostics).
pub async fn installed_losses(pid: i64) -> Result<Vec<Ipv4Addr>, NemesisError> {
    let listing = run_in_namespace(pid, &args(&["-S"])).await?;
    Ok(parse_losses(&listing))
}

/// The peers of samsa's packet-loss rules in an `iptables -S` listing, each once, in
/// listing order.
pub fn parse_losses(listing: &str) -> Vec<Ipv4Addr> {
    let prefix = format!("-A {LOSS_CHAIN} ");
    let mut peers = Vec::new();
    for rest in listing
        .lines()
        .filter_map(|line| line.trim().strip_prefix(prefix.as_str()))
    {
        let mut words = rest.split_whitespace();
        while let Some(word) = words.next() {
            if word == "-s" || word == "-d" {
                let ip = words.next().and_then(|w| w.split('/').next());
                if let Some(ip) = ip.and_then(|ip| ip.parse().ok()) {
                    if !peers.contains(&ip) {
                        peers.push(ip);
                    }
                }
            }
        }
    }
    peers
}

/// The DROP sources currently installed in the namespace of `pid` (for tests and
/// diagnostics: shows the rules are really in the namespace).
pub async fn installed_drops(pid: i64) -> Result<Vec<Ipv4Addr>, NemesisError> {
    let listing = run_in_namespace(pid, &args(&["-S"])).await?;
    Ok(parse_drops(&listing))
}

/// The sources dropped by samsa's chain in an `iptables -S` listing.
pub fn parse_drops(listing: &str) -> Vec<Ipv4Addr> {
    let prefix = format!("-A {CHAIN} -s ");
    listing
        .lines()
        .filter_map(|line| line.trim().strip_prefix(prefix.as_str()))
        .filter_map(|rest| rest.split(['/', ' ']).next())
        .filter_map(|ip| ip.parse().ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLEAN: &str = "-P INPUT ACCEPT\n-P FORWARD ACCEPT\n-P OUTPUT ACCEPT\n";
    const PARTITIONED: &str = "-P INPUT ACCEPT\n-P FORWARD ACCEPT\n-P OUTPUT ACCEPT\n\
        -N SAMSA\n-A INPUT -j SAMSA\n-A SAMSA -s 10.1.0.3/32 -j DROP\n";

    // Healing a clean namespace does nothing; healing a partitioned one removes the jump
    // before the chain (a referenced chain cannot be deleted).
    #[test]
    fn heal_is_idempotent_and_ordered() {
        assert!(heal_plan(CLEAN).is_empty());
        let plan = heal_plan(PARTITIONED);
        assert_eq!(plan[0], args(&["-D", "INPUT", "-j", "SAMSA"]));
        assert_eq!(plan[1], args(&["-F", "SAMSA"]));
        assert_eq!(plan[2], args(&["-X", "SAMSA"]));
        assert_eq!(plan.len(), 3);
    }

    // Applying replaces old rules and jumps to the chain first in INPUT.
    #[test]
    fn apply_replaces_and_jumps_first() {
        let ips = ["10.1.0.2".parse().unwrap(), "10.1.0.4".parse().unwrap()];
        let plan = apply_plan(PARTITIONED, &ips);
        assert_eq!(plan.len(), 3 + 1 + 2 + 1);
        assert_eq!(plan[3], args(&["-N", "SAMSA"]));
        assert_eq!(
            plan[4],
            args(&["-A", "SAMSA", "-s", "10.1.0.2", "-j", "DROP"])
        );
        assert_eq!(plan[6], args(&["-I", "INPUT", "1", "-j", "SAMSA"]));
        assert!(apply_plan(CLEAN, &[]).is_empty());
    }

    // Goal: packet loss lives in its own chain, jumped to from INPUT and OUTPUT, with a
    // random-drop rule per peer and direction; its heal removes exactly that chain and
    // leaves a partition's alone, and a partition's heal leaves it alone. Method: plans
    // against listings with one, the other and both chains.
    #[test]
    fn loss_rules_have_their_own_chain_in_both_directions() {
        let peers = [Ipv4Addr::new(10, 1, 0, 2), Ipv4Addr::new(10, 1, 0, 1)];
        let p: LossProbability = "0.25".parse().unwrap();
        let plan = loss_apply_plan(CLEAN, &peers, p);
        assert_eq!(plan[0], args(&["-N", "SAMSA-LOSS"]));
        assert_eq!(
            plan[1],
            args(&[
                "-A",
                "SAMSA-LOSS",
                "-s",
                "10.1.0.2",
                "-m",
                "statistic",
                "--mode",
                "random",
                "--probability",
                "0.250000",
                "-j",
                "DROP"
            ])
        );
        assert_eq!(plan[2][2], "-d");
        assert_eq!(plan.len(), 1 + 4 + 2);
        assert_eq!(plan[5], args(&["-I", "INPUT", "1", "-j", "SAMSA-LOSS"]));
        assert_eq!(plan[6], args(&["-I", "OUTPUT", "1", "-j", "SAMSA-LOSS"]));
        assert!(loss_apply_plan(CLEAN, &[], p).is_empty());

        // iptables -S prints the probability with its own rounding.
        let both = format!(
            "{PARTITIONED}-N SAMSA-LOSS\n-A INPUT -j SAMSA-LOSS\n-A OUTPUT -j SAMSA-LOSS\n\
             -A SAMSA-LOSS -s 10.1.0.2/32 -m statistic --mode random --probability 0.25000000000 -j DROP\n\
             -A SAMSA-LOSS -d 10.1.0.2/32 -m statistic --mode random --probability 0.25000000000 -j DROP\n"
        );
        assert_eq!(parse_losses(&both), vec![Ipv4Addr::new(10, 1, 0, 2)]);
        assert_eq!(parse_drops(&both), vec![Ipv4Addr::new(10, 1, 0, 3)]);
        let heal = loss_heal_plan(&both);
        assert_eq!(
            heal,
            vec![
                args(&["-D", "INPUT", "-j", "SAMSA-LOSS"]),
                args(&["-D", "OUTPUT", "-j", "SAMSA-LOSS"]),
                args(&["-F", "SAMSA-LOSS"]),
                args(&["-X", "SAMSA-LOSS"]),
            ]
        );
        assert_eq!(heal_plan(&both), heal_plan(PARTITIONED));
        assert!(loss_heal_plan(PARTITIONED).is_empty());
        assert_eq!(loss_apply_plan(&both, &peers, p)[..4], heal[..]);
    }

    // The listing parser reads back the installed sources.
    #[test]
    fn parse_drops_reads_sources() {
        assert_eq!(parse_drops(PARTITIONED), vec![Ipv4Addr::new(10, 1, 0, 3)]);
        assert!(parse_drops(CLEAN).is_empty());
    }
}
