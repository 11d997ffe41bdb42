//! The ladder's own attempts outvote a case, end to end (CLI binary, scripted Ollama-wire
//! server): attempts of two models that pass every other case and agree on another value there
//! drop it; a value of another shape than the overseer's goes only when their code also passes
//! the new-input cases the overseer then writes.

mod support;

use serde_json::{Value, json};
use support::TestEnv;
use testkit::scripted_model::fixtures;
use testkit::scripted_model::{Script, ScriptedServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attempts_of_two_models_that_fail_only_the_task_case_alike_outvote_it() {
    // "add 30 days to 2024-01-15": the overseer says 2024-02-15, twice, and no consensus is
    // asked. Three attempts of the fast model and one of the powerful one, each in other words,
    // pass every other case and return 2024-02-14 there: the case goes and the last is verified.
    let spec = json!({
        "problem": "Add a number of days to an ISO date.", "requirements": [], "plan": [],
        "function": { "name": "add_days", "parameters": [ { "name": "date", "type": "str" }, { "name": "days", "type": "int" } ], "returns": "str" },
        "task_input": { "date": "2024-01-15", "days": 30 },
        "test_cases": [
            { "name": "task", "input": { "date": "2024-01-15", "days": 30 }, "expected": "2024-02-15", "check": "equals" },
            { "name": "next", "input": { "date": "2024-01-01", "days": 1 }, "expected": "2024-01-02", "check": "equals" },
            { "name": "leap", "input": { "date": "2024-02-28", "days": 1 }, "expected": "2024-02-29", "check": "equals" }
        ],
        "tools": []
    });
    let script = Script::new()
        .on("classify", fixtures::classify("simple_content", "simple"))
        .on("plan", spec)
        .on("review", json!({ "cases": [{ "name": "task", "result": "2024-02-15" }] }))
        .on_seq("code", support::add_days_attempts());
    let server = ScriptedServer::start(script).await.unwrap();
    let env = TestEnv::with_ollama(&server.url);
    let run = env.run(&["evolve", "--json", "add 30 days to the date 2024-01-15"]).await;
    run.assert_ok();
    assert!(
        run.stderr.contains(r#"4 attempts pass every other case and return "2024-02-14" on the task's own case task, not the overseer's "2024-02-15": the case is dropped"#),
        "{}",
        run.all()
    );
    let o = run.outcome();
    assert_eq!(o["oracle"]["dropped"], json!(["task"]), "{}", o["oracle"]);
    assert_eq!(o["attempts"].as_array().unwrap().len(), 5, "4 rungs and the outvoting code: {}", o["attempts"]);
    assert!(o["spec"]["test_cases"].as_array().unwrap().iter().all(|c| c["name"] != "task"));
    assert!(o["code"].as_str().unwrap().contains("end.isoformat()"), "{}", o["code"]);
}

fn one_function_attempts(signature: &str, bodies: &[&str]) -> Vec<Value> {
    bodies.iter().map(|body| fixtures::code(&format!("{signature}\n    {body}\n"))).collect()
}

/// Evolves `task` against the overseer's `spec`, a review that confirms its task case's
/// `task_result`, the overseer's `new_cases` when asked for more, and `attempts` in turn (no
/// consensus asked); the server stays up for its requests.
async fn with_attempts(
    spec: Value,
    task_result: Value,
    new_cases: Value,
    attempts: Vec<Value>,
    task: &str,
) -> (ScriptedServer, support::Run) {
    let script = Script::new()
        .on("classify", fixtures::classify("simple_content", "simple"))
        .on("plan", spec)
        .on("review", json!({ "cases": [{ "name": "task", "result": task_result }] }))
        .on("extend", json!({ "test_cases": new_cases }))
        .on_seq("code", attempts);
    let server = ScriptedServer::start(script).await.unwrap();
    let env = TestEnv::with_ollama(&server.url);
    let run = env.run(&["evolve", "--json", task]).await;
    (server, run)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attempts_that_agree_on_an_answer_of_another_shape_must_pass_new_inputs_and_a_misreading_fails_them() {
    // "mask all but the last 4 digits": four attempts return the last four digits alone and pass
    // the short cases, where nothing is masked. "5678" is no slip from "************5678": the
    // overseer writes cases like the task's (cards of 16 digits), the attempts' code fails them,
    // and the case stands.
    let spec = json!({
        "problem": "Mask all but the last 4 characters of a card number with '*'.", "requirements": [], "plan": [],
        "function": { "name": "mask_card", "parameters": [ { "name": "card", "type": "str" } ], "returns": "str" },
        "task_input": { "card": "1234567812345678" },
        "test_cases": [
            { "name": "task", "input": { "card": "1234567812345678" }, "expected": "************5678", "check": "equals" },
            { "name": "four", "input": { "card": "1234" }, "expected": "1234", "check": "equals" },
            { "name": "two", "input": { "card": "12" }, "expected": "12", "check": "equals" }
        ],
        "tools": []
    });
    let new_cases = json!([
        { "name": "other_card", "input": { "card": "9876543210987654" }, "expected": "************7654", "check": "equals" },
        { "name": "fours", "input": { "card": "1111222233334444" }, "expected": "************4444", "check": "equals" }
    ]);
    let attempts = one_function_attempts(
        "def mask_card(card: str) -> str:",
        &[
            "return card[-4:]",
            "return card[len(card) - 4:] if len(card) > 4 else card",
            "tail = card[-4:]\n    return tail",
            "return ''.join(list(card)[-4:])",
        ],
    );
    let task = "mask all but the last four digits of the card '1234567812345678'";
    let (server, run) = with_attempts(spec, json!("************5678"), new_cases, attempts, task).await;
    assert_ne!(run.code, 0, "code that never masks is not verified:\n{}", run.all());
    assert!(
        run.stderr.contains(r#"return "5678" on the task's own case task, not the overseer's "************5678", an answer of another shape; their code fails 2 of 2 new cases"#),
        "{}",
        run.all()
    );
    assert!(run.stderr.contains("the case stands"), "{}", run.all());
    assert!(!run.stderr.contains("the case is dropped"), "{}", run.all());
    let asked = server.requests_for("extend");
    assert_eq!(asked.len(), 1, "asked once for the case: {}", run.all());
    assert!(asked[0].text.contains(r#"Write cases like: mask_card(card="1234567812345678")"#), "{}", asked[0].text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attempts_that_agree_on_an_answer_of_another_shape_and_pass_new_inputs_outvote_a_garbled_case() {
    // "3725 seconds as H:MM:SS": the overseer echoes the input on the task's case. Four attempts
    // return "1:02:05", pass the other cases and the overseer's new ones: the case goes, and the
    // new cases stay in the spec.
    let spec = json!({
        "problem": "Format a number of seconds as H:MM:SS.", "requirements": [], "plan": [],
        "function": { "name": "format_seconds", "parameters": [ { "name": "seconds", "type": "int" } ], "returns": "str" },
        "task_input": { "seconds": 3725 },
        "test_cases": [
            { "name": "task", "input": { "seconds": 3725 }, "expected": "3725", "check": "equals" },
            { "name": "minute", "input": { "seconds": 60 }, "expected": "0:01:00", "check": "equals" },
            { "name": "zero", "input": { "seconds": 0 }, "expected": "0:00:00", "check": "equals" }
        ],
        "tools": []
    });
    let new_cases = json!([
        { "name": "under_a_minute", "input": { "seconds": 59 }, "expected": "0:00:59", "check": "equals" },
        { "name": "hour", "input": { "seconds": 3600 }, "expected": "1:00:00", "check": "equals" }
    ]);
    let attempts = one_function_attempts(
        "def format_seconds(seconds: int) -> str:",
        &[
            "h, rest = divmod(seconds, 3600)\n    m, s = divmod(rest, 60)\n    return f'{h}:{m:02d}:{s:02d}'",
            "return f'{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}'",
            "m, s = divmod(seconds, 60)\n    h, m = divmod(m, 60)\n    return '%d:%02d:%02d' % (h, m, s)",
            "hours = seconds // 3600\n    minutes = (seconds - hours * 3600) // 60\n    rest = seconds % 60\n    return str(hours) + ':' + str(minutes).zfill(2) + ':' + str(rest).zfill(2)",
        ],
    );
    let (_server, run) =
        with_attempts(spec, json!("3725"), new_cases, attempts, "format 3725 seconds as H:MM:SS").await;
    run.assert_ok();
    assert!(
        run.stderr.contains(
            r#"return "1:02:05" on the task's own case task, not the overseer's "3725": the case is dropped"#
        ),
        "{}",
        run.all()
    );
    let o = run.outcome();
    let names: Vec<&str> =
        o["spec"]["test_cases"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert!(!names.contains(&"task"), "{names:?}");
    assert!(names.contains(&"extra_under_a_minute") && names.contains(&"extra_hour"), "{names:?}");
    assert_eq!(o["result"]["output"]["Ok"], json!("1:02:05"), "{}", o["result"]);
}
