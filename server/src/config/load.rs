use super::locate::line_of_key;
use super::{Config, ConfigError, DEFAULT_YAML, seed, validate};
use serde_yaml_ng::{Mapping, Value};
use std::path::{Path, PathBuf};

/// One source of settings, kept with its text so errors can name a line.
#[derive(Debug, Clone)]
pub struct Layer {
    pub name: String,
    pub text: Option<String>,
    pub value: Value,
}

impl Layer {
    pub fn from_yaml(name: impl Into<String>, text: &str) -> Result<Layer, ConfigError> {
        let name = name.into();
        let value: Value = if text.trim().is_empty() {
            Value::Mapping(Mapping::new())
        } else {
            serde_yaml_ng::from_str(text).map_err(|e| ConfigError::Invalid {
                source_name: name.clone(),
                line: e.location().map(|l| l.line()),
                message: strip_location(&e.to_string()),
            })?
        };
        let value = match value {
            Value::Null => Value::Mapping(Mapping::new()),
            v @ Value::Mapping(_) => v,
            _ => {
                return Err(ConfigError::Invalid {
                    source_name: name,
                    line: Some(1),
                    message:
                        "the file must be a mapping of sections (backends, roles, tools, limits, pipeline, runtime, editor, memory)"
                            .into(),
                });
            }
        };
        Ok(Layer { name, text: Some(text.to_string()), value })
    }

    /// Settings given as JSON by an editor (`initializationOptions`, `didChangeConfiguration`).
    pub fn from_json(name: impl Into<String>, json: &serde_json::Value) -> Result<Layer, ConfigError> {
        let name = name.into();
        let value = serde_yaml_ng::to_value(json).map_err(|e| ConfigError::Invalid {
            source_name: name.clone(),
            line: None,
            message: e.to_string(),
        })?;
        Ok(Layer { name, text: None, value })
    }

    /// `CODE_EVOLVER_LIMITS__NODE_TIMEOUT_S=5` sets `limits.node_timeout_s`.
    pub fn from_environment(vars: impl Iterator<Item = (String, String)>) -> Result<Layer, ConfigError> {
        let mut root = Mapping::new();
        for (key, raw) in vars {
            let Some(rest) = key.strip_prefix("CODE_EVOLVER_") else {
                continue;
            };
            if RESERVED_ENV.contains(&rest) {
                continue;
            }
            let path: Vec<String> = rest.split("__").map(|s| s.to_ascii_lowercase()).collect();
            let value: Value = serde_yaml_ng::from_str(&raw).unwrap_or(Value::String(raw.clone()));
            insert_path(&mut root, &path, value);
        }
        Ok(Layer { name: "environment (CODE_EVOLVER_*)".into(), text: None, value: Value::Mapping(root) })
    }

    /// 1-based line where this layer sets `path`, when it came from a file.
    pub fn line_of(&self, path: &[String]) -> Option<usize> {
        self.text.as_deref().and_then(|t| line_of_key(t, path))
    }

    pub fn sets(&self, path: &[String]) -> bool {
        let mut node = &self.value;
        for key in path {
            match node {
                Value::Mapping(map) => match map.get(Value::String(key.clone())) {
                    Some(next) => node = next,
                    None => return false,
                },
                _ => return false,
            }
        }
        true
    }
}

/// Environment variables with their own meaning, not config paths.
const RESERVED_ENV: &[&str] = &["CONFIG", "DATA_DIR", "PYTHON", "LOG", "WORKSPACE"];

fn insert_path(map: &mut Mapping, path: &[String], value: Value) {
    let key = Value::String(path[0].clone());
    if path.len() == 1 {
        map.insert(key, value);
        return;
    }
    let child = map.entry(key).or_insert_with(|| Value::Mapping(Mapping::new()));
    if !child.is_mapping() {
        *child = Value::Mapping(Mapping::new());
    }
    if let Value::Mapping(child) = child {
        insert_path(child, &path[1..], value);
    }
}

