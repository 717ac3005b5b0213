//! Building the broker-under-test image `FROM scratch`: the binary, the libraries `ldd`
//! lists and the loader, packed into an in-memory tar build context and sent to the
//! daemon's build API (no shell, no base image: nothing can be pulled here). Images are
//! cached by the binary's sha256: the tag `samsa/broker-under-test:<12 hex>` is only
//! built once per binary.
//!
//! The same recipe builds an image from any broker binary ([`build_image_from_binary`],
//! `samsa image from-binary`, a profile's `binary = "..."`): the binary as entrypoint
//! with fixed arguments, cached by the hash of binary and arguments. The binary must be
//! an ELF executable: a script needs an interpreter a `FROM scratch` image does not have.

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

/// The repository of images built from an arbitrary binary.
pub const FROM_BINARY_REPOSITORY: &str = "samsa/from-binary";

/// The first bytes of every ELF file.
const ELF_MAGIC: &[u8] = b"\x7fELF";

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
    let recipe = Recipe {
        binary,
        bytes: &bytes,
        in_image: BINARY_IN_IMAGE,
        args: &[],
        label: "broker-under-test",
    };
    build(docker, &tag, &recipe).await?;
    tracing::info!(%tag, "broker image built");
    Ok(tag)
}

/// The default tag of an image built from `binary_bytes` with entrypoint `args`:
/// `samsa/from-binary:<first 12 hex of sha256 over both>`.
pub fn from_binary_tag_for(binary_bytes: &[u8], args: &[String]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(binary_bytes);
    for arg in args {
        hasher.update([0u8]);
        hasher.update(arg.as_bytes());
    }
    let hex: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{FROM_BINARY_REPOSITORY}:{}", &hex[..12])
}

/// Reads `binary` and checks it can run in a `FROM scratch` image: a regular ELF file.
/// A script (`#!`) or anything else is refused with the reason.
pub fn read_executable(binary: &Path) -> Result<Vec<u8>, ClusterError> {
    let bad = |detail: String| ClusterError::ImageBuild {
        tag: format!("from {}", binary.display()),
        detail,
    };
    let meta = std::fs::metadata(binary).map_err(|e| io_error(binary, e))?;
    if !meta.is_file() {
        return Err(bad("not a regular file".into()));
    }
    let bytes = std::fs::read(binary).map_err(|e| io_error(binary, e))?;
    if bytes.starts_with(b"#!") {
        return Err(bad(
            "is a script: a FROM scratch image has no interpreter; pass the compiled broker binary"
                .into(),
        ));
    }
    if !bytes.starts_with(ELF_MAGIC) {
        return Err(bad("is not an ELF executable".into()));
    }
    Ok(bytes)
}

/// Build (or find cached) a `FROM scratch` image holding `binary` (as
/// `/<file name>`, the entrypoint, followed by `args`) and the libraries `ldd` lists.
/// Without `tag` the image is tagged by content ([`from_binary_tag_for`]) and reused when
/// present; an explicit tag is always rebuilt so it names this binary.
pub async fn build_image_from_binary(
    docker: &Docker,
    binary: &Path,
    args: &[String],
    tag: Option<&str>,
) -> Result<String, ClusterError> {
    let bytes = read_executable(binary)?;
    let tag = match tag {
        Some(t) => t.to_string(),
        None => {
            let t = from_binary_tag_for(&bytes, args);
            if image_exists(docker, &t).await? {
                tracing::info!(tag = %t, "image from binary cached");
                return Ok(t);
            }
            t
        }
    };
    let name = binary
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "broker".into());
    let in_image = format!("/{name}");
    let recipe = Recipe {
        binary,
        bytes: &bytes,
        in_image: &in_image,
        args,
        label: "from-binary",
    };
    build(docker, &tag, &recipe).await?;
    tracing::info!(%tag, "image from binary built");
    Ok(tag)
}

/// What goes into one image.
struct Recipe<'a> {
    binary: &'a Path,
    bytes: &'a [u8],
    /// Absolute path of the binary inside the image (the entrypoint).
    in_image: &'a str,
    /// Arguments after the entrypoint.
    args: &'a [String],
    /// The `samsa.image` label value.
    label: &'a str,
}

