use std::collections::BTreeMap;

use honeybee_actors::policy::{DesiredPot, FileNode, RestartPolicy};
use honeybee_protocol::AllowedSources;

use super::{FleetFile, FleetFileError, load, parse};

fn allowed() -> AllowedSources {
    AllowedSources::new(["https://github.com/example"]).expect("valid source")
}

fn problems(text: &str) -> Vec<String> {
    match parse(text, &allowed()) {
        Ok(fleet) => panic!("expected problems, parsed {fleet:?}"),
        Err(problems) => problems,
    }
}

fn config(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn node(pots: Vec<(&str, DesiredPot)>) -> FileNode {
    FileNode {
        pots: pots
            .into_iter()
            .map(|(id, pot)| (id.to_owned(), pot))
            .collect(),
    }
}

#[test]
fn the_example_file_parses() {
    let text = include_str!("../../conf/fleet.example.toml");
    // As shipped, under the default pots.allowed_sources (empty: no git_url at all).
    let fleet = parse(text, &AllowedSources::none()).expect("the example is valid");
    let cowrie = DesiredPot {
        pot_type: "cowrie".into(),
        config: config(&[("hostname", "srv04"), ("port", "2222")]),
        restart: Some(RestartPolicy::Always),
        git_url: None,
        git_branch: None,
    };
    let expected = FleetFile {
        by_name: BTreeMap::from([
            (
                "edge-fra-1".to_owned(),
                node(vec![
                    ("cowrie-01", cowrie),
                    ("web-01", DesiredPot::of_type("honnypotter")),
                ]),
            ),
            ("decommissioned-1".to_owned(), node(vec![])),
        ]),
        by_id: BTreeMap::from([(
            11_364_728_073_201_639_405,
            node(vec![(
                "web-01",
                DesiredPot {
                    config: config(&[("listen_port", "8080"), ("tls", "false")]),
                    restart: Some(RestartPolicy::OnFailure),
                    ..DesiredPot::of_type("honnypotter")
                },
            )]),
        )]),
    };
    assert_eq!(fleet, expected);
}

#[test]
fn an_empty_file_lists_no_node() {
    assert_eq!(parse("", &allowed()), Ok(FleetFile::default()));
    assert_eq!(parse("[nodes]", &allowed()), Ok(FleetFile::default()));
}

#[test]
fn values_become_strings() {
    let text = r#"
[nodes.n1.pots.p1]
type = "cowrie"
[nodes.n1.pots.p1.config]
s = "text"
i = -12
f = 1.5
t = true
e = ""
"#;
    let fleet = parse(text, &AllowedSources::none()).expect("valid");
    assert_eq!(
        fleet.by_name["n1"].pots["p1"].config,
        config(&[
            ("s", "text"),
            ("i", "-12"),
            ("f", "1.5"),
            ("t", "true"),
            ("e", "")
        ])
    );
}

/// Each kind of problem, alone, with its exact message.
#[test]
fn each_problem_with_its_path() {
    let long_restart = format!(
        "nodes.n1.pots.p1.restart: must be \"always\", \"on-failure\", \"never\", got \"{}\"...",
        "x".repeat(80)
    );
    let pot = "[nodes.n1.pots.p1]\ntype = \"cowrie\"\n";
    let table: Vec<(&str, String, &str)> = vec![
        (
            "unknown top-level key",
            "colour = 1\n".into(),
            "colour: unknown key (the file holds [nodes.<name or id>.pots.<pot_id>] tables)",
        ),
        (
            "nodes not a table",
            "nodes = 1\n".into(),
            "nodes: must be a table, got an integer",
        ),
        (
            "unknown node key",
            "[nodes.n1]\npot = {}\n".into(),
            "nodes.n1.pot: unknown key (a node has only pots)",
        ),
        (
            "pots not a table",
            "[nodes.n1]\npots = []\n".into(),
            "nodes.n1.pots: must be a table, got an array",
        ),
        (
            "a pot not a table",
            "[nodes.n1.pots]\np1 = \"cowrie\"\n".into(),
            "nodes.n1.pots.p1: must be a table, got a string",
        ),
        (
            "node id too large",
            "[nodes.\"18446744073709551616\"]\n".into(),
            "nodes.18446744073709551616: a node id must be at most 18446744073709551615",
        ),
        (
            "node id listed twice",
            "[nodes.\"7\"]\n[nodes.\"007\"]\n".into(),
            "nodes.7: node id 7 is listed twice",
        ),
        (
            "bad node name",
            "[nodes.\"tab\\there\"]\n".into(),
            "nodes.\"tab\\there\": node name must not contain control characters",
        ),
        (
            "a name quoted on one line, escaped",
            "[nodes.\"a\\nb\\\"\\u001b\"]\n".into(),
            "nodes.\"a\\nb\\\"\\u001B\": node name must not contain control characters",
        ),
        (
            "a long value cut at 80 characters",
            format!("{pot}restart = \"{}\"\n", "x".repeat(81)),
            &long_restart,
        ),
        (
            "bad pot id",
            "[nodes.n1.pots.\"a/b\"]\ntype = \"cowrie\"\n".into(),
            "nodes.n1.pots.\"a/b\": pot_id has the character '/'; only A-Z a-z 0-9 . _ - are allowed",
        ),
        (
            "pot id ..",
            "[nodes.n1.pots.\"..\"]\ntype = \"cowrie\"\n".into(),
            "nodes.n1.pots.\"..\": pot_id must not be \".\" or \"..\"",
        ),
        (
            "unknown pot key",
            format!("{pot}honeypot_type = \"cowrie\"\n"),
            "nodes.n1.pots.p1.honeypot_type: unknown key (a pot has type, restart, git_url, git_branch, config)",
        ),
        (
            "missing type",
            "[nodes.n1.pots.p1]\nrestart = \"never\"\n".into(),
            "nodes.n1.pots.p1.type: missing (the pot's honeypot type)",
        ),
        (
            "type not a string",
            "[nodes.n1.pots.p1]\ntype = 3\n".into(),
            "nodes.n1.pots.p1.type: must be a string, got an integer",
        ),
        (
            "bad type",
            "[nodes.n1.pots.p1]\ntype = \"Cowrie\"\n".into(),
            "nodes.n1.pots.p1.type: has the character 'C'; only a-z 0-9 _ - are allowed",
        ),
        (
            "bad restart",
            format!("{pot}restart = \"sometimes\"\n"),
            "nodes.n1.pots.p1.restart: must be \"always\", \"on-failure\", \"never\", got \"sometimes\"",
        ),
        (
            "restart not a string",
            format!("{pot}restart = true\n"),
            "nodes.n1.pots.p1.restart: must be a string, got a boolean",
        ),
        (
            "git_url outside the allowed sources",
            format!("{pot}git_url = \"https://github.com/evil/pots.git\"\n"),
            "nodes.n1.pots.p1.git_url: https://github.com/evil/pots.git is not under any allowed source (pots.allowed_sources)",
        ),
        (
            "git_url that is not a URL",
            format!("{pot}git_url = \"git@github.com:example/pots.git\"\n"),
            "nodes.n1.pots.p1.git_url: must be scheme://host/path (write scp-like user@host:path as ssh://user@host/path)",
        ),
        (
            "bad git_branch",
            format!("{pot}git_branch = \"-main\"\n"),
            "nodes.n1.pots.p1.git_branch: must not start with '-'",
        ),
        (
            "config not a table",
            format!("{pot}config = \"port=22\"\n"),
            "nodes.n1.pots.p1.config: must be a table, got a string",
        ),
        (
            "nested config value",
            format!("{pot}[nodes.n1.pots.p1.config.ssh]\nport = 22\n"),
            "nodes.n1.pots.p1.config.ssh: must be a string, a number or a boolean, got a table",
        ),
        (
            "config value array",
            format!("{pot}config = {{ ports = [22, 23] }}\n"),
            "nodes.n1.pots.p1.config.ports: must be a string, a number or a boolean, got an array",
        ),
        (
            "config value date-time",
            format!("{pot}config = {{ since = 2025-01-01 }}\n"),
            "nodes.n1.pots.p1.config.since: must be a string, a number or a boolean, got a date-time",
        ),
        (
            "bad config key",
            format!("{pot}config = {{ \"a b\" = \"x\" }}\n"),
            "nodes.n1.pots.p1.config.\"a b\": config key has the character ' '; only A-Z a-z 0-9 _ . - are allowed",
        ),
        (
            "config value with a newline",
            format!("{pot}config = {{ banner = \"a\\nb\" }}\n"),
            "nodes.n1.pots.p1.config.banner: must not contain control characters (newlines included)",
        ),
        (
            "config value with a section header",
            format!("{pot}config = {{ banner = \"[x]\" }}\n"),
            "nodes.n1.pots.p1.config.banner: must not contain '[' or ']'",
        ),
        (
            "syntax error",
            "[nodes.n1\ntype = 1\n".into(),
            "line 1: unclosed table, expected `]`",
        ),
    ];
    for (name, text, expected) in table {
        assert_eq!(
            problems(&text),
            vec![expected.to_owned()],
            "{name}:\n{text}"
        );
    }
}

#[test]
fn every_problem_at_once() {
    let text = r#"
colour = "blue"

[nodes."edge-fra-1".pots.cowrie-01]
type = "cowrie"
restart = "sometimes"
git_url = "https://gitlab.com/example/pots.git"
[nodes."edge-fra-1".pots.cowrie-01.config]
hostname = "srv04"
nested = { a = 1 }

[nodes."edge-fra-1".pots."bad id!"]
flavour = "x"

[nodes."99999999999999999999".pots.ok]
type = "cowrie"
"#;
    assert_eq!(
        problems(text),
        vec![
            "colour: unknown key (the file holds [nodes.<name or id>.pots.<pot_id>] tables)",
            "nodes.99999999999999999999: a node id must be at most 18446744073709551615",
            "nodes.edge-fra-1.pots.\"bad id!\": pot_id has the character ' '; only A-Z a-z 0-9 . _ - are allowed",
            "nodes.edge-fra-1.pots.\"bad id!\".flavour: unknown key (a pot has type, restart, git_url, git_branch, config)",
            "nodes.edge-fra-1.pots.\"bad id!\".type: missing (the pot's honeypot type)",
            "nodes.edge-fra-1.pots.cowrie-01.config.nested: must be a string, a number or a boolean, got a table",
            "nodes.edge-fra-1.pots.cowrie-01.git_url: https://gitlab.com/example/pots.git is not under any allowed source (pots.allowed_sources)",
            "nodes.edge-fra-1.pots.cowrie-01.restart: must be \"always\", \"on-failure\", \"never\", got \"sometimes\"",
        ]
    );
}

#[test]
fn no_allowed_sources_refuses_every_git_url() {
    let text = "[nodes.n1.pots.p1]\ntype = \"cowrie\"\ngit_url = \"https://github.com/example/pots.git\"\n";
    assert_eq!(
        parse(text, &AllowedSources::none()),
        Err(vec![
            "nodes.n1.pots.p1.git_url: https://github.com/example/pots.git is not under any allowed source (pots.allowed_sources)"
                .to_owned()
        ])
    );
    assert!(parse(text, &allowed()).is_ok());
}

#[test]
fn for_node_prefers_ids_then_names() {
    let text = r#"
[nodes."1".pots.by-id-1]
type = "a"
[nodes."2".pots.by-id-2]
type = "b"
[nodes.edge.pots.by-name]
type = "c"
"#;
    let fleet = parse(text, &AllowedSources::none()).expect("valid");
    let pot_of = |id: u64, previous: &[u64], name: &str| {
        fleet
            .for_node(id, previous, name)
            .map(|node| node.pots.keys().cloned().collect::<Vec<_>>().join(","))
    };
    let table: &[(u64, &[u64], &str, Option<&str>)] = &[
        (1, &[], "edge", Some("by-id-1")),
        (2, &[1], "edge", Some("by-id-2")),
        (9, &[2, 1], "edge", Some("by-id-2")),
        (9, &[8], "edge", Some("by-name")),
        (9, &[], "other", None),
        (9, &[], "", None),
    ];
    for &(id, previous, name, expected) in table {
        assert_eq!(
            pot_of(id, previous, name).as_deref(),
            expected,
            "for_node({id}, {previous:?}, {name:?})"
        );
    }
}

#[test]
fn load_reads_and_names_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("missing.toml");
    match load(&missing, &allowed()) {
        Err(e @ FleetFileError::Read { .. }) => {
            assert!(
                e.to_string().starts_with(&format!(
                    "cannot read the fleet file {}: ",
                    missing.display()
                )),
                "{e}"
            );
        }
        other => panic!("expected a read error, got {other:?}"),
    }

    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[nodes.n1.pots.p1]\nrestart = \"x\"\n").expect("write");
    let e = load(&bad, &allowed()).expect_err("invalid");
    assert_eq!(
        e.to_string(),
        format!(
            "invalid fleet file {}:\n\
             nodes.n1.pots.p1.restart: must be \"always\", \"on-failure\", \"never\", got \"x\"\n\
             nodes.n1.pots.p1.type: missing (the pot's honeypot type)",
            bad.display()
        )
    );

    let good = dir.path().join("fleet.toml");
    std::fs::write(&good, "[nodes.n1.pots.p1]\ntype = \"cowrie\"\n").expect("write");
    let fleet = load(&good, &allowed()).expect("valid");
    assert_eq!(
        fleet.by_name["n1"].pots["p1"],
        DesiredPot::of_type("cowrie")
    );
}
