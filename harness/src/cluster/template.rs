//! The tiny template language of broker profiles: `{name}` is replaced by a variable,
//! `{{` and `}}` are literal braces. Unknown names are errors, so a typo in a profile
//! fails at load time instead of starting a misconfigured broker.

use std::collections::BTreeMap;

/// Variable name -> value.
pub type TemplateVars = BTreeMap<&'static str, String>;

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
                    let known: Vec<_> = vars.keys().copied().collect();
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
        TemplateVars::from([("id", "3".to_string()), ("host", "10.0.0.3".to_string())])
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
