//! The whole check over synthetic histories (`checker::synth`): clean ones are valid with
//! no anomaly at all, and every injected anomaly is reported under its own name.

use checker::check::{check, CheckOptions, Validity};
use checker::synth::{generate, Injection, SynthOptions};

fn types_of(options: &SynthOptions) -> (Validity, Vec<&'static str>) {
    let (history, _) = generate(options).expect("the generator accepts these options");
    let result = check(&history, &CheckOptions::default());
    let names = result.anomaly_types.iter().map(|k| k.name()).collect();
    (result.valid, names)
}

// Goal: no false positives on clean concurrent histories. Method: several seeds and shapes.
#[test]
fn clean_synthetic_histories_have_no_anomaly() {
    for seed in 0..6 {
        let options = SynthOptions {
            ops: 3_000,
            keys: 1 + (seed as usize % 3),
            concurrency: 2 + seed as usize,
            seed,
            indeterminate_ratio: 0.05,
            unread_indeterminate: 3,
            ..SynthOptions::default()
        };
        assert_eq!(types_of(&options), (Validity::Valid, vec![]), "seed {seed}");
    }
}

// Goal: each injection is found. Method: inject each kind at a few seeds.
#[test]
fn every_injection_is_reported_by_name() {
    for injection in Injection::all() {
        for seed in 0..3 {
            let options = SynthOptions {
                ops: 2_000,
                seed,
                inject: Some(injection),
                ..SynthOptions::default()
            };
            let (valid, names) = types_of(&options);
            assert_eq!(valid, Validity::Invalid, "{injection} seed {seed}");
            assert!(
                names.contains(&injection.name()),
                "{injection} seed {seed}: {names:?}"
            );
        }
    }
}
