//! The command language of Warden's shell (`user::shell`), tested on the
//! host: words, quotes, variables, redirections, `;` and comments.

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

#[test]
fn lines_split_at_unquoted_semicolons() {
    assert_eq!(split_commands("false; echo $?"), vec!["false", " echo $?"]);
    assert_eq!(split_commands("echo ';' \"a;b\"; ls"), vec!["echo ';' \"a;b\"", " ls"]);
    assert_eq!(split_commands("echo a # b; c"), vec!["echo a "]);
    assert_eq!(split_commands("echo a#b;c"), vec!["echo a#b", "c"]);
    assert!(split_commands("# all comment").is_empty());
    assert!(split_commands(" ; ;").is_empty());
}

#[test]
fn errors_are_reported() {
    assert!(parse("echo 'open", &vars).unwrap_err().contains("unterminated"));
    assert!(parse("echo >", &vars).unwrap_err().contains("needs a file name"));
    assert!(parse("> /tmp/x", &vars).unwrap_err().contains("without a command"));
}
