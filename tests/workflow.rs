//! Compound tasks over the CLI and a scripted model server: the overseer splits the task, each
//! step is evolved as a node of its own, the task's function is evolved over the steps' verified
//! code, and the result is one self-contained piece of code; `--no-compose` evolves one function.

mod support;

use serde_json::{Value, json};
use support::{TestEnv, base_config};
use testkit::scripted_model::fixtures::{
    self, MEAN, PARSE, WHOLE, one_param_spec as spec, when, workflow_script as script,
};
use testkit::scripted_model::{Script, ScriptedServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compound_task_becomes_verified_steps_and_one_self_contained_function() {
    let server = ScriptedServer::start(script()).await.unwrap();
    let env = TestEnv::new();
    env.write_config(&format!(
        "{}workflow:\n  enabled: true\n",
        base_config("ollama", &format!("url: \"{}\"", server.url))
    ));
    let task = "parse the numbers out of a log line, then return their mean";
    let run = env.run(&["evolve", task]).await;
    assert_eq!(run.code, 0, "{}", run.all());
    let out = run.all();
    assert!(out.contains("split into 2 steps (parse_numbers → mean_of)"), "{out}");
    assert!(out.contains("step 1/2: parse_numbers") && out.contains("step 2/2: mean_of"), "{out}");
    assert!(out.contains("workflow: 2 verified steps, called by mean_in_line"), "{out}");
    assert!(
        out.contains("├─ parse_numbers(text: str) -> list") && out.contains("└─ mean_of(values: list) -> float"),
        "{out}"
    );
    // One self-contained piece of code: the steps and the function that calls them.
    for def in ["def parse_numbers(", "def mean_of(", "def mean_in_line("] {
        assert!(run.stdout.contains(def), "{def} missing:\n{}", run.stdout);
    }
    // The task's function ran on the task's input through both steps.
    assert!(out.contains("2.0"), "{out}");
    // Three nodes; the workflow's names its steps and their versions.
    let list = env.run(&["list"]).await;
    for name in ["parse_numbers", "mean_of", "mean_in_line"] {
        assert!(list.stdout.contains(name), "{}", list.all());
    }
    let whole = list.stdout.lines().find(|l| l.contains("mean_in_line")).unwrap();
    let id = whole.split_whitespace().next().unwrap();
    let show = env.run(&["show", id]).await;
    assert!(show.stdout.contains("workflow of parse_numbers (parse_numbers-"), "{}", show.all());
    assert_eq!(server.requests_for("decompose").len(), 1);
    // The registry links the workflow's version to its steps' versions.
    assert!(show.stdout.contains("workflow: v1 calls 2 verified step(s):"), "{}", show.all());
    assert!(
        show.stdout.contains("1. parse_numbers · parse_numbers-") && show.stdout.contains("2. mean_of · mean_of-"),
        "{}",
        show.all()
    );

    // The same task again: the stored workflow is re-run whole (its tests pass again), no model
    // is asked, and the steps are reported as they are linked.
    let plans = server.requests_for("plan").len();
    let again = env.run(&["evolve", task]).await;
    assert_eq!(again.code, 0, "{}", again.all());
    let out = again.all();
    assert!(out.contains("workflow: 2 verified steps, called by mean_in_line"), "{out}");
    assert!(
        out.contains("├─ parse_numbers(text: str) -> list (parse_numbers-") && out.contains("reused from memory"),
        "{out}"
    );
    assert_eq!(server.requests_for("plan").len(), plans, "a re-run asks no model for a spec");
    assert_eq!(server.requests_for("decompose").len(), 1);

    // --no-compose: one function, no question about steps.
    let single = env.run(&["evolve", "--no-compose", "--no-memory", task]).await;
    assert!(!single.all().contains("split into"), "{}", single.all());
    assert_eq!(server.requests_for("decompose").len(), 1, "no decomposition asked with --no-compose");
}

/// The prototype's `chat.workflow_mode` block is this project's `workflow` section.
#[test]
fn the_prototypes_workflow_mode_loads_as_the_workflow_section() {
    use code_evolver::config::{ConfigLoader, Layer};
    let yaml = "chat:\n  show_workflow: true\n  workflow_mode:\n    enabled: true\n    detect_keywords: [then, convert]\n    min_steps: 2\n    max_steps: 3\n";
    let config = ConfigLoader::default()
        .without_user_file()
        .without_environment()
        .workspace("/nonexistent")
        .layer(Layer::from_yaml("prototype", yaml).unwrap())
        .load()
        .unwrap();
    assert!(config.workflow.enabled);
    assert_eq!(config.workflow.detect_keywords, ["then", "convert"]);
    assert_eq!((config.workflow.min_steps, config.workflow.max_steps), (2, 3));
}

/// A workflow whose step cannot be verified falls back to one function for the whole task, and
/// says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_step_falls_back_to_one_function() {
    let single = "import re\n\n\ndef mean_in_line(line):\n    values = [float(n) for n in re.findall(r\"-?\\d+(?:\\.\\d+)?\", line)]\n    return sum(values) / len(values)\n";
    let script = Script::new()
        .on(
            "decompose",
            json!({"reason": "parse, then compute", "compound": true, "steps": [
                {"name": "parse_numbers", "task": "parse the numbers out of a log line: return the list of numbers in the text"},
                {"name": "mean_of", "task": "return the mean of a list of numbers"}
            ]}),
        )
        .on("classify", fixtures::classify("algorithm", "simple"))
        .on("judge", json!({"verdict": "DIFFERENT", "reason": "another task"}))
        .rule(when(
            "plan",
            "then return their mean",
            spec(
                "mean_in_line",
                ("line", "str"),
                "float",
                &[(json!("a 1 b 3"), json!(2.0)), (json!("v=4"), json!(4.0)), (json!("1 2 3 4"), json!(2.5))],
            ),
        ))
        .rule(when("code", "mean_in_line", fixtures::code(single)))
        .rule(when(
            "plan",
            "return the list of numbers",
            spec("parse_numbers", ("text", "str"), "list", &[(json!("a 1 b 2"), json!([1, 2])), (json!(""), json!([])), (json!("x=3"), json!([3]))]),
        ))
        // Every attempt at the first step is wrong.
        .rule(when("code", "parse_numbers", fixtures::code("def parse_numbers(text):\n    return []\n")));
    let server = ScriptedServer::start(script).await.unwrap();
    let env = TestEnv::new();
    env.write_config(&format!(
        "{}workflow:\n  enabled: true\n",
        base_config("ollama", &format!("url: \"{}\"", server.url))
    ));
    let run = env.run(&["evolve", "parse the numbers out of a log line, then return their mean"]).await;
    assert_eq!(run.code, 0, "{}", run.all());
    let out = run.all();
    assert!(
        out.contains("step 1/2 `parse_numbers` failed") && out.contains("evolving the task as one function"),
        "{out}"
    );
    assert!(!out.contains("workflow: 2 verified steps"), "{out}");
    assert!(run.stdout.contains("def mean_in_line("), "{}", run.stdout);
}

