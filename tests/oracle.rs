//! The oracle end to end (CLI binary, scripted Ollama-wire server): the mutation score of the final
//! tests and their extension when too weak; the consensus of independent implementations that
//! corrects or drops a wrong expected value instead of failing right code.

mod support;

use serde_json::{Value, json};
use support::{TestEnv, base_config};
use testkit::scripted_model::fixtures::{self, ADD};
use testkit::scripted_model::{Script, ScriptedServer};

fn env_with(url: &str, consensus: bool, extend: bool) -> TestEnv {
    let env = TestEnv::new();
    let mut config = base_config("ollama", &format!("url: \"{url}\""));
    if consensus {
        config = config.replace("samples: 0", "samples: 3");
    }
    if extend {
        config = config.replace("extend: false", "extend: true");
    }
    env.write_config(&config);
    env
}

const IS_ADULT: &str = "def is_adult(age: int) -> bool:\n    return age >= 18\n";

fn adult_spec() -> Value {
    json!({
        "problem": "Whether a person of this age is an adult (18 or older).",
        "requirements": [], "plan": ["compare with 18"],
        "function": { "name": "is_adult", "parameters": [ { "name": "age", "type": "int" } ], "returns": "bool" },
        "task_input": { "age": 30 },
        "test_cases": [
            { "name": "task", "input": { "age": 30 }, "expected": true, "check": "equals" },
            { "name": "child", "input": { "age": 5 }, "expected": false, "check": "equals" },
            { "name": "old", "input": { "age": 70 }, "expected": true, "check": "equals" }
        ],
        "tools": []
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weak_tests_are_measured_by_mutants_and_extended_from_the_problem() {
    // 30, 5 and 70 never test the boundary: `>=` -> `>` and 18 -> 19 survive.
    let script = Script::new()
        .on("classify", fixtures::classify("arithmetic", "simple"))
        .on("plan", adult_spec())
        .on("code", fixtures::code(IS_ADULT))
        .on(
            "extend",
            json!({ "test_cases": [
                { "name": "exactly_18", "work": "18 >= 18", "input": { "age": 18 }, "expected": true, "check": "equals" },
                { "name": "just_below", "work": "17 < 18", "input": { "age": 17 }, "expected": false, "check": "equals" },
                { "name": "repeat", "input": { "age": 5 }, "expected": false, "check": "equals" },
                { "name": "bad_param", "input": { "years": 3 }, "expected": false, "check": "equals" }
            ]}),
        );
    let server = ScriptedServer::start(script).await.unwrap();
    let env = env_with(&server.url, false, true);
    let run = env.run(&["evolve", "--json", "is a person aged 30 an adult"]).await;
    run.assert_ok();
    let o = run.outcome();
    let m = &o["mutation"];
    assert_eq!(m["score_before"], json!(0.0), "no mutant was killed by the overseer's first cases: {m}");
    assert_eq!(m["cases_added"], 2, "the repeated input and the bad parameter are not added: {m}");
    assert_eq!(m["score"], json!(1.0), "the boundary cases kill every mutant: {m}");
    assert!(m["mutants"].as_u64().unwrap() >= 2, "{m}");
    let names: Vec<&str> =
        o["spec"]["test_cases"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"extra_exactly_18") && names.contains(&"extra_just_below"), "{names:?}");
    assert_eq!(o["report"]["total"].as_u64().unwrap(), 6, "5 cases and the node contract: {}", o["report"]);
    // The overseer wrote the new cases from the problem: it never saw the code.
    let asked = &server.requests_for("extend")[0].text;
    assert!(asked.contains("is_adult(age=5)") && !asked.contains("age >= 18"), "{asked}");

    // The score is kept with the version and shown.
    let id = o["node_id"].as_str().unwrap();
    let show = env.run(&["show", id]).await;
    show.assert_ok();
    assert!(show.stdout.contains("kill 100% of mutants"), "{}", show.all());
    assert!(
        show.stdout.contains("mutation score 1.00 (") && show.stdout.contains("0.00 before 2 added case(s)"),
        "{}",
        show.all()
    );
    let json_show = env.run(&["show", id, "--json"]).await;
    assert!(json_show.stdout.contains("\"mutation_score\": 1.0"), "{}", json_show.all());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_case_the_code_fails_is_not_added_without_a_consensus() {
    // The code is wrong at the boundary (> instead of >=); the extension's boundary case says so,
    // and with consensus off nobody can tell which is right: the case is not added, and said.
    let wrong = "def is_adult(age: int) -> bool:\n    return age > 18\n";
    let script = Script::new()
        .on("classify", fixtures::classify("arithmetic", "simple"))
        .on("plan", adult_spec())
        .on("code", fixtures::code(wrong))
        .on(
            "extend",
            json!({ "test_cases": [
                { "name": "exactly_18", "input": { "age": 18 }, "expected": true, "check": "equals" }
            ]}),
        );
    let server = ScriptedServer::start(script).await.unwrap();
    let env = env_with(&server.url, false, true);
    let run = env.run(&["evolve", "is a person aged 30 an adult"]).await;
    run.assert_ok();
    assert!(
        run.stdout.contains("case extra_exactly_18 not added: the code and the overseer disagree"),
        "{}",
        run.all()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_boundary_case_with_a_consensus_replaces_code_that_is_wrong_there() {
    // As above, but consensus is on: three fresh implementations write `>=`, agree with the
    // overseer's new case, and one of them replaces the wrong code.
    let wrong = "def is_adult(age: int) -> bool:\n    return age > 18\n";
    let script = Script::new()
        .on("classify", fixtures::classify("arithmetic", "simple"))
        .on("plan", adult_spec())
        .on("code", json!(null))
        .on(
            "extend",
            json!({ "test_cases": [
                { "name": "exactly_18", "input": { "age": 18 }, "expected": true, "check": "equals" }
            ]}),
        );
    let mut script = script;
    script.rules.retain(|r| r.stage.as_deref() != Some("code"));
    let script = script.on_seq("code", vec![fixtures::code(wrong), fixtures::code(IS_ADULT)]);
    let server = ScriptedServer::start(script).await.unwrap();
    let env = env_with(&server.url, true, true);
    let run = env.run(&["evolve", "--json", "is a person aged 30 an adult"]).await;
    run.assert_ok();
    let o = run.outcome();
    assert!(o["code"].as_str().unwrap().contains("age >= 18"), "the consensus code is kept: {}", o["code"]);
    assert_eq!(o["oracle"]["confirmed"], true, "{}", o["oracle"]);
    assert_eq!(o["oracle"]["agreeing"], 3, "{}", o["oracle"]);
    // The samples were written without the overseer's expected values.
    let samples = server.requests_for("code");
    assert_eq!(samples.len(), 4, "the first attempt and three consensus samples");
    for s in &samples[1..] {
        assert!(!s.text.contains("is_adult(age=18)"), "{}", s.text);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consensus_corrects_a_wrong_expected_value_instead_of_failing_right_code() {
    // The overseer expects 17 for 10 + 13; every implementation says 23, and so does the
    // overseer's second derivation: the case is corrected, the first attempt is verified.
    let mut spec = fixtures::add_spec();
    spec["test_cases"][1] = json!({ "name": "teen", "input": { "a": 10, "b": 13 }, "expected": 17, "check": "equals" });
    let script = Script::new()
        .on("classify", fixtures::classify("arithmetic", "simple"))
        .on("plan", spec)
        .on("code", fixtures::code(ADD))
        .on("review", json!({ "cases": [{ "name": "teen", "work": "10 + 13 = 23", "result": 23 }] }));
    let server = ScriptedServer::start(script).await.unwrap();
    let env = env_with(&server.url, true, false);
    let run = env.run(&["evolve", "--json", "add 10 and 20"]).await;
    run.assert_ok();
    let o = run.outcome();
    assert_eq!(o["oracle"]["corrected"], json!(["teen: 17 -> 23"]), "{}", o["oracle"]);
    assert_eq!(o["oracle"]["agreeing"], 4);
    assert_eq!(o["attempts"].as_array().unwrap().len(), 1, "right code is not failed: {}", o["attempts"]);
    let teen = o["spec"]["test_cases"].as_array().unwrap().iter().find(|c| c["name"] == "teen").cloned().unwrap();
    assert_eq!(teen["expected"], 23);
    // The consensus samples never saw the overseer's 17.
    for s in &server.requests_for("code")[1..] {
        assert!(!s.text.contains("17"), "{}", s.text);
    }
    // Each sample is drawn with its own seed: with one seed a hot sampler answers the same prompt
    // the same way, and three copies of one sample would count as three agreeing implementations.
    let seeds: Vec<Value> =
        server.requests_for("code")[1..].iter().map(|s| s.body["options"]["seed"].clone()).collect();
    assert_eq!(seeds.len(), 3);
    assert!(seeds.iter().all(|s| s.is_u64()), "{seeds:?}");
    assert!(seeds[0] != seeds[1] && seeds[1] != seeds[2] && seeds[0] != seeds[2], "{seeds:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consensus_drops_a_case_the_overseer_cannot_confirm() {
    let mut spec = fixtures::add_spec();
    spec["test_cases"][1] = json!({ "name": "teen", "input": { "a": 10, "b": 13 }, "expected": 17, "check": "equals" });
    let script = Script::new()
        .on("classify", fixtures::classify("arithmetic", "simple"))
        .on("plan", spec)
        .on("code", fixtures::code(ADD))
        // An expression that calls the function itself computes nothing: the reckoned 17 stands.
        .on(
            "review",
            json!({ "cases": [{ "name": "teen", "work": "I still think 17", "expression": "add(a, b)", "result": 17 }] }),
        );
    let server = ScriptedServer::start(script).await.unwrap();
    let env = env_with(&server.url, true, false);
    let run = env.run(&["evolve", "--json", "add 10 and 20"]).await;
    run.assert_ok();
    let o = run.outcome();
    assert_eq!(o["oracle"]["dropped"], json!(["teen"]), "{}", o["oracle"]);
    assert_eq!(o["attempts"].as_array().unwrap().len(), 1);
    assert!(o["spec"]["test_cases"].as_array().unwrap().iter().all(|c| c["name"] != "teen"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_overseers_expression_computes_what_its_reckoning_gets_wrong() {
    // The overseer expects 17 for 10 + 13 and 5 for 0 + 0, and reckons both again wrongly; its
    // expression for the first, computed in the sandbox, gives 23 and agrees with the consensus:
    // corrected. The second's expression is a comparison (a bool, not the int the signature
    // returns): the reckoned 5 stands against the consensus and the case goes.
    let mut spec = fixtures::add_spec();
    spec["test_cases"][1] = json!({ "name": "teen", "input": { "a": 10, "b": 13 }, "expected": 17, "check": "equals" });
    spec["test_cases"][2] = json!({ "name": "zeros", "input": { "a": 0, "b": 0 }, "expected": 5, "check": "equals" });
    let script = Script::new()
        .on("classify", fixtures::classify("arithmetic", "simple"))
        .on("plan", spec)
        .on("code", fixtures::code(ADD))
        .on(
            "review",
            json!({ "cases": [
                { "name": "teen", "work": "10 + 13 = 17", "expression": "a + b", "result": 17 },
                { "name": "zeros", "work": "0 + 0 = 5", "expression": "a + b == 0", "result": 5 }
            ] }),
        );
    let server = ScriptedServer::start(script).await.unwrap();
    let env = env_with(&server.url, true, false);
    let run = env.run(&["evolve", "--json", "add 10 and 20"]).await;
    run.assert_ok();
    let o = run.outcome();
    assert_eq!(o["oracle"]["corrected"], json!(["teen: 17 -> 23"]), "{}", o["oracle"]);
    assert_eq!(o["oracle"]["dropped"], json!(["zeros"]), "{}", o["oracle"]);
    assert_eq!(o["attempts"].as_array().unwrap().len(), 1, "right code is not failed: {}", o["attempts"]);
    assert!(run.all().contains("1 of 2 re-derived value(s) computed"), "{}", run.all());
    // The review is asked for the expression by the prompt and the schema.
    let review = &server.requests_for("review")[0];
    assert!(review.text.contains("expression"), "{}", review.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_task_case_the_overseer_derives_again_stands_against_a_wrong_consensus() {
    // Every implementation multiplies (they share a blind spot); the overseer derives the task's
    // 30 again and the negative case's -2 again. The task's own case stays, so multiplying code is
    // never verified; the other case goes, as before; the next attempt adds and passes.
    let mul = |body: &str| fixtures::code(&format!("def add(a: int, b: int) -> int:\n    {body}\n"));
    let script = Script::new()
        .on("classify", fixtures::classify("arithmetic", "simple"))
        .on("plan", fixtures::add_spec())
        .on("review", json!({ "cases": [{ "name": "task", "result": 30 }, { "name": "negative", "result": -2 }] }))
        .on_seq(
            "code",
            vec![
                mul("return a * b"),
                mul("return b * a"),
                mul("product = a * b\n    return product"),
                mul("return a * b * 1"),
                fixtures::code(ADD),
            ],
        );
    let server = ScriptedServer::start(script).await.unwrap();
    let env = env_with(&server.url, true, false);
    let run = env.run(&["evolve", "--json", "add 10 and 20"]).await;
    run.assert_ok();
    let o = run.outcome();
    assert_eq!(o["oracle"]["agreeing"], 4, "{}", o["oracle"]);
    assert_eq!(o["oracle"]["kept"], json!(["task"]), "{}", o["oracle"]);
    assert_eq!(o["oracle"]["dropped"], json!(["negative"]), "{}", o["oracle"]);
    assert_eq!(o["attempts"].as_array().unwrap().len(), 2, "{}", o["attempts"]);
    assert!(o["code"].as_str().unwrap().contains("a + b"), "{}", o["code"]);
    let task = o["spec"]["test_cases"].as_array().unwrap().iter().find(|c| c["name"] == "task").cloned().unwrap();
    assert_eq!(task["expected"], 30);
}

/// The overseer says 31 for 10 + 20, twice; every implementation and every attempt adds.
async fn a_wrong_task_case_against_a_consensus(one_model: bool) -> (support::Run, Value) {
    let mut spec = fixtures::add_spec();
    spec["test_cases"][0]["expected"] = json!(31);
    let script = Script::new()
        .on("classify", fixtures::classify("arithmetic", "simple"))
        .on("plan", spec)
        .on("review", json!({ "cases": [{ "name": "task", "result": 31 }] }))
        .on("code", fixtures::code(ADD));
    let server = ScriptedServer::start(script).await.unwrap();
    let env = env_with(&server.url, true, false);
    if one_model {
        on_one_model(&env);
    }
    let run = env.run(&["evolve", "--json", "add 10 and 20"]).await;
    run.assert_ok();
    assert!(run.stderr.contains("kept task (the overseer derived it again as it was)"), "{}", run.all());
    let o = run.outcome();
    assert_eq!(o["oracle"]["dropped"], json!(["task"]), "{}", o["oracle"]);
    assert!(o["oracle"].get("kept").is_none(), "{}", o["oracle"]);
    assert!(o["spec"]["test_cases"].as_array().unwrap().iter().all(|c| c["name"] != "task"));
    (run, o)
}

/// The prototype-shaped config: every generator rung on one model.
fn on_one_model(env: &TestEnv) {
    let config = std::fs::read_to_string(env.config_path()).unwrap();
    env.write_config(&format!(
        "{config}roles:\n  generator:\n    powerful: {{ backend: ollama, model: \"qwen2.5-coder:1.5b\" }}\n  escalation: {{ backend: ollama, model: \"qwen2.5-coder:1.5b\" }}\n"
    ));
}

/// The overseer is wrong on every case of "add 10 and 20", twice: the consensus drops the two
/// others and the task's 31 is kept, the only case left; every attempt on one model adds. When
/// the ladder ends, the overseer writes `new_cases` like the task's.
async fn a_wrong_only_case_against_a_consensus(new_cases: Value) -> support::Run {
    let mut spec = fixtures::add_spec();
    for (i, wrong) in [31, -3, 1].into_iter().enumerate() {
        spec["test_cases"][i]["expected"] = json!(wrong);
    }
    let review = json!({ "cases": [
        { "name": "task", "result": 31 }, { "name": "negative", "result": -3 }, { "name": "zeros", "result": 1 }
    ] });
    let script = Script::new()
        .on("classify", fixtures::classify("arithmetic", "simple"))
        .on("plan", spec)
        .on("review", review)
        .on("extend", json!({ "test_cases": new_cases }))
        .on("code", fixtures::code(ADD));
    let server = ScriptedServer::start(script).await.unwrap();
    let env = env_with(&server.url, true, false);
    on_one_model(&env);
    let run = env.run(&["evolve", "--json", "add 10 and 20"]).await;
    assert!(run.stderr.contains("kept task (the overseer derived it again as it was)"), "{}", run.all());
    run
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_only_case_goes_when_the_consensus_code_passes_new_cases_and_stands_when_it_fails_them() {
    let new = |sums: [i64; 2]| {
        json!([
            { "name": "small", "input": { "a": 1, "b": 2 }, "expected": sums[0], "check": "equals" },
            { "name": "fives", "input": { "a": 5, "b": 5 }, "expected": sums[1], "check": "equals" }
        ])
    };
    let run = a_wrong_only_case_against_a_consensus(new([3, 10])).await;
    run.assert_ok();
    let o = run.outcome();
    assert_eq!(o["oracle"]["dropped"], json!(["negative", "zeros", "task"]), "{}", o["oracle"]);
    let inputs: Vec<&Value> = o["spec"]["test_cases"].as_array().unwrap().iter().map(|c| &c["input"]).collect();
    assert_eq!(inputs, [&json!({ "a": 1, "b": 2 }), &json!({ "a": 5, "b": 5 })], "{}", o["spec"]);
    assert!(o["code"].as_str().unwrap().contains("a + b"), "{}", o["code"]);

    // New cases as wrong as the first: nothing the code passes is left, and nothing is verified.
    let run = a_wrong_only_case_against_a_consensus(new([4, 11])).await;
    assert_ne!(run.code, 0, "{}", run.all());
    assert!(run.stderr.contains("the task's own case task stands, and it is the only case"), "{}", run.all());
    assert!(run.stderr.contains("no version passed the spec's tests after 8 attempts"), "{}", run.all());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_case_another_model_fails_too_goes_as_the_consensus_said() {
    // The stronger model's first attempt (rung 4) adds too: it breaks the tie.
    let (run, o) = a_wrong_task_case_against_a_consensus(false).await;
    assert!(run.stderr.contains("qwen2.5-coder:7b's code fails the task's own case task"), "{}", run.all());
    assert_eq!(o["attempts"].as_array().unwrap().len(), 5, "4 rungs and the consensus's code: {}", o["attempts"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_one_model_a_task_case_goes_only_when_the_whole_ladder_failed_it() {
    let (run, o) = a_wrong_task_case_against_a_consensus(true).await;
    assert!(run.stderr.contains("every attempt failed the task's own case task"), "{}", run.all());
    assert_eq!(o["attempts"].as_array().unwrap().len(), 9, "8 rungs and the consensus's code: {}", o["attempts"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_consensus_leaves_the_cases_to_the_review_and_a_second_counts_the_failed_attempts() {
    // The first three samples all differ: no group of three, so the review decides (it confirms
    // the wrong 17) and the ladder goes on. Two more attempts compute a + b in other words and
    // fail on 17 too: the second judging counts them, four implementations agree on 23, the
    // overseer's re-derivation says 23, and the case is corrected. Without the failed attempts
    // in the pool only two would agree.
    let mut spec = fixtures::add_spec();
    spec["test_cases"][1] = json!({ "name": "teen", "input": { "a": 10, "b": 13 }, "expected": 17, "check": "equals" });
    let sub = fixtures::code("def add(a: int, b: int) -> int:\n    return a - b\n");
    let mul = fixtures::code("def add(a: int, b: int) -> int:\n    return a * b\n");
    let script = Script::new()
        .on("classify", fixtures::classify("arithmetic", "simple"))
        .on("plan", spec)
        .on_seq(
            "review",
            vec![
                json!({ "cases": [{ "name": "teen", "result": 17 }] }),
                json!({ "cases": [{ "name": "teen", "work": "10 + 13 = 23", "result": 23 }] }),
            ],
        )
        .on_seq(
            "code",
            vec![
                fixtures::code(ADD),
                sub.clone(),
                mul.clone(),
                fixtures::code("def add(a: int, b: int) -> int:\n    return a // b\n"),
                fixtures::code("def add(a: int, b: int) -> int:\n    return b + a\n"),
                fixtures::code("def add(a: int, b: int) -> int:\n    total = a + b\n    return total\n"),
                sub,
                mul,
                fixtures::code(ADD),
            ],
        );
    let server = ScriptedServer::start(script).await.unwrap();
    let env = env_with(&server.url, true, false);
    let run = env.run(&["evolve", "--json", "add 10 and 20"]).await;
    run.assert_ok();
    assert!(
        run.stderr.contains("no consensus (2 of 4 implementations agree at most)")
            || run.stderr.contains("no consensus (1 of 4"),
        "{}",
        run.all()
    );
    let o = run.outcome();
    assert_eq!(o["oracle"]["corrected"], json!(["teen: 17 -> 23"]), "{}", o["oracle"]);
    assert_eq!(o["oracle"]["implementations"], 6, "{}", o["oracle"]);
    assert_eq!(o["oracle"]["agreeing"], 4, "{}", o["oracle"]);
    assert_eq!(o["attempts"].as_array().unwrap().len(), 3, "{}", o["attempts"]);
    assert_eq!(server.requests_for("review").len(), 2, "the review once, the re-derivation once");
}

fn sort_spec(properties: Value) -> Value {
    json!({
        "problem": "Sort a list of numbers in ascending order.",
        "requirements": [], "plan": [],
        "function": { "name": "sort_numbers", "parameters": [ { "name": "xs", "type": "list[int]" } ], "returns": "list[int]" },
        "task_input": { "xs": [3, 1, 2] },
        "test_cases": [
            { "name": "task", "input": { "xs": [3, 1, 2] }, "expected": [1, 2, 3], "check": "equals" },
            { "name": "one", "input": { "xs": [5] }, "expected": [5], "check": "equals" },
            { "name": "pair", "input": { "xs": [2, 1] }, "expected": [1, 2], "check": "equals" }
        ],
        "tools": [],
        "properties": properties
    })
}

/// The spec's properties are checked on generated inputs (duplicates among them), with no
/// expected value to get wrong: code that passes every written case but loses duplicates is
/// failed there, and the next attempt is verified.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn properties_on_generated_inputs_fail_code_the_written_cases_let_through() {
    let loses_duplicates = "def sort_numbers(xs):\n    return sorted(set(xs))\n";
    let right = "def sort_numbers(xs):\n    return sorted(xs)\n";
    let script = Script::new()
        .on("classify", fixtures::classify("algorithm", "simple"))
        .on("plan", sort_spec(json!(["sorted", "same_elements"])))
        .on_seq("code", vec![fixtures::code(loses_duplicates), fixtures::code(right)]);
    let server = ScriptedServer::start(script).await.unwrap();
    let env = env_with(&server.url, false, false);
    let run = env.run(&["evolve", "--json", "--no-memory", "sort a list of numbers"]).await;
    run.assert_ok();
    assert!(
        run.stderr.contains("properties sorted, same_elements checked on 4 generated input(s) each"),
        "{}",
        run.all()
    );
    let o = run.outcome();
    assert_eq!(o["code"].as_str().unwrap().trim(), right.trim(), "{}", o["attempts"]);
    assert_eq!(o["attempts"].as_array().unwrap().len(), 2, "{}", o["attempts"]);
    let cases = o["spec"]["test_cases"].as_array().unwrap();
    assert_eq!(cases.len(), 3 + 8, "{cases:?}");
    let node = o["node_id"].as_str().unwrap();
    let show = env.run(&["show", node]).await;
    assert!(
        show.stdout.contains("properties: sorted, same_elements (8 case(s) on generated inputs)"),
        "{}",
        show.all()
    );
    // Every written case passed; one generated input with duplicates failed it.
    assert!(run.stderr.contains("! 10/11 tests pass"), "{}", run.stderr);
    // The written tests hold the same checks, and pass on the verified code under pytest.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("solution.py"), o["program"].as_str().unwrap()).unwrap();
    std::fs::write(dir.path().join("test_node.py"), o["tests"].as_str().unwrap()).unwrap();
    let runtime = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("runtime/node_runtime.py");
    std::fs::copy(runtime, dir.path().join("node_runtime.py")).unwrap();
    let pytest = std::process::Command::new(support::python())
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "test_node.py"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&pytest.stdout);
    assert!(pytest.status.success() && out.contains("12 passed"), "{out}");
}

/// A property the spec's own cases contradict ("sorted" for a descending sort) is dropped at
/// plan time; a wrong one they cannot show ("no_duplicates" for a sort) fails right code on a
/// generated input with duplicates, and the consensus of independent implementations drops it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_properties_are_dropped_not_held_against_right_code() {
    let mut spec = sort_spec(json!(["sorted", "no_duplicates"]));
    spec["test_cases"][0]["expected"] = json!([3, 2, 1]);
    spec["test_cases"][2]["expected"] = json!([2, 1]);
    let script = Script::new()
        .on("classify", fixtures::classify("algorithm", "simple"))
        .on("plan", spec)
        .on("code", fixtures::code("def sort_numbers(xs):\n    return sorted(xs, reverse=True)\n"));
    let server = ScriptedServer::start(script).await.unwrap();
    let env = env_with(&server.url, true, false);
    let run = env.run(&["evolve", "--json", "--no-memory", "sort a list of numbers, largest first"]).await;
    run.assert_ok();
    assert!(
        run.stderr.contains("properties dropped: sorted (the spec's own case `task` contradicts it)"),
        "{}",
        run.all()
    );
    let o = run.outcome();
    let dropped = o["oracle"]["dropped"].to_string();
    assert!(dropped.contains("property_no_duplicates"), "{}", o["oracle"]);
    assert_eq!(o["attempts"].as_array().unwrap().len(), 1, "right code is not failed: {}", o["attempts"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_review_answer_named_after_the_function_whose_work_is_code_corrects_the_task_case() {
    // The small overseer's habit: it names its answer after the function, writes its work as
    // code and reckons wrongly. The answer stands for the one case asked; its work, computed in
    // the sandbox, agrees with every implementation's 30: the task case is corrected.
    let mut spec = fixtures::add_spec();
    spec["test_cases"][0]["expected"] = json!(31);
    let script = Script::new()
        .on("classify", fixtures::classify("arithmetic", "simple"))
        .on("plan", spec)
        .on("review", json!({ "cases": [{ "name": "add", "work": "return a + b", "result": 31 }] }))
        .on("code", fixtures::code(ADD));
    let server = ScriptedServer::start(script).await.unwrap();
    let env = env_with(&server.url, true, false);
    let run = env.run(&["evolve", "--json", "add 10 and 20"]).await;
    run.assert_ok();
    let o = run.outcome();
    assert_eq!(o["oracle"]["corrected"], json!(["task: 31 -> 30"]), "{}", o["oracle"]);
    assert_eq!(o["attempts"].as_array().unwrap().len(), 1, "right code is not failed: {}", o["attempts"]);
    assert_eq!(o["result"]["output"]["Ok"], json!(30), "{}", o["result"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spec_of_one_input_gets_edge_inputs_valued_by_the_overseers_expressions() {
    // Both plans repeat the task's input, and so does the extension: the missing cases are the
    // task's input with one argument changed (a = 0, a = 1), valued by the overseer's
    // re-derivation; its reckonings are wrong, its expressions computed in the sandbox are right.
    let case = |name: &str| json!({ "name": name, "input": { "a": 10, "b": 20 }, "expected": 30, "check": "equals" });
    let mut spec = fixtures::add_spec();
    spec["test_cases"] = json!([case("task"), case("sum"), case("addition")]);
    let script = Script::new()
        .on("classify", fixtures::classify("arithmetic", "simple"))
        .on("plan", spec)
        .on("extend", json!({ "test_cases": [case("again")] }))
        .on(
            "review",
            json!({ "cases": [
                { "name": "add", "work": "0 + 20", "expression": "a + b", "result": 25 },
                { "name": "add", "work": "1 + 20", "expression": "a + b", "result": 26 }
            ] }),
        )
        .on("code", fixtures::code(ADD));
    let server = ScriptedServer::start(script).await.unwrap();
    let env = env_with(&server.url, false, false);
    let run = env.run(&["evolve", "--json", "--no-memory", "add 10 and 20"]).await;
    run.assert_ok();
    assert_eq!(server.requests_for("extend").len(), 1, "{}", run.all());
    assert!(run.stderr.contains(r#"edge case(s) added: {"a":0,"b":20} -> 20; {"a":1,"b":20} -> 21"#), "{}", run.all());
    let o = run.outcome();
    let expected: Vec<(String, Value)> = o["spec"]["test_cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["input"].to_string(), c["expected"].clone()))
        .collect();
    assert_eq!(
        expected,
        [
            (r#"{"a":10,"b":20}"#.to_string(), json!(30)),
            (r#"{"a":0,"b":20}"#.to_string(), json!(20)),
            (r#"{"a":1,"b":20}"#.to_string(), json!(21))
        ],
        "{}",
        o["spec"]
    );
}