fn strip_location(message: &str) -> String {
    match message.find(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

/// Maps later over earlier; lists and scalars are replaced whole.
pub(super) fn merge(base: &mut Value, over: &Value) {
    match (base, over) {
        (Value::Mapping(base), Value::Mapping(over)) => {
            for (key, value) in over {
                match base.get_mut(key) {
                    Some(existing) if existing.is_mapping() && value.is_mapping() => merge(existing, value),
                    _ => {
                        base.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        (base, over) => *base = over.clone(),
    }
}

/// Builds the layered configuration.
#[derive(Debug, Clone)]
pub struct ConfigLoader {
    user_file: Option<PathBuf>,
    use_user_file: bool,
    workspace: Option<PathBuf>,
    use_environment: bool,
    extra: Vec<Layer>,
}

impl Default for ConfigLoader {
    fn default() -> Self {
        ConfigLoader { user_file: None, use_user_file: true, workspace: None, use_environment: true, extra: Vec::new() }
    }
}

impl ConfigLoader {
    /// An explicit config file in place of `~/.config/code-evolver/config.yaml`.
    pub fn user_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.user_file = Some(path.into());
        self
    }

    pub fn without_user_file(mut self) -> Self {
        self.use_user_file = false;
        self
    }

    /// The folder whose `.code-evolver.yaml` is read.
    pub fn workspace(mut self, dir: impl Into<PathBuf>) -> Self {
        self.workspace = Some(dir.into());
        self
    }

    pub fn without_environment(mut self) -> Self {
        self.use_environment = false;
        self
    }

    /// A layer above all others (editor settings).
    pub fn layer(mut self, layer: Layer) -> Self {
        self.extra.push(layer);
        self
    }

    fn default_user_file() -> Option<PathBuf> {
        if let Ok(path) = std::env::var("CODE_EVOLVER_CONFIG") {
            return Some(PathBuf::from(path));
        }
        dirs::config_dir().map(|d| d.join("code-evolver").join("config.yaml"))
    }

    fn read_file(path: &Path, required: bool) -> Result<Option<Layer>, ConfigError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Layer::from_yaml(path.display().to_string(), &text).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => Ok(None),
            Err(error) => Err(ConfigError::Read { path: path.to_path_buf(), error }),
        }
    }

    pub fn layers(&self) -> Result<Vec<Layer>, ConfigError> {
        let mut layers = vec![Layer::from_yaml("config/default.yaml", DEFAULT_YAML)?];
        if self.use_user_file {
            let explicit = self.user_file.is_some() || std::env::var_os("CODE_EVOLVER_CONFIG").is_some();
            if let Some(path) = self.user_file.clone().or_else(Self::default_user_file)
                && let Some(layer) = Self::read_file(&path, explicit)?
            {
                layers.push(layer);
            }
        }
        let workspace = self
            .workspace
            .clone()
            .or_else(|| std::env::var_os("CODE_EVOLVER_WORKSPACE").map(PathBuf::from))
            .or_else(|| std::env::current_dir().ok());
        if let Some(dir) = workspace
            && let Some(layer) = Self::read_file(&dir.join(".code-evolver.yaml"), false)?
        {
            layers.push(layer);
        }
        if self.use_environment {
            layers.push(Layer::from_environment(std::env::vars())?);
        }
        layers.extend(self.extra.iter().cloned());
        Ok(layers)
    }

    pub fn load(&self) -> Result<Config, ConfigError> {
        let layers = self.layers()?;
        load_layers(layers).map(|(config, _warnings)| config)
    }

    /// The configuration and any warnings (seed sections that were ignored).
    pub fn load_with_warnings(&self) -> Result<(Config, Vec<String>), ConfigError> {
        load_layers(self.layers()?)
    }
}

pub(super) fn load_layers(mut layers: Vec<Layer>) -> Result<(Config, Vec<String>), ConfigError> {
    let mut warnings = Vec::new();
    let mut merged = Value::Mapping(Mapping::new());
    for layer in &mut layers {
        warnings.extend(seed::translate(layer)?);
        check_alone(layer)?;
        merge(&mut merged, &layer.value);
    }
    let config: Config = serde_path_to_error::deserialize(merged).map_err(|e| ConfigError::Invalid {
        source_name: "merged configuration".into(),
        line: None,
        message: format!("`{}`: {}", e.path(), e.inner()),
    })?;
    validate::validate(&config, &layers)?;
    Ok((config, warnings))
}

fn check_alone(layer: &Layer) -> Result<(), ConfigError> {
    let result: Result<Config, _> = serde_path_to_error::deserialize(layer.value.clone());
    if let Err(e) = result {
        let path: Vec<String> = e.path().iter().map(|seg| seg.to_string()).filter(|s| s != "?").collect();
        let inner = strip_location(&e.inner().to_string());
        // Unknown keys are reported at their parent; name the key itself when serde did.
        let mut lookup = path.clone();
        if let Some(key) = inner.strip_prefix("unknown field `").and_then(|r| r.split('`').next()) {
            lookup.push(key.to_string());
        }
        let key = if path.is_empty() { lookup.join(".") } else { path.join(".") };
        return Err(ConfigError::Invalid {
            source_name: layer.name.clone(),
            line: layer.line_of(&lookup).or_else(|| layer.line_of(&path)),
            message: if key.is_empty() { inner } else { format!("`{key}`: {inner}") },
        });
    }
    Ok(())
}
