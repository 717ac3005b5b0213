//! The broker cluster in Docker: images, networks, containers, readiness and teardown.