/// A task like a stored workflow: the stored steps are offered to the overseer, who names them
/// again, and each step is recalled from memory instead of being specified and generated anew.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_similar_task_reuses_a_stored_workflows_steps() {
    let server = ScriptedServer::start(script()).await.unwrap();
    let env = TestEnv::new();
    env.write_config(&format!(
        "{}workflow:\n  enabled: true\nmemory:\n  related_threshold: 0.5\n",
        base_config("ollama", &format!("url: \"{}\"", server.url))
    ));
    let first = env.run(&["evolve", "parse the numbers out of a log line, then return their mean"]).await;
    assert_eq!(first.code, 0, "{}", first.all());
    let step_plans = |server: &ScriptedServer| {
        server.requests_for("plan").iter().filter(|r| !r.text.contains("built from verified steps")).count()
    };
    let before = step_plans(&server);
    assert_eq!(before, 2, "one spec per step the first time");

    let similar = env.run(&["evolve", "pull the numbers from a log line and then give back their mean"]).await;
    assert_eq!(similar.code, 0, "{}", similar.all());
    let out = similar.all();
    assert!(out.contains("a similar task was built as a workflow"), "{out}");
    let asked = server.requests_for("decompose");
    let second = &asked.last().unwrap().text;
    assert!(
        second.contains("A similar task") && second.contains("- parse_numbers: parse the numbers out of a log line"),
        "the stored steps are offered: {second}"
    );
    // Both steps came from memory: no new spec was written for them.
    assert_eq!(step_plans(&server), before, "{out}");
    assert!(out.contains("workflow: 2 verified steps"), "{out}");
    assert_eq!(out.matches(", reused from memory)").count(), 2, "{out}");
}

