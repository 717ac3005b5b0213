//! The broker cluster in Docker: images, networks, containers, readiness and teardown.
//!
//! One run = one private bridge network and N containers, all labelled
//! `samsa=1, samsa.run=<run id>`. The broker-under-test image is built `FROM scratch`
//! from the workspace binary ([`build_broker_image`]); other brokers come from a TOML
//! [`Profile`]. Faults are applied by the `nemesis` crate through [`Cluster::nemesis`].
//! Containers and networks are managed with bollard (see `node.rs` for why not
//! testcontainers).

pub mod admin;
pub mod docker_client;
pub mod error;
pub mod image;
pub mod kafka_wire;
pub mod labels;
pub mod ldd;
pub mod lifecycle;
pub mod logs;
pub mod network;
pub mod node;
pub mod profile;
pub mod readiness;
pub mod sample;
pub mod service;
pub mod state;
pub mod sweep;
pub mod template;
pub mod topic;

pub use docker_client::connect;
pub use error::ClusterError;
pub use image::{
    build_broker_image, build_broker_image_with, build_image_from_binary, image_tag_for,
};
pub use lifecycle::{Cluster, ClusterConfig, NODES_MAX};
pub use node::ClusterNode;
pub use profile::{AdminEndpoint, Profile, Readiness};
pub use state::{NodeSample, PartitionLeader, StateSample};
pub use sweep::{sweep, sweep_all, sweep_label, teardown_run, SweepReport};
pub use topic::{TopicCreated, TopicSpec};
