//! One switch for the slow tests: `SAMSA_E2E=1` (set by `scripts/test.sh` and so by CI)
//! compiles the Docker, root and real-process tests in; without it they are listed as
//! ignored, each with the reason, so a quick `cargo test` never passes them silently.
fn main() {
    println!("cargo::rustc-check-cfg=cfg(samsa_e2e)");
    println!("cargo::rerun-if-env-changed=SAMSA_E2E");
    if std::env::var_os("SAMSA_E2E").is_some_and(|v| v == "1") {
        println!("cargo::rustc-cfg=samsa_e2e");
    }
}
