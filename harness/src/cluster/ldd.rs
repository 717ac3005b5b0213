//! Which shared libraries a binary needs, from `ldd`: the list of files that must go into
//! a `FROM scratch` image (no registry here, so no base image) for the binary to start.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::cluster::error::ClusterError;

/// Parse `ldd` output into the absolute paths of the libraries and the dynamic loader.
/// The vDSO (provided by the kernel) has no file and is skipped. A library `ldd` could
/// not find is an error naming it. A static binary yields an empty list.
pub fn parse_ldd(output: &str) -> Result<Vec<PathBuf>, String> {
    let mut paths = Vec::new();
    for line in output.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if line.contains("not a dynamic executable") || line.contains("statically linked") {
            return Ok(Vec::new());
        }
        let path_part = match line.split_once("=>") {
            Some((name, target)) => {
                let target = target.trim();
                if target.starts_with("not found") {
                    return Err(format!("library {} not found", name.trim()));
                }
                target
            }
            None => line,
        };
        let path = path_part.split_whitespace().next().unwrap_or_default();
        if path.starts_with('/') {
            paths.push(PathBuf::from(path));
        }
    }
    paths.sort();
    paths.dedup();
    Ok(paths)
}

/// Run `ldd` on `binary` and return the files it needs.
pub fn libraries_of(binary: &Path) -> Result<Vec<PathBuf>, ClusterError> {
    let fail = |detail: String| ClusterError::Ldd {
        binary: binary.to_path_buf(),
        detail,
    };
    let output = Command::new("ldd")
        .arg(binary)
        .output()
        .map_err(|e| fail(format!("cannot run ldd: {e}")))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    if !output.status.success() && !text.contains("not a dynamic executable") {
        return Err(fail(format!("{}: {}", output.status, text.trim())));
    }
    parse_ldd(&text).map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    // A typical glibc binary: libraries by "=>", the loader by its own path, no vDSO.
    #[test]
    fn parses_dynamic_binary() {
        let out = "\tlinux-vdso.so.1 (0x00007ffd4a5f2000)\n\
            \tlibgcc_s.so.1 => /lib/x86_64-linux-gnu/libgcc_s.so.1 (0x00007f0b1c000000)\n\
            \tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f0b1be00000)\n\
            \t/lib64/ld-linux-x86-64.so.2 (0x00007f0b1c2a0000)\n";
        assert_eq!(
            parse_ldd(out).unwrap(),
            vec![
                PathBuf::from("/lib/x86_64-linux-gnu/libc.so.6"),
                PathBuf::from("/lib/x86_64-linux-gnu/libgcc_s.so.1"),
                PathBuf::from("/lib64/ld-linux-x86-64.so.2"),
            ]
        );
    }

    // Static binaries need nothing; a missing library is named.
    #[test]
    fn static_and_missing() {
        assert!(parse_ldd("\tnot a dynamic executable\n")
            .unwrap()
            .is_empty());
        assert!(parse_ldd("\tstatically linked\n").unwrap().is_empty());
        let err = parse_ldd("\tlibfoo.so.1 => not found\n").unwrap_err();
        assert!(err.contains("libfoo.so.1"), "{err}");
    }

    // The real ldd on a real binary of this machine finds libc and the loader.
    #[test]
    fn real_ldd_on_ls() {
        let libs = libraries_of(Path::new("/bin/ls")).unwrap();
        assert!(libs.iter().any(|p| p.to_string_lossy().contains("libc.so")));
        assert!(libs
            .iter()
            .any(|p| p.to_string_lossy().contains("ld-linux")));
    }
}
