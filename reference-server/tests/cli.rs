//! The operator subcommands, run as a user would: the real binary on a temp data directory.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn run(dir: &std::path::Path, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_reference-server"))
        .args(args)
        .env("CHATCORE_DATA_DIR", dir)
        .env("CHATCORE_ADMIN_PASSWORD", "admin password for tests")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start reference-server");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn rules_round_trip_and_a_bad_import_changes_nothing() {
    let dir = tempfile::Builder::new()
        .prefix("cli-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap();
    let export = run(dir.path(), &["rules", "export"], "");
    assert!(export.status.success(), "{}", text(&export));
    let rules: serde_json::Value = serde_json::from_slice(&export.stdout).unwrap();
    assert_eq!(
        rules.as_array().map(Vec::len),
        Some(chatcore::default_rules().len()),
        "the default rules"
    );

    let mut edited = rules.clone();
    edited.as_array_mut().unwrap().truncate(3);
    let good = dir.path().join("good.json");
    std::fs::write(&good, edited.to_string()).unwrap();
    let import = run(dir.path(), &["rules", "import", good.to_str().unwrap()], "");
    assert!(import.status.success(), "{}", text(&import));
    assert!(text(&import).contains("imported 3 rules"));

    let mut broken = rules.clone();
    broken[1]["keywords"] = serde_json::json!([]);
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, broken.to_string()).unwrap();
    let refused = run(dir.path(), &["rules", "import", bad.to_str().unwrap()], "");
    assert!(!refused.status.success());
    assert!(
        text(&refused).contains("rule #2"),
        "names the bad rule: {}",
        text(&refused)
    );
    let after = run(dir.path(), &["rules", "export"], "");
    let after: serde_json::Value = serde_json::from_slice(&after.stdout).unwrap();
    assert_eq!(
        after.as_array().map(Vec::len),
        Some(3),
        "the bad import changed nothing"
    );

    let not_json = dir.path().join("notes.txt");
    std::fs::write(&not_json, "not json").unwrap();
    let refused = run(
        dir.path(),
        &["rules", "import", not_json.to_str().unwrap()],
        "",
    );
    assert!(!refused.status.success());
    assert!(text(&refused).contains("is not a rules file"));
}

#[test]
fn create_agent_stats_and_check() {
    let dir = tempfile::Builder::new()
        .prefix("cli-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap();
    let created = run(
        dir.path(),
        &["create-agent", "Maria", "--display-name", "María"],
        "a long password\n",
    );
    assert!(created.status.success(), "{}", text(&created));
    assert!(text(&created).contains("created staff account maria"));
    let again = run(dir.path(), &["create-agent", "maria"], "another password\n");
    assert!(!again.status.success());
    assert!(text(&again).contains("already exists"));
    let short = run(dir.path(), &["create-agent", "bob"], "short\n");
    assert!(!short.status.success());
    let stats = run(dir.path(), &["stats"], "");
    assert!(stats.status.success(), "{}", text(&stats));
    assert!(text(&stats).contains("total_sessions"));
    let check = run(dir.path(), &["check"], "");
    assert!(check.status.success(), "{}", text(&check));
    let help = run(dir.path(), &["--help"], "");
    for setting in [
        "CHAT_TIMEOUT",
        "MAX_MESSAGE_LENGTH",
        "CHAT_BACKEND",
        "CHATCORE_ADMIN_PASSWORD",
    ] {
        assert!(text(&help).contains(setting), "--help explains {setting}");
    }
    let bad = run(dir.path(), &["--chat-timeout", "5"], "");
    assert!(!bad.status.success(), "out-of-range settings are refused");
}

#[test]
fn what_if_replays_a_transcripts_file_against_proposed_rules() {
    let dir = tempfile::Builder::new()
        .prefix("cli-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap();
    let export = run(dir.path(), &["rules", "export"], "");
    let mut rules: serde_json::Value = serde_json::from_slice(&export.stdout).unwrap();
    rules.as_array_mut().unwrap().push(serde_json::json!({
        "intent": "insurance",
        "keywords": ["insurance"],
        "response": "Basic cover is included.",
        "priority": 90,
    }));
    let proposed = dir.path().join("proposed.json");
    std::fs::write(&proposed, rules.to_string()).unwrap();
    let transcripts = dir.path().join("chats.jsonl");
    std::fs::write(
        &transcripts,
        "{\"room\": \"a\", \"text\": \"hello\"}\n{\"room\": \"a\", \"text\": \"Is insurance included?\"}\n{\"room\": \"b\", \"text\": \"asdf\"}\n",
    )
    .unwrap();
    let args = [
        "rules",
        "what-if",
        proposed.to_str().unwrap(),
        "--transcripts",
        transcripts.to_str().unwrap(),
    ];
    let report = run(dir.path(), &args, "");
    assert!(report.status.success(), "{}", text(&report));
    let out = text(&report);
    assert!(
        out.contains("Replayed 3 visitor messages from 2 chats."),
        "{out}"
    );
    assert!(
        out.contains("\"Is insurance included?\": pricing (rule ")
            && out.contains(", \"insurance\") -> insurance (rule "),
        "{out}"
    );
    let json = run(dir.path(), &[&args[..], &["--json"]].concat(), "");
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(json["changed"][0]["after"]["intent"], "insurance");
    assert_eq!(json["fallbacks_before"], 1);

    // From the store (no chats yet) it still answers; a bad transcripts file names its line.
    let empty = run(
        dir.path(),
        &["rules", "what-if", proposed.to_str().unwrap()],
        "",
    );
    assert!(empty.status.success(), "{}", text(&empty));
    assert!(text(&empty).contains("Replayed 0 visitor messages from 0 chats."));
    std::fs::write(&transcripts, "{\"room\": \"a\", \"text\": \"hi\"}\n{oops\n").unwrap();
    let refused = run(dir.path(), &args, "");
    assert!(!refused.status.success());
    assert!(text(&refused).contains("line 2"), "{}", text(&refused));
}
