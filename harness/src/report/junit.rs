//! `junit.xml`: the run as JUnit test results so CI systems show which guarantee broke.
//! One test case per guarantee (HISTORY.md's guarantees table): it fails with the anomalies
//! that violate it, and is skipped when the run's configuration does not promise it (those
//! anomalies are still listed in the skip message: reported, never counted).
//! Then one test case per incident ([`crate::incidents`]): it fails with the incident's
//! explanation, or is skipped with it when none of its findings counts.

use checker::anomaly::{AnomalyKind, Property};
use checker::check::{promised, CheckResult, Validity};
use checker::history::model::Guarantees;
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use super::faults::FaultCounts;
use super::ReportError;
use crate::incidents::Incident;

/// The guarantees in report order, with their stable names.
pub const PROPERTIES: [(Property, &str); 4] = [
    (Property::NoLoss, "no_loss"),
    (Property::NoDuplicates, "no_duplicates"),
    (Property::Ordered, "ordered"),
    (Property::Linearizable, "linearizable"),
];

/// How many findings of one type the failure message spells out.
const FINDINGS_LISTED_MAX: usize = 5;

/// Renders `junit.xml` for a run of test `test_name`. The fault counts become suite
/// properties (`faults` = "7 of 8 planned applied", `faults_planned`, `faults_applied`)
/// and the reasons of faults not applied the suite's system-out, so CI shows a run whose
/// faults never happened for what it is.
pub fn render(
    test_name: &str,
    guarantees: Guarantees,
    result: &CheckResult,
    faults: &FaultCounts,
    incidents: &[Incident],
) -> Result<String, ReportError> {
    let mut suite = TestSuite::new(format!("samsa.{test_name}"));
    suite.add_property((
        "faults",
        format!("{} of {} planned applied", faults.applied, faults.planned()).as_str(),
    ));
    suite.add_property(("faults_planned", faults.planned().to_string().as_str()));
    suite.add_property(("faults_applied", faults.applied.to_string().as_str()));
    if !faults.skipped.is_empty() {
        let lines: Vec<String> = faults
            .skipped
            .iter()
            .map(|f| format!("{}: {}", f.fault, f.reason))
            .collect();
        suite.set_system_out(lines.join("\n"));
    }
    for (property, name) in PROPERTIES {
        let kinds: Vec<AnomalyKind> = result
            .anomaly_types
            .iter()
            .copied()
            .filter(|k| k.violates() == Some(property))
            .collect();
        let summary = summarize(result, &kinds);
        let status = if !promised(&guarantees, property) {
            let mut s = TestCaseStatus::skipped();
            s.set_message(format!(
                "not promised by this configuration{}",
                if kinds.is_empty() {
                    String::new()
                } else {
                    format!("; found anyway (not counted): {}", headline(result, &kinds))
                }
            ));
            if !kinds.is_empty() {
                s.set_description(summary);
            }
            s
        } else if !kinds.is_empty() {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            s.set_message(headline(result, &kinds));
            s.set_type("anomaly");
            s.set_description(summary);
            s
        } else if result.valid == Validity::Unknown {
            // An unknown verdict judges no property: each promised one is an error (not
            // a pass), with the reasons, so CI never shows green for a run that tested
            // nothing or could not decide.
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
            s.set_message(format!("unknown: {}", result.unknown_reasons.join("; ")));
            s
        } else {
            TestCaseStatus::success()
        };
        let mut case = TestCase::new(name, status);
        case.set_classname(format!("samsa.{test_name}"));
        suite.add_test_case(case);
    }
    for (n, incident) in incidents.iter().enumerate() {
        suite.add_test_case(incident_case(test_name, n + 1, incident));
    }
    let mut report = Report::new("samsa");
    report.add_test_suite(suite);
    report
        .to_string()
        .map_err(|e| ReportError::Junit(e.to_string()))
}

