//! Which keys of two run configs differ: what a resumed run, or a later command on a study, may
//! change (where it runs and reads) and what it may not (what it trains).

use tailgrad_train::RunSpec;

/// The keys that may differ between the commands that train one run or one study: where it runs
/// and reads, not what it trains.
pub const RESUMABLE_KEYS: [&str; 3] = ["backend", "data.dir", "log.console"];

/// The dotted keys whose values differ between two TOML tables.
pub fn changed_keys(a: &toml::Table, b: &toml::Table, prefix: &str) -> Vec<String> {
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .flat_map(|k| {
            let path = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
            match (a.get(k), b.get(k)) {
                (Some(toml::Value::Table(x)), Some(toml::Value::Table(y))) => changed_keys(x, y, &path),
                (x, y) if x == y => vec![],
                _ => vec![path],
            }
        })
        .collect()
}

/// The keys outside [`RESUMABLE_KEYS`] whose values differ between `was` and `now`, each as
/// "`PREFIXkey` = NOW (was WAS)" for a message.
pub fn training_differences(was: &RunSpec, now: &RunSpec, prefix: &str) -> Vec<String> {
    let table = |s: &RunSpec| -> toml::Table { toml::from_str(&s.to_toml()).expect("a RunSpec's TOML parses") };
    let (a, b) = (table(was), table(now));
    changed_keys(&a, &b, "")
        .into_iter()
        .filter(|k| !RESUMABLE_KEYS.contains(&k.as_str()))
        .map(|k| format!("`{prefix}{k}` = {} (was {})", show(lookup(&b, &k)), show(lookup(&a, &k))))
        .collect()
}

fn lookup<'a>(t: &'a toml::Table, key: &str) -> Option<&'a toml::Value> {
    let mut parts = key.split('.');
    let mut v = t.get(parts.next()?)?;
    for p in parts {
        v = v.as_table()?.get(p)?;
    }
    Some(v)
}

fn show(v: Option<&toml::Value>) -> String {
    v.map_or_else(|| "unset".to_string(), |v| v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changed_keys_are_dotted_paths() {
        let a: toml::Table = toml::from_str("x = 1\n[train]\nlr = 0.1\nepochs = 2\n[data]\nname = \"mnist\"").unwrap();
        let b: toml::Table = toml::from_str("x = 1\n[train]\nlr = 0.2\nepochs = 2\n[data]\nname = \"mnist\"\ndir = \"d\"").unwrap();
        assert_eq!(changed_keys(&a, &b, ""), ["data.dir", "train.lr"]);
    }

    #[test]
    fn differences_name_the_key_and_both_values_and_skip_where_it_runs() {
        let file = tailgrad_testkit::repo_root().join("experiments/mnist_single_run.toml");
        let was = RunSpec::from_file(&file, &[]).unwrap();
        let now = RunSpec::from_file(&file, &["train.lr=0.05".into(), "backend=\"cpu\"".into(), "data.dir=\"/elsewhere\"".into()]).unwrap();
        assert_eq!(training_differences(&was, &now, "run."), ["`run.train.lr` = 0.05 (was 0.01)"]);
        assert!(training_differences(&was, &was, "").is_empty());
    }
}