/// The Dockerfile of a recipe: `FROM scratch`, the root filesystem, the entrypoint as a
/// JSON array (so arguments with spaces or quotes stay one argument each).
fn dockerfile(in_image: &str, args: &[String]) -> String {
    let mut entry = vec![in_image.to_string()];
    entry.extend(args.iter().cloned());
    let entry = serde_json::to_string(&entry).unwrap_or_else(|_| format!("[\"{in_image}\"]"));
    format!("FROM scratch\nCOPY rootfs/ /\nENTRYPOINT {entry}\n")
}

async fn build(docker: &Docker, tag: &str, recipe: &Recipe<'_>) -> Result<(), ClusterError> {
    let context = build_context(recipe)?;
    let labels = HashMap::from([("samsa.image".to_string(), recipe.label.to_string())]);
    let options = BuildImageOptionsBuilder::default()
        .dockerfile("Dockerfile")
        .t(tag)
        .rm(true)
        .forcerm(true)
        .labels(&labels)
        .build();
    let fail = |detail: String| ClusterError::ImageBuild {
        tag: tag.to_string(),
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
    if !image_exists(docker, tag).await? {
        return Err(fail("the build finished but the image is absent".into()));
    }
    Ok(())
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
fn build_context(recipe: &Recipe<'_>) -> Result<Vec<u8>, ClusterError> {
    let mut tar = tar::Builder::new(Vec::new());
    let tar_err = |e: std::io::Error| io_error("<in-memory build context>", e);
    let docker_file = dockerfile(recipe.in_image, recipe.args);
    append_file(&mut tar, "Dockerfile", docker_file.as_bytes(), 0o644).map_err(tar_err)?;
    append_file(
        &mut tar,
        &format!("rootfs{}", recipe.in_image),
        recipe.bytes,
        0o755,
    )
    .map_err(tar_err)?;
    for library in libraries_of(recipe.binary)? {
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
        let recipe = Recipe {
            binary: Path::new("/bin/ls"),
            bytes: &bytes,
            in_image: BINARY_IN_IMAGE,
            args: &[],
            label: "test",
        };
        let context = build_context(&recipe).unwrap();
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

    // Goal: the entrypoint keeps each argument whole (JSON form), and the content tag
    // changes with the arguments as well as the binary.
    #[test]
    fn entrypoint_and_tag_cover_the_arguments() {
        let args = vec![
            "--port".to_string(),
            "9092".to_string(),
            "a \"b\"".to_string(),
        ];
        assert_eq!(
            dockerfile("/kafka", &args),
            "FROM scratch\nCOPY rootfs/ /\nENTRYPOINT [\"/kafka\",\"--port\",\"9092\",\"a \\\"b\\\"\"]\n"
        );
        let plain = from_binary_tag_for(b"bin", &[]);
        assert!(plain.starts_with("samsa/from-binary:"));
        assert_ne!(plain, from_binary_tag_for(b"bin", &args));
        assert_ne!(
            from_binary_tag_for(b"bin", &["ab".into()]),
            from_binary_tag_for(b"bin", &["a".into(), "b".into()])
        );
    }

    // Goal: a script, a missing file and a non-ELF file are refused with the reason, a
    // real executable is accepted (method: files in a temp dir, and /bin/ls).
    #[test]
    fn only_elf_executables_are_accepted() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("broker.sh");
        std::fs::write(&script, "#!/bin/sh\nexec kafka\n").unwrap();
        let err = read_executable(&script).unwrap_err().to_string();
        assert!(err.contains("is a script"), "{err}");
        let text = dir.path().join("notes.txt");
        std::fs::write(&text, "hello").unwrap();
        let err = read_executable(&text).unwrap_err().to_string();
        assert!(err.contains("not an ELF"), "{err}");
        let err = read_executable(&dir.path().join("absent"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("absent"), "{err}");
        assert!(read_executable(dir.path()).is_err(), "a directory");
        assert!(read_executable(Path::new("/bin/ls")).is_ok());
    }
}