/// `incident-3`: failed with its explanation (type `incident`), its counts and witnesses in
/// the description; skipped when none of its findings counts.
fn incident_case(test_name: &str, n: usize, incident: &Incident) -> TestCase {
    let counts: Vec<String> = incident
        .counts
        .iter()
        .map(|(k, c)| format!("{k}: {c}"))
        .collect();
    let witnesses: Vec<String> = incident
        .witnesses
        .iter()
        .map(|(k, ops)| format!("{k}: ops {ops:?}"))
        .collect();
    let description = format!("{}\nwitnesses: {}", counts.join(", "), witnesses.join("; "));
    let mut status = if incident.counted {
        let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
        s.set_type("incident");
        s.set_message(incident.explanation.as_str());
        s
    } else {
        let mut s = TestCaseStatus::skipped();
        s.set_message(format!("not counted: {}", incident.explanation));
        s
    };
    status.set_description(description);
    let mut case = TestCase::new(format!("incident-{n}"), status);
    case.set_classname(format!("samsa.{test_name}.incidents"));
    case
}

/// `lost-write: 2, duplicate: 1`.
fn headline(result: &CheckResult, kinds: &[AnomalyKind]) -> String {
    kinds
        .iter()
        .map(|k| {
            let n = result.anomalies.get(k.name()).map_or(0, Vec::len);
            format!("{}: {n}", k.name())
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Every listed finding's explanation and witness, a few per type.
fn summarize(result: &CheckResult, kinds: &[AnomalyKind]) -> String {
    let mut out = String::new();
    for k in kinds {
        let findings = result
            .anomalies
            .get(k.name())
            .map_or(&[][..], Vec::as_slice);
        for f in findings.iter().take(FINDINGS_LISTED_MAX) {
            out.push_str(&format!(
                "{}: {} [ops {:?}]\n",
                k.name(),
                f.explanation,
                f.ops
            ));
        }
        if findings.len() > FINDINGS_LISTED_MAX {
            out.push_str(&format!(
                "{}: {} more (see report.html)\n",
                k.name(),
                findings.len() - FINDINGS_LISTED_MAX
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::faults::SkippedFault;

    // Goal: junit.xml carries the planned/applied fault counts and the reason a fault was
    // not applied (method: render an empty valid result with one applied, one skipped).
    #[test]
    fn fault_counts_are_suite_properties() {
        let result = checker::check::check(
            &checker::history::model::History::default(),
            &checker::check::CheckOptions::default(),
        );
        let counts = FaultCounts {
            applied: 1,
            skipped: vec![SkippedFault {
                time: 5,
                fault: "kill:leaders".into(),
                reason: "not applied: no current leader is known".into(),
            }],
        };
        let xml = render("queue", Guarantees::default(), &result, &counts, &[]).unwrap();
        assert!(
            xml.contains(r#"name="faults" value="1 of 2 planned applied""#),
            "{xml}"
        );
        assert!(
            xml.contains("kill:leaders: not applied: no current leader is known"),
            "{xml}"
        );
    }

    // Goal: each incident is its own test case: failed with its explanation when it
    // counts, skipped when it does not (method: render one of each).
    #[test]
    fn one_case_per_incident() {
        let result = checker::check::check(
            &checker::history::model::History::default(),
            &checker::check::CheckOptions::default(),
        );
        let incident = |counted: bool, explanation: &str| {
            crate::incidents::testing::lost_write_incident(counted, Vec::new(), explanation)
        };
        let incidents = [
            incident(true, "two leaders"),
            incident(false, "acks=1 loss"),
        ];
        let xml = render(
            "queue",
            Guarantees::default(),
            &result,
            &FaultCounts::default(),
            &incidents,
        )
        .unwrap();
        assert!(xml.contains(r#"name="incident-1""#), "{xml}");
        assert!(
            xml.contains(r#"message="two leaders" type="incident""#),
            "{xml}"
        );
        assert!(
            xml.contains(r#"message="not counted: acks=1 loss""#),
            "{xml}"
        );
        assert!(xml.contains("lost-write: ops [4, 9]"), "{xml}");
    }
}
