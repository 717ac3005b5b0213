//! The tiny template language of broker profiles: `{name}` is replaced by a variable,
//! `{{` and `}}` are literal braces. Unknown names are errors, so a typo in a profile
//! fails at load time instead of starting a misconfigured broker.

use std::collections::BTreeMap;

/// Variable name -> value (names such as `node_id`, or `service:storage`).
pub type TemplateVars = BTreeMap<String, String>;

/// Template variables from name/value pairs.
pub fn vars_of<const N: usize>(pairs: [(&str, String); N]) -> TemplateVars {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// Render `template` with `vars`.
pub fn render(template: &str, vars: &TemplateVars) -> Result<String, String> {
    let mut out = String::with_capacity(template.len());
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                out.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                out.push('}');
            }
            '{' => {
                let mut name = String::new();
                loop {
                    match chars.next() {
                        Some('}') => break,
                        Some(ch) => name.push(ch),
                        None => return Err(format!("unclosed {{ in {template:?}")),
                    }
                }
                let value = vars.get(name.as_str()).ok_or_else(|| {
                    let known: Vec<&str> = vars.keys().map(String::as_str).collect();
                    format!(
                        "unknown placeholder {{{name}}}; known: {}",
                        known.join(", ")
                    )
                })?;
                out.push_str(value);
            }
            '}' => return Err(format!("unmatched }} in {template:?}")),
            other => out.push(other),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> TemplateVars {
        vars_of([("id", "3".to_string()), ("host", "10.0.0.3".to_string())])
    }

    // Placeholders are replaced, doubled braces are literal.
    #[test]
    fn renders_placeholders_and_escapes() {
        assert_eq!(
            render("{id}@{host}:9093", &vars()).unwrap(),
            "3@10.0.0.3:9093"
        );
        assert_eq!(render("{{\"a\": {id}}}", &vars()).unwrap(), "{\"a\": 3}");
        assert_eq!(render("plain", &vars()).unwrap(), "plain");
    }

    // Unknown names and unbalanced braces are errors naming the problem.
    #[test]
    fn rejects_bad_templates() {
        assert!(render("{nope}", &vars()).unwrap_err().contains("nope"));
        assert!(render("{id", &vars()).unwrap_err().contains("unclosed"));
        assert!(render("id}", &vars()).unwrap_err().contains("unmatched"));
    }
}
