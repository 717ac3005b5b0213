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
//! Backend: `iptables-nft`, chosen explicitly. Both `iptables-nft` and `iptables-legacy`
//! were verified to drop traffic inside a container namespace on this machine; nft is the
//! backend Docker itself uses on the host here and the only one newer kernels keep.

use std::net::Ipv4Addr;
use std::time::Duration;

use tokio::process::Command;

use crate::error::NemesisError;

/// The dedicated chain holding samsa's DROP rules in each container namespace.
pub const CHAIN: &str = "SAMSA";

/// The iptables binary (nft backend) run inside the namespace.
pub const IPTABLES: &str = "iptables-nft";

/// Limit for one nsenter + iptables invocation.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);

/// The argument lists (after `iptables-nft -w 5`) that remove samsa's chain and its jump,
/// given the namespace's current `iptables -S` listing. Empty when nothing is there.
pub fn heal_plan(listing: &str) -> Vec<Vec<String>> {
    let jump = format!("-A INPUT -j {CHAIN}");
    let declared = format!("-N {CHAIN}");
    let mut plan = Vec::new();
    for line in listing.lines().map(str::trim) {
        if line == jump {
            plan.push(args(&["-D", "INPUT", "-j", CHAIN]));
        }
    }
    if listing.lines().any(|line| line.trim() == declared) {
        plan.push(args(&["-F", CHAIN]));
        plan.push(args(&["-X", CHAIN]));
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
    let listing = run_in_namespace(pid, &args(&["-S"])).await?;
    for step in apply_plan(&listing, sources) {
        run_in_namespace(pid, &step).await?;
    }
    Ok(())
}

/// Remove samsa's chain from the namespace of `pid`; a no-op when it is absent.
/// Returns whether anything was removed.
pub async fn heal(pid: i64) -> Result<bool, NemesisError> {
    let listing = run_in_namespace(pid, &args(&["-S"])).await?;
    let plan = heal_plan(&listing);
    for step in &plan {
        run_in_namespace(pid, step).await?;
    }
    Ok(!plan.is_empty())
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

    // The listing parser reads back the installed sources.
    #[test]
    fn parse_drops_reads_sources() {
        assert_eq!(parse_drops(PARTITIONED), vec![Ipv4Addr::new(10, 1, 0, 3)]);
        assert!(parse_drops(CLEAN).is_empty());
    }
}
