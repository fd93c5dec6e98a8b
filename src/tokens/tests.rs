use super::*;

fn temp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

#[test]
fn generated_tokens_are_long_random_and_url_safe() {
    let a = generate_token();
    let b = generate_token();
    assert_ne!(a, b);
    assert_eq!(a.len(), 3 + 43, "{a}");
    assert!(a.starts_with("hb_"));
    assert!(
        a[3..]
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'),
        "{a}"
    );
}

#[test]
fn sha256_is_lowercase_hex_of_the_text() {
    // The well-known digest of "abc".
    assert_eq!(
        sha256_hex("abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}

#[test]
fn round_trip_through_the_file() {
    let dir = temp();
    let path = dir.path().join("tokens.toml");
    let mut file = TokenFile::load(&path).unwrap();
    assert!(file.tokens().is_empty(), "a missing file is an empty set");
    let admin = file.create("ops", Role::Admin).unwrap();
    let reader = file.create("grafana.read-1", Role::Read).unwrap();
    file.save(&path).unwrap();

    let loaded = TokenFile::load(&path).unwrap();
    assert_eq!(loaded, file);
    assert_eq!(loaded.verify(&admin), Some(("ops", Role::Admin)));
    assert_eq!(loaded.verify(&reader), Some(("grafana.read-1", Role::Read)));
    let text = fs::read_to_string(&path).unwrap();
    assert!(!text.contains(&admin) && !text.contains(&reader), "{text}");
    assert!(text.contains(&sha256_hex(&admin)), "{text}");
    let created = &loaded.tokens()[0].created_at;
    assert!(created.ends_with('Z') && created.len() == 20, "{created}");
}

#[test]
fn wrong_tokens_are_refused() {
    let mut file = TokenFile::default();
    let token = file.create("ops", Role::Admin).unwrap();
    assert_eq!(file.verify(""), None);
    assert_eq!(file.verify(&token[..token.len() - 1]), None);
    assert_eq!(file.verify(&format!("{token}x")), None);
    // The stored hash is not a token.
    let hash = file.tokens()[0].sha256.clone();
    assert_eq!(file.verify(&hash), None);
}

#[test]
fn revoked_tokens_are_refused() {
    let dir = temp();
    let path = dir.path().join("tokens.toml");
    let mut file = TokenFile::default();
    let gone = file.create("gone", Role::Admin).unwrap();
    let kept = file.create("kept", Role::Read).unwrap();
    assert!(file.revoke("gone"));
    assert!(!file.revoke("gone"), "already revoked");
    file.save(&path).unwrap();
    let loaded = TokenFile::load(&path).unwrap();
    assert_eq!(loaded.verify(&gone), None);
    assert_eq!(loaded.verify(&kept), Some(("kept", Role::Read)));
}

#[test]
fn names_are_checked_and_unique() {
    let mut file = TokenFile::default();
    for bad in [
        "",
        "has space",
        "slash/",
        "ünï",
        "new\nline",
        &"x".repeat(65),
    ] {
        assert!(
            matches!(
                file.create(bad, Role::Read),
                Err(TokenFileError::BadName(_))
            ),
            "{bad:?}"
        );
    }
    file.create(&"x".repeat(64), Role::Read).unwrap();
    file.create("a", Role::Read).unwrap();
    let again = file.create("a", Role::Admin).unwrap_err();
    assert_eq!(again.to_string(), "a token named \"a\" already exists");
    assert_eq!(file.tokens().len(), 2);
}

#[test]
fn bad_files_name_the_path_and_every_problem_without_quoting_values() {
    let dir = temp();
    let path = dir.path().join("tokens.toml");
    let secret = "hb_thisIsATokenPastedByMistake0000000000000000";
    fs::write(
        &path,
        format!(
            "extra = 1\n\
             [[token]]\nname = \"a\"\nrole = \"root\"\nsha256 = \"{secret}\"\ncreated_at = \"x\"\n\
             [[token]]\nname = \"a b\"\nrole = \"read\"\nsha256 = \"{hash}\"\n\
             [[token]]\nname = \"c\"\nrole = \"read\"\nsha256 = \"{hash}\"\ncreated_at = \"x\"\ncolour = \"{secret}\"\n",
            hash = sha256_hex("t")
        ),
    )
    .unwrap();
    let e = TokenFile::load(&path).unwrap_err().to_string();
    assert_eq!(
        e,
        format!(
            "the tokens file {} is invalid:\n\
             unknown key \"extra\" (entries are [[token]] tables)\n\
             token 1: role must be \"admin\" or \"read\"\n\
             token 1: sha256 must be 64 hex digits (the hash of the token, not the token)\n\
             token 2: created_at is missing\n\
             token 2: the name must be 1 to 64 characters of A-Z, a-z, 0-9, '.', '_', '-'\n\
             token 3: unknown key \"colour\"",
            path.display()
        )
    );
    assert!(!e.contains(secret));
}

#[test]
fn a_file_that_is_not_toml_is_a_clear_error_without_its_content() {
    let dir = temp();
    let path = dir.path().join("tokens.toml");
    let secret = "hb_thisIsATokenPastedByMistake0000000000000000";
    fs::write(&path, format!("[[token]]\nname = \"a\"\n{secret}\n")).unwrap();
    let e = TokenFile::load(&path).unwrap_err().to_string();
    assert!(
        e.starts_with(&format!(
            "the tokens file {} is invalid:\nline 3: ",
            path.display()
        )),
        "{e}"
    );
    assert!(!e.contains(secret), "{e}");
}

#[test]
fn duplicate_names_in_the_file_are_an_error() {
    let dir = temp();
    let path = dir.path().join("tokens.toml");
    let mut file = TokenFile::default();
    file.create("a", Role::Read).unwrap();
    file.save(&path).unwrap();
    let text = fs::read_to_string(&path).unwrap();
    let entry = &text[text.find("[[token]]").unwrap()..];
    fs::write(&path, format!("{text}\n{entry}")).unwrap();
    let e = TokenFile::load(&path).unwrap_err().to_string();
    assert!(e.ends_with("token 2: the name \"a\" is used twice"), "{e}");
}

#[cfg(unix)]
#[test]
fn the_file_is_private_and_its_directory_is_created_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = temp();
    let path = dir.path().join("new").join("deeper").join("tokens.toml");
    let mut file = TokenFile::default();
    file.create("a", Role::Admin).unwrap();
    file.save(&path).unwrap();
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(path.parent().unwrap()), 0o700);
    assert_eq!(mode(&dir.path().join("new")), 0o700);
    // Saving again replaces the file and leaves no temporary file behind.
    file.create("b", Role::Read).unwrap();
    file.save(&path).unwrap();
    assert_eq!(mode(&path), 0o600);
    let names: Vec<_> = fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["tokens.toml"]);
}

#[test]
fn debug_shows_neither_tokens_nor_hashes() {
    let mut file = TokenFile::default();
    let token = file.create("ops", Role::Admin).unwrap();
    let hash = file.tokens()[0].sha256.clone();
    let printed = format!("{file:?} {:?}", file.tokens()[0]);
    assert!(
        printed.contains("ops") && printed.contains("Admin"),
        "{printed}"
    );
    assert!(!printed.contains(&token), "{printed}");
    assert!(!printed.contains(&hash), "{printed}");
    assert!(!printed.contains(&hash[..16]), "{printed}");
}

#[test]
fn roles_parse_and_print() {
    assert_eq!("admin".parse::<Role>(), Ok(Role::Admin));
    assert_eq!("read".parse::<Role>(), Ok(Role::Read));
    assert!("Admin".parse::<Role>().is_err());
    assert_eq!(Role::Read.to_string(), "read");
}
