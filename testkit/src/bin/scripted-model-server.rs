//! The scripted model server as a process, for editor end-to-end tests (VS Code in code-server):
//! `scripted-model-server SCRIPT.json [--addr 127.0.0.1:0]` prints its URL and serves until
//! interrupted.

use testkit::scripted_model::{Script, ScriptedServer};

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let mut script_path = None;
    let mut addr = "127.0.0.1:0".to_string();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--addr" => addr = args.next().unwrap_or_else(|| usage("--addr needs HOST:PORT")),
            _ if script_path.is_none() => script_path = Some(arg),
            other => usage(&format!("unexpected argument `{other}`")),
        }
    }
    let path = script_path.unwrap_or_else(|| usage("give the script file"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| fail(&format!("cannot read {path}: {e}")));
    let script: Script = serde_json::from_str(&text).unwrap_or_else(|e| fail(&format!("{path} is not a script: {e}")));
    match ScriptedServer::start_on(&addr, script).await {
        Ok(server) => {
            println!("{}", server.url);
            let _ = tokio::signal::ctrl_c().await;
        }
        Err(e) => fail(&format!("cannot listen on {addr}: {e}")),
    }
}

fn usage(why: &str) -> ! {
    eprintln!("error: {why}\nusage: scripted-model-server SCRIPT.json [--addr HOST:PORT]");
    std::process::exit(2)
}

fn fail(why: &str) -> ! {
    eprintln!("error: {why}");
    std::process::exit(1)
}
