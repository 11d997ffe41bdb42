//! The spec against its own inputs and the task's values, end to end (CLI binary, scripted
//! Ollama-wire server): a signature the cases contradict is aligned to them instead of failing
//! the plan; a number the task names and the spec hard-codes is sent back to the overseer once,
//! and made a parameter (the cases keep the value they were computed with) when the correction
//! hard-codes it again.

mod support;

use serde_json::{Value, json};
use support::{TestEnv, base_config};
use testkit::scripted_model::fixtures;
use testkit::scripted_model::{Script, ScriptedServer};

fn env_for(url: &str) -> TestEnv {
    let env = TestEnv::new();
    env.write_config(&base_config("ollama", &format!("url: \"{url}\"")));
    env
}

fn parameter_names(o: &Value) -> Vec<String> {
    o["spec"]["function"]["parameters"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap().into()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signature_missing_an_argument_every_case_gives_is_aligned_not_sent_back() {
    // The 0.5B's spec for "multiply 6 by 7": `multiply(a)` over cases that all give a and b.
    let spec = json!({
        "problem": "Multiply two numbers.", "requirements": [], "plan": ["return a * b"],
        "function": { "name": "multiply", "parameters": [ { "name": "a", "type": "int" } ], "returns": "int" },
        "task_input": { "a": 6, "b": 7 },
        "test_cases": [
            { "name": "task", "input": { "a": 6, "b": 7 }, "expected": 42, "check": "equals" },
            { "name": "zero", "input": { "a": 0, "b": 9 }, "expected": 0, "check": "equals" },
            { "name": "negative", "input": { "a": -3, "b": 4 }, "expected": -12, "check": "equals" }
        ],
        "tools": []
    });
    let script = Script::new()
        .on("classify", fixtures::classify("arithmetic", "simple"))
        .on("plan", spec)
        .on("code", fixtures::code("def multiply(a: int, b: int) -> int:\n    return a * b\n"));
    let server = ScriptedServer::start(script).await.unwrap();
    let env = env_for(&server.url);
    let run = env.run(&["evolve", "--json", "--no-memory", "multiply 6 by 7"]).await;
    run.assert_ok();
    let o = run.outcome();
    assert_eq!(parameter_names(&o), ["a", "b"], "{}", o["spec"]["function"]);
    assert_eq!(server.requests_for("plan").len(), 1, "nothing was sent back: {}", run.all());
    assert!(run.stderr.contains("spec aligned"), "the change is said: {}", run.all());
    assert_eq!(o["result"]["output"]["Ok"], json!(42), "{}", o["result"]);
}

fn percent_spec(hard_coded: bool) -> Value {
    let (parameters, task_input, cases) = if hard_coded {
        (
            json!([ { "name": "number", "type": "float" } ]),
            json!({ "number": 200 }),
            json!([
                { "name": "task", "input": { "number": 200 }, "expected": 30.0, "check": "approx" },
                { "name": "hundred", "input": { "number": 100 }, "expected": 15.0, "check": "approx" },
                { "name": "zero", "input": { "number": 0 }, "expected": 0.0, "check": "approx" }
            ]),
        )
    } else {
        (
            json!([ { "name": "percent", "type": "float" }, { "name": "number", "type": "float" } ]),
            json!({ "percent": 15, "number": 200 }),
            json!([
                { "name": "task", "input": { "percent": 15, "number": 200 }, "expected": 30.0, "check": "approx" },
                { "name": "half", "input": { "percent": 50, "number": 10 }, "expected": 5.0, "check": "approx" },
                { "name": "zero", "input": { "percent": 0, "number": 80 }, "expected": 0.0, "check": "approx" }
            ]),
        )
    };
    json!({
        "problem": "A percentage of a number.", "requirements": [], "plan": [],
        "function": { "name": "percent_of", "parameters": parameters, "returns": "float" },
        "task_input": task_input, "test_cases": cases, "tools": []
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_number_the_spec_hard_codes_is_sent_back_once() {
    let script = Script::new()
        .on("classify", fixtures::classify("arithmetic", "simple"))
        .on_seq("plan", vec![percent_spec(true), percent_spec(false)])
        .on(
            "code",
            fixtures::code(
                "def percent_of(percent: float, number: float) -> float:\n    return number * percent / 100\n",
            ),
        );
    let server = ScriptedServer::start(script).await.unwrap();
    let env = env_for(&server.url);
    let run = env.run(&["evolve", "--json", "--no-memory", "compute 15 percent of 200"]).await;
    run.assert_ok();
    let plans = server.requests_for("plan");
    assert_eq!(plans.len(), 2, "{}", run.all());
    assert!(plans[1].text.contains("the task's number 15 is not in task_input"), "{}", plans[1].text);
    let o = run.outcome();
    assert_eq!(parameter_names(&o), ["percent", "number"]);
    assert_eq!(o["result"]["output"]["Ok"], json!(30.0), "{}", o["result"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_number_hard_coded_twice_becomes_a_parameter_the_cases_keep() {
    // The correction hard-codes 15 again: 15 becomes the first parameter, set to 15 in every
    // case (the value the overseer computed them with), and the node is called as callers will.
    let script = Script::new()
        .on("classify", fixtures::classify("arithmetic", "simple"))
        .on_seq("plan", vec![percent_spec(true), percent_spec(true)])
        .on(
            "code",
            fixtures::code(
                "def percent_of(percent: int, number: float) -> float:\n    return number * percent / 100\n",
            ),
        );
    let server = ScriptedServer::start(script).await.unwrap();
    let env = env_for(&server.url);
    let run = env.run(&["evolve", "--json", "--no-memory", "compute 15 percent of 200"]).await;
    run.assert_ok();
    assert_eq!(server.requests_for("plan").len(), 2);
    assert!(run.stderr.contains("the task's number 15 is now the parameter `percent`"), "{}", run.all());
    let o = run.outcome();
    assert_eq!(parameter_names(&o), ["percent", "number"]);
    let hundred = o["spec"]["test_cases"].as_array().unwrap().iter().find(|c| c["name"] == "hundred").cloned().unwrap();
    assert_eq!(hundred["input"], json!({ "percent": 15, "number": 100 }), "{hundred}");
    assert_eq!(hundred["expected"], json!(15.0));
    assert_eq!(o["report"]["passed"], o["report"]["total"], "{}", o["report"]);
    assert_eq!(o["result"]["output"]["Ok"], json!(30.0));
    // What the generator was asked for is the signature callers use.
    assert!(server.requests_for("code")[0].text.contains("percent_of(percent: int, number: float)"));
}

fn lcm_spec(second_varies: bool) -> Value {
    let b = if second_varies { 5 } else { 6 };
    json!({
        "problem": "The least common multiple of two integers.", "requirements": [], "plan": [],
        "function": { "name": "lcm", "parameters": [ { "name": "a", "type": "int" }, { "name": "b", "type": "int" } ], "returns": "int" },
        "task_input": { "a": 4, "b": 6 },
        "test_cases": [
            { "name": "task", "input": { "a": 4, "b": 6 }, "expected": 12, "check": "equals" },
            { "name": "one", "input": { "a": 1, "b": 6 }, "expected": 6, "check": "equals" },
            { "name": "other", "input": { "a": 3, "b": b }, "expected": 3 * b, "check": "equals" }
        ],
        "tools": []
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cases_that_never_vary_a_parameter_go_back_once_and_code_that_copies_the_task_values_is_not_tested() {
    // The 1.5B's spec for "the lcm of 4 and 6" gave b = 6 in every case, and the 0.5B's code
    // called gcd(4, 6): it passed every such case and gave 7 for lcm(3, 5).
    const COPIED: &str = "import math\n\ndef lcm(a: int, b: int) -> int:\n    return a * b // math.gcd(4, 6)\n";
    const AGAIN: &str = "import math\n\ndef lcm(a: int, b: int) -> int:\n    return abs(a * b) // math.gcd(6, 4)\n";
    const RIGHT: &str = "import math\n\ndef lcm(a: int, b: int) -> int:\n    return a * b // math.gcd(a, b)\n";
    let script = Script::new()
        .on("classify", fixtures::classify("algorithm", "simple"))
        .on_seq("plan", vec![lcm_spec(false), lcm_spec(true)])
        .on_seq("code", vec![fixtures::code(COPIED), fixtures::code(AGAIN), fixtures::code(RIGHT)]);
    let server = ScriptedServer::start(script).await.unwrap();
    let env = env_for(&server.url);
    let run = env.run(&["evolve", "--json", "--no-memory", "compute the least common multiple of 4 and 6"]).await;
    run.assert_ok();
    let plans = server.requests_for("plan");
    assert_eq!(plans.len(), 2, "{}", run.all());
    assert!(plans[1].text.contains("every test case gives b = 6"), "{}", plans[1].text);
    let o = run.outcome();
    let attempts = o["attempts"].as_array().unwrap();
    // The first rung, then the second (a fresh sample), copy the task's numbers; the third (a
    // repair) is told so and passes.
    assert_eq!(attempts.len(), 3, "{}", o["attempts"]);
    assert_eq!(attempts[0]["outcome"], "hard-coded the task's values 4, 6", "{}", o["attempts"]);
    assert_eq!(attempts[1]["outcome"], "hard-coded the task's values 4, 6", "{}", o["attempts"]);
    let repair = &server.requests_for("code")[2].text;
    assert!(repair.contains("computes with the task's own values 4, 6 instead of its parameters a, b"), "{repair}");
    assert_eq!(o["code"].as_str().unwrap().trim(), RIGHT.trim());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_number_taken_for_a_constant_twice_becomes_a_parameter_defaulting_to_the_tasks_value() {
    // "chunks of 2": the overseer writes chunks(xs) twice. The 2 becomes a last parameter with
    // the task's value for its default: the cases (computed with 2) still hold, callers may
    // pass another size, and a caller passing the list alone gets chunks of 2.
    let spec = json!({
        "problem": "Split a list into chunks of 2.", "requirements": [], "plan": [],
        "function": { "name": "chunks", "parameters": [ { "name": "xs", "type": "list" } ], "returns": "list" },
        "task_input": { "xs": [1, 2, 3, 4, 5] },
        "test_cases": [
            { "name": "task", "input": { "xs": [1, 2, 3, 4, 5] }, "expected": [[1, 2], [3, 4], [5]], "check": "equals" },
            { "name": "empty", "input": { "xs": [] }, "expected": [], "check": "equals" },
            { "name": "even", "input": { "xs": [7, 8] }, "expected": [[7, 8]], "check": "equals" }
        ],
        "tools": []
    });
    const CODE: &str =
        "def chunks(xs: list, b: int = 2) -> list:\n    return [xs[i:i + b] for i in range(0, len(xs), b)]\n";
    let script = Script::new()
        .on("classify", fixtures::classify("algorithm", "simple"))
        .on("plan", spec)
        .on("code", fixtures::code(CODE));
    let server = ScriptedServer::start(script).await.unwrap();
    let env = env_for(&server.url);
    let task = "split the list [1, 2, 3, 4, 5] into chunks of 2";
    let run = env.run(&["evolve", "--json", "--no-memory", task]).await;
    run.assert_ok();
    let plans = server.requests_for("plan");
    assert_eq!(plans.len(), 2, "sent back once: {}", run.all());
    assert!(plans[1].text.contains("the task's number 2 is no parameter of chunks"), "{}", plans[1].text);
    let o = run.outcome();
    assert_eq!(parameter_names(&o), ["xs", "b"], "{}", o["spec"]["function"]);
    assert_eq!(o["spec"]["function"]["parameters"][1]["default"], json!(2), "{}", o["spec"]["function"]);
    assert!(server.requests_for("code")[0].text.contains("def chunks(xs: list, b: int = 2) -> list"));
    let id = o["node_id"].as_str().unwrap().to_string();
    let alone = env.run(&["run", &id, "--input", r#"{"xs": [1, 2, 3]}"#]).await;
    alone.assert_ok();
    assert_eq!(alone.result().as_deref(), Some("[[1,2],[3]]"), "{}", alone.all());
    let three = env.run(&["run", &id, "--input", r#"{"xs": [1, 2, 3], "b": 3}"#]).await;
    assert_eq!(three.result().as_deref(), Some("[[1,2,3]]"), "{}", three.all());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn code_that_never_reads_a_parameter_is_not_tested_and_the_repair_is_told_which() {
    // "2 to the power of 10": the 0.5B wrote power(base, exp) returning 2 ** exp. With base 2 in
    // every case it passed them all, and gave 16 for power(3, 4).
    const IGNORES: &str = "def power(base: int, exp: int) -> int:\n    return 2 ** exp\n";
    const AGAIN: &str = "def power(base: int, exp: int) -> int:\n    result = 1\n    for _ in range(exp):\n        result *= 2\n    return result\n";
    const RIGHT: &str = "def power(base: int, exp: int) -> int:\n    return base ** exp\n";
    let spec = json!({
        "problem": "Raise a base to a power.", "requirements": [], "plan": [],
        "function": { "name": "power", "parameters": [ { "name": "base", "type": "int" }, { "name": "exp", "type": "int" } ], "returns": "int" },
        "task_input": { "base": 2, "exp": 10 },
        "test_cases": [
            { "name": "task", "input": { "base": 2, "exp": 10 }, "expected": 1024, "check": "equals" },
            { "name": "zero", "input": { "base": 2, "exp": 0 }, "expected": 1, "check": "equals" },
            { "name": "three", "input": { "base": 3, "exp": 2 }, "expected": 9, "check": "equals" }
        ],
        "tools": []
    });
    let script = Script::new()
        .on("classify", fixtures::classify("arithmetic", "simple"))
        .on("plan", spec)
        .on_seq("code", vec![fixtures::code(IGNORES), fixtures::code(AGAIN), fixtures::code(RIGHT)]);
    let server = ScriptedServer::start(script).await.unwrap();
    let env = env_for(&server.url);
    let run = env.run(&["evolve", "--json", "--no-memory", "what is 2 to the power of 10"]).await;
    run.assert_ok();
    assert!(run.all().contains("not tested: the function never uses its parameter base"), "{}", run.all());
    let o = run.outcome();
    let attempts = o["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 3, "{}", o["attempts"]);
    assert_eq!(attempts[0]["outcome"], "ignored its parameters base", "{}", o["attempts"]);
    assert_eq!(attempts[1]["outcome"], "ignored its parameters base", "{}", o["attempts"]);
    // The third rung repairs, told what the code ignored.
    let repair = &server.requests_for("code")[2].text;
    assert!(repair.contains("never uses its parameter base"), "{repair}");
    assert_eq!(o["code"].as_str().unwrap().trim(), RIGHT.trim());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spec_left_with_one_distinct_case_gets_more_and_a_wrong_task_case_can_then_be_outvoted() {
    // The 1.5B's spec for "add 30 days to 2024-01-15", twice: three cases of one input (the task's),
    // expecting 2024-02-15. One case could never be outvoted (an attempt must pass others too):
    // the overseer is asked for new inputs once, and the attempts that pass those and return
    // 2024-02-14 on the task drop it.
    let case = |name: &str| json!({ "name": name, "input": { "date": "2024-01-15", "days": 30 }, "expected": "2024-02-15", "check": "equals" });
    let spec = json!({
        "problem": "Add a number of days to an ISO date.", "requirements": [], "plan": [],
        "function": { "name": "add_days", "parameters": [ { "name": "date", "type": "str" }, { "name": "days", "type": "int" } ], "returns": "str" },
        "task_input": { "date": "2024-01-15", "days": 30 },
        "test_cases": [case("task"), case("add_thirty"), case("same_again")],
        "tools": []
    });
    let script = Script::new()
        .on("classify", fixtures::classify("simple_content", "simple"))
        .on("plan", spec)
        .on(
            "extend",
            json!({ "test_cases": [
                { "name": "next", "work": "1 day after", "input": { "date": "2024-01-01", "days": 1 }, "expected": "2024-01-02", "check": "equals" },
                { "name": "again", "input": { "date": "2024-01-15", "days": 30 }, "expected": "2024-02-15", "check": "equals" },
                { "name": "leap", "work": "2024 is a leap year", "input": { "date": "2024-02-28", "days": 1 }, "expected": "2024-02-29", "check": "equals" }
            ]}),
        )
        .on("review", json!({ "cases": [{ "name": "task", "result": "2024-02-15" }] }))
        .on_seq("code", support::add_days_attempts());
    let server = ScriptedServer::start(script).await.unwrap();
    let env = env_for(&server.url);
    let run = env.run(&["evolve", "--json", "--no-memory", "add 30 days to the date 2024-01-15"]).await;
    run.assert_ok();
    assert_eq!(server.requests_for("plan").len(), 2, "sent back once for too few cases: {}", run.all());
    assert_eq!(server.requests_for("extend").len(), 1, "{}", run.all());
    assert!(run.stderr.contains("2 case(s) added with new inputs"), "the repeated input is not added: {}", run.all());
    assert!(run.stderr.contains(r#"return "2024-02-14" on the task's own case task"#), "{}", run.all());
    let o = run.outcome();
    assert_eq!(o["oracle"]["dropped"], json!(["task"]), "{}", o["oracle"]);
    let inputs: Vec<String> =
        o["spec"]["test_cases"].as_array().unwrap().iter().map(|c| c["input"].to_string()).collect();
    assert_eq!(inputs.len(), 2, "the new cases verify the code: {inputs:?}");
    assert_eq!(o["result"]["output"]["Ok"], json!("2024-02-14"), "{}", o["result"]);
}
