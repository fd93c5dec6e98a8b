//! Table tests for `git_url` parsing and matching, with look-alike hosts.

use super::*;

fn allowed(sources: &[&str]) -> AllowedSources {
    AllowedSources::new(sources).unwrap_or_else(|e| panic!("{e:?}"))
}

#[test]
fn matching_is_on_parsed_parts() {
    let sources = allowed(&[
        "https://github.com/honeybee-pots/",
        "ssh://git@git.example.org:2222/pots",
        "https://gitlab.example.net",
    ]);
    let admitted = [
        "https://github.com/honeybee-pots/cowrie.git",
        "https://github.com/honeybee-pots/sub/dir/repo",
        "https://GitHub.COM/honeybee-pots/cowrie.git",
        "https://github.com./honeybee-pots/cowrie.git",
        "https://github.com:443/honeybee-pots/cowrie.git",
        "HTTPS://github.com/honeybee-pots/x",
        "ssh://git@git.example.org:2222/pots/x.git",
        "ssh://deploy@git.example.org:2222/pots/x.git",
        "https://gitlab.example.net/anyone/anything",
        "https://gitlab.example.net",
    ];
    for url in admitted {
        assert_eq!(sources.check(url), Ok(()), "{url} should be admitted");
    }
    let refused = [
        // Look-alike hosts.
        "https://github.com.evil.net/honeybee-pots/x",
        "https://evilgithub.com/honeybee-pots/x",
        "https://github.co/honeybee-pots/x",
        "https://evil.net/github.com/honeybee-pots/x",
        "https://gitlab.example.net.attacker.io/x",
        // Path prefix only on whole segments.
        "https://github.com/honeybee-pots-evil/x",
        "https://github.com/honeybee-potsx",
        "https://github.com/other/x",
        "https://github.com/",
        // Other scheme or port.
        "http://github.com/honeybee-pots/x",
        "git://github.com/honeybee-pots/x",
        "https://github.com:8443/honeybee-pots/x",
        "ssh://git@git.example.org/pots/x.git",
        // Not allowed unless listed.
        "file:///srv/pots/x",
    ];
    for url in refused {
        assert!(
            matches!(sources.check(url), Err(GitUrlError::NotAllowed { .. })),
            "{url} should be refused as not allowed, got {:?}",
            sources.check(url)
        );
    }
}

#[test]
fn hostile_urls_do_not_parse() {
    let sources = allowed(&["https://github.com/"]);
    let invalid_urls = [
        "",
        "github.com/honeybee-pots/x",
        "git@github.com:honeybee-pots/x.git",
        "ftp://github.com/x",
        "javascript://github.com/%0aalert(1)",
        "https://user:pass@github.com/x",
        "https://token@github.com/x",
        "https://github.com@evil.net/honeybee-pots/x",
        "https://github.com/a/../../etc/passwd",
        "https://github.com/a/./b",
        "https://github.com/%2e%2e/x",
        "https://github.com/a//b",
        "https://github.com/x?ref=main",
        "https://github.com/x#frag",
        "https://github.com/x y",
        "https://github.com/x\n--upload-pack=touch",
        "https://github.com\\@evil.net/x",
        "https://gіthub.com/x",
        "https://-github.com/x",
        "https://github..com/x",
        "https://github.com:0/x",
        "https://github.com:99999/x",
        "https://github.com:22a/x",
        "https:///x",
        "https://[::1/x",
        "https://github.com/$(id)",
        "file://remote-host/srv/x",
    ];
    for url in invalid_urls {
        assert!(
            matches!(sources.check(url), Err(GitUrlError::Invalid(_))),
            "{url:?} should not parse, got {:?}",
            sources.check(url)
        );
    }
    let long = format!("https://github.com/{}", "a/".repeat(1100));
    assert!(matches!(sources.check(&long), Err(GitUrlError::Invalid(_))));
}

#[test]
fn file_sources_only_when_listed() {
    let sources = allowed(&["file:///srv/pots"]);
    assert_eq!(sources.check("file:///srv/pots/cowrie"), Ok(()));
    assert_eq!(sources.check("file://localhost/srv/pots/cowrie"), Ok(()));
    assert!(sources.check("file:///srv/potsevil/x").is_err());
    assert!(sources.check("file:///etc/passwd").is_err());
    assert!(sources.check("https://srv/pots/x").is_err());
}

#[test]
fn ip_hosts() {
    let sources = allowed(&["https://[2001:db8::1]/pots", "http://192.0.2.10:8080/"]);
    assert_eq!(sources.check("https://[2001:DB8::1]/pots/x"), Ok(()));
    assert_eq!(sources.check("http://192.0.2.10:8080/any"), Ok(()));
    assert!(sources.check("http://192.0.2.10/any").is_err());
    assert!(sources.check("https://[2001:db8::2]/pots/x").is_err());
}

#[test]
fn bad_sources_are_all_named() {
    let errors = AllowedSources::new(["https://ok.example/", "nope", "ftp://x/"]).unwrap_err();
    let indexes: Vec<usize> = errors.iter().map(|(i, _)| *i).collect();
    assert_eq!(indexes, [1, 2]);
}

#[test]
fn empty_list_refuses_every_url() {
    let none = AllowedSources::none();
    assert!(matches!(
        none.check("https://github.com/honeybee-pots/x"),
        Err(GitUrlError::NotAllowed { .. })
    ));
}
