//! Building the broker-under-test image `FROM scratch`: the binary, the libraries `ldd`
//! lists and the loader, packed into an in-memory tar build context and sent to the
//! daemon's build API (no shell, no base image: nothing can be pulled here). Images are
//! cached by the binary's sha256: the tag `samsa/broker-under-test:<12 hex>` is only
//! built once per binary.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use bollard::query_parameters::BuildImageOptionsBuilder;
use bollard::Docker;
use futures_util::StreamExt;
use sha2::{Digest, Sha256};

use crate::cluster::error::{io_error, ClusterError};
use crate::cluster::ldd::libraries_of;

/// The repository of broker-under-test images.
pub const IMAGE_REPOSITORY: &str = "samsa/broker-under-test";

/// Where the binary lives inside the image (the entrypoint).
pub const BINARY_IN_IMAGE: &str = "/broker-under-test";

/// Limit for one image build.
pub const BUILD_TIMEOUT: Duration = Duration::from_secs(300);

const DOCKERFILE: &str = "FROM scratch\nCOPY rootfs/ /\nENTRYPOINT [\"/broker-under-test\"]\n";

/// The image tag for a binary's contents: `samsa/broker-under-test:<first 12 hex of sha256>`.
pub fn image_tag_for(binary_bytes: &[u8]) -> String {
    let digest = Sha256::digest(binary_bytes);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("{IMAGE_REPOSITORY}:{}", &hex[..12])
}

/// Build (or find cached) the broker image for `binary`; returns its tag.
pub async fn build_broker_image(binary: &Path) -> Result<String, ClusterError> {
    let docker = crate::cluster::docker_client::connect().await?;
    build_broker_image_with(&docker, binary).await
}

/// [`build_broker_image`] with an existing Docker client.
pub async fn build_broker_image_with(
    docker: &Docker,
    binary: &Path,
) -> Result<String, ClusterError> {
    let bytes = std::fs::read(binary).map_err(|e| io_error(binary, e))?;
    let tag = image_tag_for(&bytes);
    if image_exists(docker, &tag).await? {
        tracing::info!(%tag, "broker image cached");
        return Ok(tag);
    }
    let context = build_context(binary, &bytes)?;
    let labels = HashMap::from([("samsa.image".to_string(), "broker-under-test".to_string())]);
    let options = BuildImageOptionsBuilder::default()
        .dockerfile("Dockerfile")
        .t(&tag)
        .rm(true)
        .forcerm(true)
        .labels(&labels)
        .build();
    let fail = |detail: String| ClusterError::ImageBuild {
        tag: tag.clone(),
        detail,
    };
    let build = async {
        let mut stream =
            docker.build_image(options, None, Some(bollard::body_full(context.into())));
        while let Some(item) = stream.next().await {
            let info = item.map_err(|e| fail(e.to_string()))?;
            if let Some(detail) = info.error_detail {
                return Err(fail(detail.message.unwrap_or_default()));
            }
        }
        Ok(())
    };
    tokio::time::timeout(BUILD_TIMEOUT, build)
        .await
        .map_err(|_| fail(format!("no result within {BUILD_TIMEOUT:?}")))??;
    if !image_exists(docker, &tag).await? {
        return Err(fail("the build finished but the image is absent".into()));
    }
    tracing::info!(%tag, "broker image built");
    Ok(tag)
}

/// Whether an image with this tag exists locally.
pub async fn image_exists(docker: &Docker, tag: &str) -> Result<bool, ClusterError> {
    match docker.inspect_image(tag).await {
        Ok(_) => Ok(true),
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(false),
        Err(other) => Err(crate::cluster::error::docker_error(
            "inspect image",
            tag,
            other,
        )),
    }
}

/// The build context: Dockerfile, the binary, its libraries at their absolute paths
/// (symlinks resolved to file contents), and empty `/data` and `/tmp` directories.
fn build_context(binary: &Path, binary_bytes: &[u8]) -> Result<Vec<u8>, ClusterError> {
    let mut tar = tar::Builder::new(Vec::new());
    let tar_err = |e: std::io::Error| io_error("<in-memory build context>", e);
    append_file(&mut tar, "Dockerfile", DOCKERFILE.as_bytes(), 0o644).map_err(tar_err)?;
    append_file(
        &mut tar,
        &format!("rootfs{BINARY_IN_IMAGE}"),
        binary_bytes,
        0o755,
    )
    .map_err(tar_err)?;
    for library in libraries_of(binary)? {
        let contents = std::fs::read(&library).map_err(|e| io_error(&library, e))?;
        let inside = format!("rootfs{}", library.display());
        append_file(&mut tar, &inside, &contents, 0o755).map_err(tar_err)?;
    }
    for dir in ["rootfs/data", "rootfs/tmp"] {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Directory);
        header.set_mode(0o1777);
        header.set_size(0);
        tar.append_data(&mut header, dir, std::io::empty())
            .map_err(tar_err)?;
    }
    tar.into_inner().map_err(tar_err)
}

fn append_file(
    tar: &mut tar::Builder<Vec<u8>>,
    path: &str,
    contents: &[u8],
    mode: u32,
) -> std::io::Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_size(contents.len() as u64);
    header.set_mode(mode);
    header.set_entry_type(tar::EntryType::Regular);
    tar.append_data(&mut header, path, contents)
}

#[cfg(test)]
mod tests {
    use super::*;

    // The tag depends only on the contents, 12 hex digits.
    #[test]
    fn tag_is_content_hash() {
        let a = image_tag_for(b"binary one");
        assert_eq!(a, image_tag_for(b"binary one"));
        assert_ne!(a, image_tag_for(b"binary two"));
        let hex = a.strip_prefix("samsa/broker-under-test:").unwrap();
        assert_eq!(hex.len(), 12);
        assert!(hex.chars().all(|c| c.is_ascii_hexdigit()));
    }

    // The context holds the Dockerfile, the binary, its loader and the data directory.
    #[test]
    fn context_lists_binary_libraries_and_dirs() {
        let bytes = std::fs::read("/bin/ls").unwrap();
        let context = build_context(Path::new("/bin/ls"), &bytes).unwrap();
        let mut archive = tar::Archive::new(context.as_slice());
        let names: Vec<String> = archive
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect();
        assert!(names.contains(&"Dockerfile".to_string()));
        assert!(names.contains(&"rootfs/broker-under-test".to_string()));
        assert!(names.iter().any(|n| n.contains("ld-linux")));
        assert!(names.contains(&"rootfs/data".to_string()));
    }
}
