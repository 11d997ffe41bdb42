//! What a repair is shown, end to end (CLI binary, scripted Ollama-wire server): the failing
//! case with its expected and actual values, and where a wrong result differs from the expected.

mod support;

use serde_json::json;
use support::{REPAIR_LADDER, TestEnv};
use testkit::scripted_model::{Script, ScriptedServer, fixtures};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repair_is_told_where_a_wrong_text_differs_from_the_expected_one() {
    // Every model padded the hours of "H:MM:SS" ("01:02:05"); shown only the two strings, the
    // repairs padded them again.
    let padded = "def format_hms(seconds: int) -> str:\n    h, rest = divmod(seconds, 3600)\n    m, s = divmod(rest, 60)\n    return f'{h:02d}:{m:02d}:{s:02d}'\n";
    let right = "def format_hms(seconds: int) -> str:\n    h, rest = divmod(seconds, 3600)\n    m, s = divmod(rest, 60)\n    return f'{h}:{m:02d}:{s:02d}'\n";
    let spec = json!({
        "problem": "Format seconds as H:MM:SS.", "requirements": [], "plan": [],
        "function": { "name": "format_hms", "parameters": [ { "name": "seconds", "type": "int" } ], "returns": "str" },
        "task_input": { "seconds": 3725 },
        "test_cases": [
            { "name": "task", "input": { "seconds": 3725 }, "expected": "1:02:05", "check": "equals" },
            { "name": "zero", "input": { "seconds": 0 }, "expected": "0:00:00", "check": "equals" },
            { "name": "day", "input": { "seconds": 36000 }, "expected": "10:00:00", "check": "equals" }
        ],
        "tools": []
    });
    let script = Script::new()
        .on("classify", fixtures::classify("simple_content", "simple"))
        .on("plan", spec)
        .on_seq("code", vec![fixtures::code(padded), fixtures::code(right)])
        .on(
            "review",
            json!({ "cases": [
            { "name": "task", "work": "1 h, 2 min, 5 s", "result": "1:02:05" },
            { "name": "zero", "work": "nothing", "result": "0:00:00" }
        ] }),
        );
    let server = ScriptedServer::start(script).await.unwrap();
    let env = TestEnv::with_ollama(&server.url).set("CODE_EVOLVER_PIPELINE__ESCALATION", REPAIR_LADDER);
    let run = env.run(&["evolve", "format 3725 seconds as an 'H:MM:SS' string"]).await;
    run.assert_ok();
    let repair = &server.requests_for("code")[1].text;
    assert!(
        repair.contains(r#"expected "1:02:05", got "01:02:05": the result has an extra "0" at the start"#),
        "{repair}"
    );
    assert!(run.result().unwrap_or_default().contains("1:02:05"), "{}", run.all());
}
