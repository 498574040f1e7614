//! `--set key.path=value` overrides of a config's TOML tree, before it is parsed into a spec.

/// A `--set` that cannot be applied: the assignment as given, and what is wrong with it.
#[derive(Debug, thiserror::Error)]
#[error("--set {assignment}: {problem}")]
pub struct OverrideError {
    pub assignment: String,
    pub problem: String,
}

/// Apply `key.path=value` to a TOML tree. The value is parsed as TOML (`0.1`, `true`, `"a"`,
/// `[1, 2]`, `{ law = "he" }`), falling back to a bare string (`data.name=mnist`).
/// `model.init=stable:alpha=1.5,sigma=1` (the command-line form of an init spec) also works.
pub fn apply_override(tree: &mut toml::Table, assignment: &str) -> Result<(), OverrideError> {
    let err = |problem: String| OverrideError { assignment: assignment.to_string(), problem };
    let (key, text) = assignment.split_once('=').ok_or_else(|| err("expected key=value".into()))?;
    let path: Vec<&str> = key.trim().split('.').collect();
    let value = parse_value(text.trim(), path.last().copied() == Some("init")).map_err(|e| err(e.to_string()))?;
    let mut table = tree;
    for part in &path[..path.len() - 1] {
        table = table
            .entry(part.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()))
            .as_table_mut()
            .ok_or_else(|| err(format!("`{part}` is not a table")))?;
    }
    table.insert(path[path.len() - 1].to_string(), value);
    Ok(())
}

fn parse_value(text: &str, is_init: bool) -> Result<toml::Value, tailgrad_init::InitError> {
    if is_init && !text.starts_with('{') {
        let spec: tailgrad_init::InitSpec = text.parse()?;
        return Ok(toml::Value::try_from(spec).expect("an InitSpec serializes"));
    }
    Ok(toml::from_str::<toml::Table>(&format!("v = {text}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(text.to_string())))
}
