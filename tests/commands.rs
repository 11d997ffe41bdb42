//! `chat` (the REPL, driven through a pipe) and `status`.

mod support;

use support::{TestEnv, refused_url};
use testkit::scripted_model::{ScriptedServer, fixtures};
use tokio::io::AsyncWriteExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_evolves_plain_text_and_answers_commands() {
    let server = ScriptedServer::start(fixtures::arithmetic_script()).await.unwrap();
    let env = TestEnv::with_ollama(&server.url);
    let mut child = env
        .command(&["chat"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(b"help\nadd 10 and 20\nlist\nauto off\nauto\nshow add\nrun add {\"a\": 2, \"b\": 5}\ntools\ndue\ntest add\nbogus-command-free text\nquit\n")
        .await
        .unwrap();
    drop(stdin);
    let out =
        tokio::time::timeout(std::time::Duration::from_secs(60), child.wait_with_output()).await.unwrap().unwrap();
    let run = support::Run::from(out);
    run.assert_ok();
    assert!(run.stdout.contains("auto on|off"), "help is shown:\n{}", run.all());
    assert!(run.stdout.contains("RESULT: 30"), "plain text evolves:\n{}", run.all());
    assert!(run.stdout.contains("add-"), "list shows the node:\n{}", run.all());
    // `auto` switches the background auto-evolution, as the prototype's /auto did.
    assert!(run.stdout.contains("auto-evolution off"), "{}", run.all());
    assert!(run.stdout.contains("tool(s): configured tools, then verified nodes"), "{}", run.all());
    assert!(run.stdout.contains("0 node(s) due"), "{}", run.all());
    assert!(run.stdout.contains("v1: 4/4 tests pass"), "test works:\n{}", run.all());
    assert!(run.stdout.contains("auto is off"), "{}", run.all());
    assert!(run.stdout.contains("def add(a: int, b: int) -> int:"), "show works:\n{}", run.all());
    assert!(run.stdout.contains("RESULT: 7"), "run works:\n{}", run.all());
    assert!(env.data_path().join("chat_history.txt").exists(), "history is kept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_checks_every_endpoint_and_the_tools() {
    let mut script = fixtures::arithmetic_script();
    script.models = vec!["qwen2.5-coder:1.5b".into(), "qwen2.5-coder:7b".into(), "llama3.2:3b".into()];
    let server = ScriptedServer::start(script).await.unwrap();
    let down = refused_url();
    let env = TestEnv::new();
    env.write_config(&format!(
        "backends:\n  ollama:\n    kind: ollama\n    endpoints: [\"{}\", \"{down}\"]\n",
        server.url
    ));
    let run = env.run(&["status"]).await;
    assert!(
        run.stdout.contains(&format!("ok    ollama     ollama   {}  version 0.0.0-scripted, 3 models", server.url)),
        "{}",
        run.all()
    );
    assert!(run.stdout.contains(&format!("DOWN  ollama     ollama   {down}")), "{}", run.all());
    assert!(run.stdout.contains("generator.fast      qwen2.5-coder:1.5b"), "{}", run.all());
    assert!(run.stdout.contains("model present"), "{}", run.all());
    assert!(run.stdout.contains("model missing (for Ollama: ollama pull nomic-embed-text)"), "{}", run.all());
    assert!(run.stdout.contains("pytest   /"), "{}", run.all());
    assert!(run.stdout.contains("network       on"), "{}", run.all());
    assert!(run.stdout.contains("jail: bubblewrap"), "the jail is named:\n{}", run.all());
    assert!(run.stdout.contains("registry"), "{}", run.all());
    assert_eq!(run.code, 1, "a missing model is a problem:\n{}", run.all());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_that_goes_away_ends_a_command_quietly() {
    // `code-evolver list | head -0`: stdout is a pipe nobody reads. The command ends as SIGPIPE
    // ends a shell tool (status 141), with no panic and no backtrace.
    let env = TestEnv::new();
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    // spawn, not output(): tokio's output() would put a pipe of its own on stdout.
    let child = env.command(&["list"]).stdout(writer).stderr(std::process::Stdio::piped()).spawn().unwrap();
    let out = child.wait_with_output().await.unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(141), "{stderr}");
    assert!(!stderr.contains("panicked") && !stderr.contains("Broken pipe"), "{stderr}");
}
