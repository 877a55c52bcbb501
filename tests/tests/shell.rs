//! The command language of Warden's shell (`user::shell`), tested on the
//! host: words, quotes, variables, redirections, `;`, `&` and comments.

use user::shell::{Command, OutRedirect, parse, split_commands};

fn vars(name: &str) -> Option<String> {
    match name {
        "?" => Some("3".to_string()),
        "1" => Some("first".to_string()),
        _ => None,
    }
}

fn argv(c: &Command) -> Vec<&str> {
    c.argv.iter().map(String::as_str).collect()
}

#[test]
fn words_split_on_blanks() {
    let cmds = parse("  ls   -l /bin ", &vars).unwrap();
    assert_eq!(cmds.len(), 1);
    assert_eq!(argv(&cmds[0]), vec!["ls", "-l", "/bin"]);
}

#[test]
fn semicolons_and_redirections() {
    let cmds = parse("echo hi > /tmp/x; cat /tmp/x", &vars).unwrap();
    assert_eq!(cmds.len(), 2);
    assert_eq!(argv(&cmds[0]), vec!["echo", "hi"]);
    assert_eq!(cmds[0].stdout, Some(OutRedirect { path: "/tmp/x".to_string(), append: false }));
    assert_eq!(argv(&cmds[1]), vec!["cat", "/tmp/x"]);
    let cmds = parse("echo a>>/tmp/y", &vars).unwrap();
    assert_eq!(cmds[0].stdout, Some(OutRedirect { path: "/tmp/y".to_string(), append: true }));
    let cmds = parse("cat < /etc/motd", &vars).unwrap();
    assert_eq!(cmds[0].stdin.as_deref(), Some("/etc/motd"));
}

#[test]
fn quotes_and_variables() {
    let cmds = parse(r#"echo "status $?" '$?' $1 a\ b"#, &vars).unwrap();
    assert_eq!(argv(&cmds[0]), vec!["echo", "status 3", "$?", "first", "a b"]);
    let cmds = parse("echo '>' \";\"", &vars).unwrap();
    assert_eq!(argv(&cmds[0]), vec!["echo", ">", ";"]);
}

#[test]
fn comments_and_blank_lines() {
    assert!(parse("# just a comment", &vars).unwrap().is_empty());
    assert!(parse("   ", &vars).unwrap().is_empty());
    let cmds = parse("echo a # trailing", &vars).unwrap();
    assert_eq!(argv(&cmds[0]), vec!["echo", "a"]);
    let cmds = parse("echo a#b", &vars).unwrap();
    assert_eq!(argv(&cmds[0]), vec!["echo", "a#b"]);
}

/// The texts of a line's parts, `&` marking those run in the background.
fn split(line: &str) -> Vec<String> {
    let parts = split_commands(line).unwrap_or_else(|e| panic!("`{line}`: {e}"));
    parts.iter().map(|p| format!("{}{}", p.text, if p.background { "&" } else { "" })).collect()
}

#[test]
fn lines_split_at_unquoted_semicolons() {
    assert_eq!(split("false; echo $?"), vec!["false", " echo $?"]);
    assert_eq!(split("echo ';' \"a;b\"; ls"), vec!["echo ';' \"a;b\"", " ls"]);
    assert_eq!(split("echo a # b; c"), vec!["echo a "]);
    assert_eq!(split("echo a#b;c"), vec!["echo a#b", "c"]);
    assert!(split("# all comment").is_empty());
    assert!(split(" ; ;").is_empty());
}

#[test]
fn an_ampersand_ends_a_background_command() {
    assert_eq!(split("ticker 400 &"), vec!["ticker 400 &"]);
    assert_eq!(split("ticker 400 & modload -v x.lkm"), vec!["ticker 400 &", " modload -v x.lkm"]);
    assert_eq!(split("a&b&c;d"), vec!["a&", "b&", "c", "d"]);
    assert_eq!(split("sleep 1 & # later & more"), vec!["sleep 1 &"]);
    assert_eq!(split("echo '&' \"a&b\" a\\&b"), vec!["echo '&' \"a&b\" a\\&b"]);
    assert_eq!(split("a &#b"), vec!["a &"]);
}

#[test]
fn an_ampersand_without_a_command_is_an_error() {
    for line in ["&", "  & ls", "a && b", "a; & b"] {
        let e = split_commands(line).unwrap_err();
        assert!(e.contains("near '&'"), "`{line}`: {e}");
    }
}

#[test]
fn errors_are_reported() {
    assert!(parse("echo 'open", &vars).unwrap_err().contains("unterminated"));
    assert!(parse("echo >", &vars).unwrap_err().contains("needs a file name"));
    assert!(parse("> /tmp/x", &vars).unwrap_err().contains("without a command"));
}
