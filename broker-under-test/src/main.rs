//! broker-under-test: a Kafka-wire-compatible broker (placeholder until issue 3 lands).

fn main() {
    eprintln!("broker-under-test: not built yet");
    std::process::exit(2);
}
