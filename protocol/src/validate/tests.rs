//! Table tests for every validation rule, hostile inputs included.

use std::collections::BTreeMap;

use super::*;
use crate::types::InstallPot;

fn check(name: &str, f: fn(&str) -> Result<(), FieldError>, ok: &[&str], bad: &[&str]) {
    for value in ok {
        assert_eq!(f(value), Ok(()), "{name}: {value:?} should pass");
    }
    for value in bad {
        assert!(f(value).is_err(), "{name}: {value:?} should be refused");
    }
}

#[test]
fn pot_ids() {
    let longest = "a".repeat(64);
    let too_long = "a".repeat(65);
    check(
        "pot_id",
        pot_id,
        &["cowrie-01", "wp_2", "a.b", "A", "...", ".hidden", &longest],
        &[
            "", ".", "..", "../etc", "a/b", "a\\b", "a b", "a\nb", "a\0b", "é", "a:b", "$(id)",
            &too_long,
        ],
    );
}

#[test]
fn honeypot_types() {
    let too_long = "a".repeat(33);
    check(
        "honeypot_type",
        honeypot_type,
        &["cowrie", "honnypotter", "dionaea_2", "x-y", &"a".repeat(32)],
        &[
            "",
            "Cowrie",
            "cow rie",
            "cowrie.ssh",
            "cowrie\n",
            "../x",
            &too_long,
        ],
    );
}

#[test]
fn config_keys() {
    check(
        "config key",
        config_key,
        &["ssh_port", "hostname", "a.b-c", "X9", &"k".repeat(64)],
        &[
            "",
            "a b",
            "a=b",
            "[section]",
            "a\nb",
            "k\u{0}",
            "ключ",
            &"k".repeat(65),
        ],
    );
}

#[test]
fn config_values() {
    let ok = |v: &str| config_value("k", v);
    check(
        "config value",
        ok,
        &[
            "",
            "2222",
            "SSH-2.0-OpenSSH_8.2p1 Ubuntu",
            "a=b; c",
            "ünïcode ☃",
            &"v".repeat(1024),
        ],
        &[
            "a\nb",
            "a\rb",
            "tab\there",
            "x\u{0}",
            "\u{1b}[31m",
            "\u{85}",
            "[evil]",
            "a]",
            "2222\n[other]\nkey = value",
            &"v".repeat(1025),
        ],
    );
    let err = config_value("ssh\nport", "a\nb").unwrap_err();
    assert!(!err.to_string().contains('\n'), "{err}");
    assert!(err.field.starts_with("config.ssh"), "{err}");
}

#[test]
fn git_branches() {
    check(
        "git_branch",
        git_branch,
        &[
            "main",
            "feature/x",
            "v1.2.3",
            "release-2024_01",
            "a/b/c",
            &"b".repeat(100),
        ],
        &[
            "",
            "-b",
            "--upload-pack=evil",
            "a..b",
            "/main",
            "main/",
            "a//b",
            "main.",
            ".hidden",
            "a/.b",
            "x.lock",
            "a b",
            "a~1",
            "a^",
            "a:b",
            "a\nb",
            "@{-1}",
            &"b".repeat(101),
        ],
    );
}

#[test]
fn node_names() {
    check(
        "node_name",
        node_name,
        &["n", "honeypot eu-west #3", "ñodo", &"é".repeat(128)],
        &["", "a\u{7}", "a\tb", "\u{9b}31m", &"x".repeat(129)],
    );
}

fn install(config: &[(&str, &str)], git_url: Option<&str>, branch: Option<&str>) -> Command {
    Command::InstallPot(InstallPot {
        pot_id: "cowrie-01".into(),
        honeypot_type: "cowrie".into(),
        git_url: git_url.map(Into::into),
        git_branch: branch.map(Into::into),
        config: Some(
            config
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
        ),
        auto_start: true,
    })
}

#[test]
fn whole_commands() {
    let allowed = AllowedSources::new(["https://github.com/honeybee-pots/"]).unwrap();
    let none = AllowedSources::none();

    assert_eq!(command(&Command::Restart, &none), Ok(()));
    assert_eq!(command(&Command::DeployPot("c".into()), &none), Ok(()));
    assert!(matches!(
        command(&Command::StopPot("..".into()), &none),
        Err(CommandError::Invalid(_))
    ));
    assert_eq!(
        command(&install(&[("ssh_port", "2222")], None, None), &none),
        Ok(())
    );
    assert!(matches!(
        command(
            &install(&[("banner", "x\n[ssh]\nenabled=false")], None, None),
            &none
        ),
        Err(CommandError::Invalid(_))
    ));
    assert!(matches!(
        command(&install(&[("bad key", "1")], None, None), &none),
        Err(CommandError::Invalid(_))
    ));
    assert!(matches!(
        command(&install(&[], None, Some("-x")), &none),
        Err(CommandError::Invalid(_))
    ));
    let url = "https://github.com/honeybee-pots/cowrie.git";
    assert_eq!(
        command(&install(&[], Some(url), Some("main")), &allowed),
        Ok(())
    );
    assert!(matches!(
        command(&install(&[], Some(url), None), &none),
        Err(CommandError::GitUrl(GitUrlError::NotAllowed { .. }))
    ));
    assert!(matches!(
        command(
            &install(
                &[],
                Some("https://github.com.evil.net/honeybee-pots/x"),
                None
            ),
            &allowed
        ),
        Err(CommandError::GitUrl(GitUrlError::NotAllowed { .. }))
    ));
}
