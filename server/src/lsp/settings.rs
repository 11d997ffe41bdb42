//! The editor's settings (`initializationOptions`, `workspace/didChangeConfiguration`) as the
//! last configuration layer: they take the config file's shape (`backends`, `roles`, `editor`,
//! ...), optionally under a `codeEvolver` key, and win over files and environment.

use crate::config::{Config, Layer};
use crate::global::Global;

/// The settings object inside what the editor sent: `{codeEvolver: {...}}` or the object itself.
/// Null values mean "not set" and are dropped, so an editor can send every key it knows.
pub fn editor_layer_value(sent: &serde_json::Value) -> serde_json::Value {
    let inner = sent.get("codeEvolver").or_else(|| sent.get("code_evolver")).unwrap_or(sent);
    drop_nulls(inner)
}

fn drop_nulls(value: &serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Object(map) => serde_json::Value::Object(
            map.iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k.clone(), drop_nulls(v))).collect(),
        ),
        other => other.clone(),
    }
}

/// Loads the configuration with the editor's settings on top; the error names the layer and key.
pub fn load_config(global: &Global, editor: &serde_json::Value) -> Result<Config, String> {
    let mut loader = global.loader();
    let value = editor_layer_value(editor);
    if value.as_object().is_some_and(|m| !m.is_empty()) {
        let layer = Layer::from_json("editor settings", &value).map_err(|e| e.to_string())?;
        loader = loader.layer(layer);
    }
    loader.load().map_err(|e| format!("invalid configuration: {e}"))
}