/// A step that is itself compound is split again (depth 2 here), and the result is still one
/// self-contained piece of code with every level's functions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compound_step_is_split_again() {
    let mean = "sum the numbers of a list and then divide by their count";
    let sum_task = "return the sum of a list of numbers";
    let count_task = "return how many numbers a list holds";
    let list_spec =
        |name: &str, returns: &str, cases: &[(Value, Value)]| spec(name, ("values", "list"), returns, cases);
    let script = Script::new()
        // The sub-split first: its request names only the step's task.
        .rule(when(
            "decompose",
            "divide by their count",
            json!({"reason": "sum, count, divide", "compound": true, "steps": [
                {"name": "sum_all", "task": sum_task}, {"name": "how_many", "task": count_task}
            ]}),
        ))
        .rule(when(
            "decompose",
            "then return their mean",
            json!({"reason": "parse, then compute", "compound": true, "steps": [
                {"name": "parse_numbers", "task": "parse the numbers out of a log line: return the list of numbers in the text"},
                {"name": "mean_of", "task": mean}
            ]}),
        ))
        .on("classify", fixtures::classify("algorithm", "simple"))
        .on("judge", json!({"verdict": "DIFFERENT", "reason": "another task"}))
        // Specs: the top function's (its steps note names mean_of), mean_of's over its own steps,
        // then the leaves, later ones first (their requests may name the earlier nodes).
        .rule(when(
            "plan",
            "- mean_of(values: list) -> float: ",
            spec("mean_in_line", ("line", "str"), "float", &[(json!("a 1 b 3"), json!(2.0)), (json!("v=4"), json!(4.0)), (json!("1 2 3 4"), json!(2.5))]),
        ))
        .rule(when(
            "plan",
            "- sum_all(values: list) -> float: ",
            list_spec("mean_of", "float", &[(json!([1, 2, 3]), json!(2.0)), (json!([5]), json!(5.0)), (json!([2, 4]), json!(3.0))]),
        ))
        .rule(when("plan", count_task, list_spec("how_many", "int", &[(json!([1, 2, 3]), json!(3)), (json!([]), json!(0)), (json!([7]), json!(1))])))
        .rule(when("plan", sum_task, list_spec("sum_all", "float", &[(json!([1, 2, 3]), json!(6)), (json!([]), json!(0)), (json!([2.5]), json!(2.5))])))
        .rule(when(
            "plan",
            "return the list of numbers",
            spec("parse_numbers", ("text", "str"), "list", &[(json!("a 1 b 2.5"), json!([1, 2.5])), (json!(""), json!([])), (json!("x=3"), json!([3]))]),
        ))
        .rule(when("code", "mean_in_line", fixtures::code(WHOLE)))
        .rule(when("code", "mean_of", fixtures::code("def mean_of(values):\n    return sum_all(values) / how_many(values)\n")))
        .rule(when("code", "how_many", fixtures::code("def how_many(values):\n    return len(values)\n")))
        .rule(when("code", "sum_all", fixtures::code("def sum_all(values):\n    return sum(values)\n")))
        .rule(when("code", "parse_numbers", fixtures::code(PARSE)));
    let server = ScriptedServer::start(script).await.unwrap();
    let env = TestEnv::new();
    env.write_config(&format!(
        "{}workflow:\n  enabled: true\n  max_depth: 2\n",
        base_config("ollama", &format!("url: \"{}\"", server.url))
    ));
    let run = env.run(&["evolve", "--no-memory", "parse the numbers out of a log line, then return their mean"]).await;
    assert_eq!(run.code, 0, "{}", run.all());
    let out = run.all();
    assert!(out.contains("split into 2 steps (sum_all → how_many)"), "{out}");
    assert!(out.contains("  └─ mean_of(values: list) -> float"), "{out}");
    assert!(
        out.contains("     ├─ sum_all(values: list) -> float") && out.contains("     └─ how_many(values: list) -> int"),
        "{out}"
    );
    for def in ["def parse_numbers(", "def sum_all(", "def how_many(", "def mean_of(", "def mean_in_line("] {
        assert!(run.stdout.contains(def), "{def} missing:\n{}", run.stdout);
    }
    // Depth 2: the leaves were not put to the overseer again (they hold no keyword anyway), and
    // the two splits are the only decompositions.
    assert_eq!(server.requests_for("decompose").len(), 2);
}

/// A spec that names a tool that exists nowhere (a small model's placeholder) loses it at plan
/// time, with the plan lines that use it: the code is never asked to call it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tool_that_does_not_exist_is_refused_at_plan_time() {
    let mut with_tool = spec(
        "mean_of",
        ("values", "list"),
        "float",
        &[(json!([1, 2, 3]), json!(2.0)), (json!([5]), json!(5.0)), (json!([2, 4]), json!(3.0))],
    );
    with_tool["tools"] = json!(["TOOL_NAME"]);
    with_tool["plan"] = json!(["call_tool('TOOL_NAME', values) to get the mean", "return the mean"]);
    let script = Script::new()
        .on("classify", fixtures::classify("algorithm", "simple"))
        .on("plan", with_tool)
        .on("code", fixtures::code(MEAN));
    let server = ScriptedServer::start(script).await.unwrap();
    let env = TestEnv::new();
    env.write_config(&base_config("ollama", &format!("url: \"{}\"", server.url)));
    let run = env.run(&["evolve", "--no-memory", "return the mean of a list of numbers"]).await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(run.all().contains("the spec named tool(s) that do not exist: TOOL_NAME"), "{}", run.all());
    assert_eq!(server.requests_for("plan").len(), 1, "dropped, not sent back to the overseer");
    for request in server.requests_for("code") {
        assert!(!request.text.contains("TOOL_NAME"), "the code request names the missing tool: {}", request.text);
    }
}

