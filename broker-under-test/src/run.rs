//! Startup and shutdown: open the data directory (recovery), bind the listeners, serve until
//! SIGTERM/SIGINT, then stop accepting, flush every partition and write the checkpoint.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::watch;

use crate::broker::Broker;
use crate::config::Config;
use crate::controller::liveness::{self, LivenessSettings};
use crate::controller::node::{ControllerNode, ControllerSettings};
use crate::log::checkpoint;

/// Runs the broker until a termination signal; returns after a clean flush.
pub async fn run(config: Config) -> anyhow::Result<()> {
    tracing::info!(?config, "starting broker");
    if !config.seeded_faults.is_empty() {
        tracing::warn!(faults = %config.seeded_faults, "SEEDED FAULTS ENABLED: this broker is deliberately buggy");
    }
    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("bind Kafka listener {}", config.listen))?;
    let bound = listener.local_addr()?;
    let admin_listener = TcpListener::bind(config.admin_listen)
        .await
        .with_context(|| format!("bind admin listener {}", config.admin_listen))?;
    let advertised = config.advertised(bound.port());
    let (shutdown_tx, shutdown_rx) = watch::channel(false);

    // The admin endpoint answers 503 "starting" while crash recovery runs.
    let admin_state = crate::admin::AdminState {
        node_id: config.node_id,
        broker: Arc::new(OnceLock::new()),
        controller: Arc::new(OnceLock::new()),
    };
    let admin = {
        let router = crate::admin::router(admin_state.clone());
        let mut rx = shutdown_rx.clone();
        tokio::spawn(async move {
            let served = axum::serve(admin_listener, router)
                .with_graceful_shutdown(async move {
                    if rx.changed().await.is_err() {
                        tracing::debug!("shutdown channel dropped");
                    }
                })
                .await;
            if let Err(e) = served {
                tracing::error!(error = %e, "admin endpoint failed");
            }
        })
    };
    let broker = Arc::new(tokio::task::block_in_place(|| {
        Broker::open(config.clone(), advertised.clone())
    })?);
    assert!(
        admin_state.broker.set(Arc::clone(&broker)).is_ok(),
        "the broker is opened once"
    );
    let controller_shutdown = shutdown_rx.clone();
    // Liveness stops first at shutdown, so no heartbeat unfences the broker after its
    // controlled shutdown fenced it.
    let (liveness_stop, liveness_stopped) = watch::channel(false);
    let checkpointer = tokio::spawn(checkpoint_loop(Arc::clone(&broker), shutdown_rx.clone()));
    let server = tokio::spawn(crate::server::serve(
        Arc::clone(&broker),
        listener,
        shutdown_rx,
    ));
    let controller = if config.peers.0.is_empty() {
        None
    } else {
        let (node, liveness) =
            start_controller(&config, &advertised, broker.incarnation, liveness_stopped).await?;
        assert!(
            admin_state.controller.set(Arc::clone(&node)).is_ok()
                && broker.controller.set(Arc::clone(&node)).is_ok(),
            "the controller is started once"
        );
        let manager = tokio::spawn(crate::replication::manager::run(
            Arc::clone(&broker),
            Arc::clone(&node),
            controller_shutdown,
        ));
        Some((node, liveness, manager))
    };
    broker.set_ready();
    tracing::info!(kafka = %bound, admin = %config.admin_listen, advertised = ?advertised, "broker serving");

    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let which = tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    };
    tracing::info!(signal = which, "shutting down: stop accepting, flush, exit");
    let controller = match controller {
        Some((node, liveness, manager)) => {
            liveness_stop.send_replace(true);
            if tokio::time::timeout(Duration::from_secs(5), liveness)
                .await
                .is_err()
            {
                tracing::warn!(task = "controller liveness", "did not stop within 5 s");
            }
            liveness::controlled_shutdown(&node, config.node_id).await;
            Some((node, manager))
        }
        None => None,
    };
    shutdown_tx.send_replace(true);
    for (name, task) in [
        ("kafka listener", server),
        ("admin", admin),
        ("checkpointer", checkpointer),
    ] {
        if tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .is_err()
        {
            tracing::warn!(task = name, "did not stop within 5 s");
        }
    }
    if let Some((node, manager)) = controller {
        if tokio::time::timeout(Duration::from_secs(5), manager)
            .await
            .is_err()
        {
            tracing::warn!(task = "replica manager", "did not stop within 5 s");
        }
        node.shutdown().await;
    }
    tokio::task::block_in_place(|| broker.flush_all())?;
    tracing::info!("flushed all partitions and wrote the recovery-point checkpoint; bye");
    Ok(())
}

/// Starts this broker's controller-quorum member and its liveness loop (only with `--peers`).
async fn start_controller(
    config: &Config,
    advertised: &(String, i32),
    incarnation: u64,
    shutdown: watch::Receiver<bool>,
) -> anyhow::Result<(Arc<ControllerNode>, tokio::task::JoinHandle<()>)> {
    let settings = ControllerSettings {
        node_id: config.node_id,
        listen: config.controller_listen,
        peers: config.peers.clone(),
        dir: config.data_dir.join("controller"),
        heartbeat_ms: config.heartbeat_interval_ms.max(10),
        election_timeout_ms: config.heartbeat_interval_ms.max(10) * 4,
        faults: config.seeded_faults,
    };
    let node = Arc::new(
        ControllerNode::start(settings)
            .await
            .context("start the controller quorum member")?,
    );
    let liveness = tokio::spawn(liveness::run(
        Arc::clone(&node),
        LivenessSettings {
            node_id: config.node_id,
            host: advertised.0.clone(),
            port: advertised.1,
            heartbeat_ms: config.heartbeat_interval_ms,
            session_timeout_ms: config.session_timeout_ms,
            incarnation,
        },
        shutdown,
    ));
    Ok((node, liveness))
}

async fn checkpoint_loop(broker: Arc<Broker>, mut shutdown: watch::Receiver<bool>) {
    let period = Duration::from_millis(broker.config.checkpoint_interval_ms.max(10));
    let mut last = None;
    loop {
        tokio::select! {
            _ = shutdown.changed() => return,
            _ = tokio::time::sleep(period) => {}
        }
        let b = Arc::clone(&broker);
        let previous = last.take();
        let result = tokio::task::spawn_blocking(move || {
            let points = b.recovery_points();
            if previous.as_ref() == Some(&points) {
                return Ok(points);
            }
            checkpoint::write(&b.data_dir(), &points).map(|()| points)
        })
        .await;
        match result {
            Ok(Ok(points)) => last = Some(points),
            Ok(Err(e)) => {
                tracing::error!(error = %e, "writing the recovery-point checkpoint failed")
            }
            Err(e) => tracing::error!(error = %e, "checkpoint task failed"),
        }
    }
}
