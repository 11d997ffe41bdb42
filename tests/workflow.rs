//! Compound tasks over the CLI and a scripted model server: the overseer splits the task, each
//! step is evolved as a node of its own, the task's function is evolved over the steps' verified
//! code, and the result is one self-contained piece of code; `--no-compose` evolves one function.

mod support;

use serde_json::{Value, json};
use support::{TestEnv, base_config};
use testkit::scripted_model::{Rule, Script, ScriptedServer, fixtures};

fn spec(name: &str, param: (&str, &str), returns: &str, cases: &[(Value, Value)]) -> Value {
    json!({
        "problem": format!("{name}."),
        "requirements": [],
        "limits": "O(n)",
        "plan": [],
        "function": { "name": name, "parameters": [ { "name": param.0, "type": param.1 } ], "returns": returns },
        "task_input": { param.0: cases[0].0 },
        "example_output": cases[0].1,
        "test_cases": cases.iter().enumerate().map(|(i, (input, expected))| json!({
            "name": format!("case_{i}"), "input": { param.0: input }, "expected": expected, "check": "equals"
        })).collect::<Vec<_>>(),
        "tools": []
    })
}

fn when(stage: &str, contains: &str, reply: Value) -> Rule {
    Rule { stage: Some(stage.into()), contains: Some(contains.into()), replies: vec![reply], ..Default::default() }
}

const PARSE: &str = "import re\n\n\ndef parse_numbers(text):\n    return [float(n) if '.' in n else int(n) for n in re.findall(r\"-?\\d+(?:\\.\\d+)?\", text)]\n";
const MEAN: &str = "def mean_of(values):\n    return sum(values) / len(values)\n";
const WHOLE: &str = "def mean_in_line(line):\n    return mean_of(parse_numbers(line))\n";

fn script() -> Script {
    let step_one = "parse the numbers out of a log line: return the list of numbers in the text";
    let step_two = "return the mean of a list of numbers";
    // Later requests also carry the earlier steps' words (hints, offered tools, the steps'
    // code): the whole task's rules come first, then the second step's, then the first's.
    Script::new()
        .on(
            "decompose",
            json!({"reason": "parse, then compute", "compound": true, "steps": [
                {"name": "parse_numbers", "task": step_one},
                {"name": "mean_of", "task": step_two}
            ]}),
        )
        .on("classify", fixtures::classify("algorithm", "simple"))
        .on("judge", json!({"verdict": "DIFFERENT", "reason": "another task"}))
        .rule(when(
            "plan",
            "built from verified steps",
            spec(
                "mean_in_line",
                ("line", "str"),
                "float",
                &[(json!("a 1 b 3"), json!(2.0)), (json!("v=4"), json!(4.0)), (json!("1 2 3 4"), json!(2.5))],
            ),
        ))
        .rule(when("code", "mean_in_line", fixtures::code(WHOLE)))
        .rule(when(
            "plan",
            step_two,
            spec(
                "mean_of",
                ("values", "list"),
                "float",
                &[(json!([1, 2, 3]), json!(2.0)), (json!([5]), json!(5.0)), (json!([2, 4]), json!(3.0))],
            ),
        ))
        .rule(when("code", "mean_of", fixtures::code(MEAN)))
        .rule(when(
            "plan",
            step_one,
            spec(
                "parse_numbers",
                ("text", "str"),
                "list",
                &[(json!("a 1 b 2.5"), json!([1, 2.5])), (json!(""), json!([])), (json!("x=3"), json!([3]))],
            ),
        ))
        .rule(when("code", "parse_numbers", fixtures::code(PARSE)))
}

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