/// A decomposition that names the task itself as a step would split forever: the task is
/// evolved as one function, and the user is told.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_that_is_the_task_itself_is_not_split() {
    let task = "parse the numbers out of a log line, then return their mean";
    let whole = "import re\n\n\ndef mean_in_line(line):\n    values = [float(n) for n in re.findall(r\"-?\\d+(?:\\.\\d+)?\", line)]\n    return sum(values) / len(values)\n";
    let script = Script::new()
        .on(
            "decompose",
            json!({"reason": "one step", "compound": true, "steps": [
                {"name": "mean_in_line", "task": task, "takes": "", "returns": ""},
                {"name": "noop", "task": "return the value unchanged", "takes": "", "returns": ""}
            ]}),
        )
        .on("classify", fixtures::classify("algorithm", "simple"))
        .on(
            "plan",
            spec(
                "mean_in_line",
                ("line", "str"),
                "float",
                &[(json!("a 1 b 3"), json!(2.0)), (json!("v=4"), json!(4.0)), (json!("1 2 3 4"), json!(2.5))],
            ),
        )
        .on("code", fixtures::code(whole));
    let server = ScriptedServer::start(script).await.unwrap();
    let env = TestEnv::new();
    env.write_config(&format!(
        "{}workflow:\n  enabled: true\n",
        base_config("ollama", &format!("url: \"{}\"", server.url))
    ));
    let run = env.run(&["evolve", "--no-memory", task]).await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(run.all().contains("one function: a proposed step is the task itself"), "{}", run.all());
    assert_eq!(server.requests_for("decompose").len(), 1);
    assert!(!run.all().contains("workflow:"), "{}", run.all());
}

/// A workflow stays within the user's limits: its steps share half of the evolve's budget, and
/// when they spend it the task falls back to one function with what is left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workflow_spends_within_the_evolves_budget() {
    let task = "parse the numbers out of a log line, then return their mean";
    let single = "import re\n\n\ndef mean_in_line(line):\n    values = [float(n) for n in re.findall(r\"-?\\d+(?:\\.\\d+)?\", line)]\n    return sum(values) / len(values)\n";
    let mut slow_parse = when("code", "parse_numbers", fixtures::code(PARSE));
    slow_parse.delay_ms = 4500;
    let script = Script::new()
        .on(
            "decompose",
            json!({"reason": "parse, then compute", "compound": true, "steps": [
                {"name": "parse_numbers", "task": "parse the numbers out of a log line: return the list of numbers in the text", "takes": "text: str", "returns": "list[float]"},
                {"name": "mean_of", "task": "return the mean of a list of numbers", "takes": "values: list[float]", "returns": "float"}
            ]}),
        )
        .on("classify", fixtures::classify("algorithm", "simple"))
        .rule(when(
            "plan",
            "then return their mean",
            spec("mean_in_line", ("line", "str"), "float", &[(json!("a 1 b 3"), json!(2.0)), (json!("v=4"), json!(4.0)), (json!("1 2 3 4"), json!(2.5))]),
        ))
        .rule(when("code", "mean_in_line", fixtures::code(single)))
        .rule(when(
            "plan",
            "return the list of numbers",
            spec("parse_numbers", ("text", "str"), "list", &[(json!("a 1 b 2.5"), json!([1, 2.5])), (json!(""), json!([])), (json!("x=3"), json!([3]))]),
        ))
        .rule(slow_parse);
    let server = ScriptedServer::start(script).await.unwrap();
    let env = TestEnv::new();
    env.write_config(&format!(
        "{}workflow:\n  enabled: true\nlimits:\n  evolve_time_s: 9\n",
        base_config("ollama", &format!("url: \"{}\"", server.url))
    ));
    let started = std::time::Instant::now();
    let run = env.run(&["evolve", "--no-memory", "--json", task]).await;
    assert_eq!(run.code, 0, "{}", run.all());
    let out = run.all();
    assert!(out.contains("failed (budget exhausted") && out.contains("evolving the task as one function"), "{out}");
    assert!(started.elapsed().as_secs_f64() < 12.0, "{:?}", started.elapsed());
    // The outcome counts every model call of the evolve: the split, the step, the fallback.
    let outcome: Value = serde_json::from_str(&run.stdout).unwrap();
    let roles: Vec<&str> = outcome["calls"].as_array().unwrap().iter().filter_map(|c| c["role"].as_str()).collect();
    assert!(roles.iter().filter(|r| **r == "overseer").count() >= 3, "{roles:?}");
    assert!(roles.contains(&"generator.fast"), "{roles:?}");
}
