//! The configuration's shape. Every struct defaults, so that one layer (a user or workspace file)
//! can be checked alone and name its own line; `validate` checks the merged whole.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub backends: BTreeMap<String, BackendConfig>,
    pub roles: Roles,
    pub tools: BTreeMap<String, ToolConfig>,
    pub limits: Limits,
    pub pipeline: PipelineConfig,
    pub runtime: RuntimeConfig,
    pub sandbox: SandboxConfig,
    pub editor: EditorConfig,
    pub memory: MemoryConfig,
    pub auto_evolution: AutoEvolutionConfig,
    pub tool_fitness: ToolFitnessConfig,
    pub workflow: WorkflowConfig,
}

/// Compound tasks as workflows of verified steps (the prototype's `chat.workflow_mode`, same keys):
/// a task holding one of `detect_keywords` is put to the overseer, who may split it into
/// `min_steps`..=`max_steps` steps; each step is evolved (or recalled) as its own node and the
/// task's function calls them. A step may itself be split, `max_depth` levels at most (the
/// prototype's bound: 3).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WorkflowConfig {
    pub enabled: bool,
    pub detect_keywords: Vec<String>,
    pub min_steps: u32,
    pub max_steps: u32,
    pub max_depth: u32,
}

impl Default for WorkflowConfig {
    fn default() -> Self {
        WorkflowConfig {
            enabled: false,
            detect_keywords: ["and", "then", "translate", "convert"].map(String::from).to_vec(),
            min_steps: 2,
            max_steps: 4,
            max_depth: 3,
        }
    }
}

/// How tools (configured ones and verified nodes) are ranked for a task: the prototype's fitness
/// (similarity × 100, then points for declared tiers and measured figures), each term scaled by
/// its weight here (0 turns a term off).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ToolFitnessConfig {
    pub similarity: f64,
    /// Declared speed, cost and quality tiers.
    pub tiers: f64,
    /// Measured success rate of its calls (from 3 calls on).
    pub success: f64,
    /// Measured median latency.
    pub latency: f64,
    /// How often it was used.
    pub usage: f64,
    /// The tool's own `manual_weight`.
    pub manual: f64,
    /// Tools shown to the overseer for a task.
    pub offered: usize,
    /// Below this similarity a tool is not offered.
    pub min_similarity: f64,
}

impl Default for ToolFitnessConfig {
    fn default() -> Self {
        ToolFitnessConfig {
            similarity: 1.0,
            tiers: 1.0,
            success: 1.0,
            latency: 1.0,
            usage: 1.0,
            manual: 1.0,
            offered: 3,
            min_similarity: 0.5,
        }
    }
}

/// Nodes that keep evolving (the prototype's `auto_evolution` section, same keys).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AutoEvolutionConfig {
    /// The background loop in the language server and the chat REPL (`evolve-due` works either way).
    pub enabled: bool,
    /// A node is due when its recent success rate or latency is this much worse (0.15 = 15%)
    /// than before.
    pub performance_threshold: f64,
    /// Real runs of the current version before its figures count.
    pub min_runs_before_evolution: u32,
    pub check_interval_minutes: f64,
    /// Versions kept per node at most; beyond, the worst are pruned (lineage of the current kept).
    pub max_versions_per_node: u32,
    pub keep_best_n_versions: u32,
    /// Temperature of the first re-evolution attempt.
    pub mutation_temperature: f32,
}

impl Default for AutoEvolutionConfig {
    fn default() -> Self {
        AutoEvolutionConfig {
            enabled: false,
            performance_threshold: 0.15,
            min_runs_before_evolution: 3,
            check_interval_minutes: 60.0,
            max_versions_per_node: 10,
            keep_best_n_versions: 3,
            mutation_temperature: 0.7,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MemoryStoreKind {
    /// SQLite in the data dir (or the workspace's `.code-evolver/` with `path`), no server.
    #[default]
    Embedded,
    /// A Qdrant server (gRPC), for more than one machine.
    Qdrant,
    /// No memory: nothing is recalled or remembered.
    Off,
}

/// The memory of verified solutions: where it lives and when it is used.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MemoryConfig {
    pub store: MemoryStoreKind,
    /// The SQLite file (empty: `memory.db` in the data dir).
    pub path: String,
    /// Qdrant's gRPC URL (`http://localhost:6334`) and collection.
    pub qdrant_url: String,
    pub qdrant_api_key: String,
    pub collection: String,
    /// Similarity at or above which a verified function is reused (its tests re-run first).
    pub reuse_threshold: f32,
    /// From here up to `reuse_threshold` the model judges SAME / RELATED / DIFFERENT.
    pub related_threshold: f32,
    /// A stored spec at least this similar is shown to the overseer.
    pub spec_threshold: f32,
    /// A stored fix for an error at least this similar is shown to the escalation.
    pub fix_threshold: f32,
    /// How many matches each lookup considers.
    pub candidates: usize,
}

/// What the language server does in the editor.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EditorConfig {
    /// Linters whose findings become diagnostics (any of ruff, flake8, pylint, mypy, black).
    pub diagnostics: Vec<String>,
    /// Quiet time after a change before the linters run again (ms); 0 = only on open and save.
    pub lint_delay_ms: u64,
    /// Run the optimize stage when evolving from the editor.
    pub optimize: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    Ollama,
    Openai,
    Embedded,
}

impl BackendKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BackendKind::Ollama => "ollama",
            BackendKind::Openai => "openai",
            BackendKind::Embedded => "embedded",
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BackendConfig {
    pub kind: Option<BackendKind>,
    /// A single endpoint; `endpoints` wins when both are given.
    pub url: Option<String>,
    pub endpoints: Vec<EndpointSpec>,
    /// Defaults for every endpoint of this backend.
    pub max_concurrent: Option<usize>,
    /// The longest a whole call may take.
    pub timeout_s: Option<f64>,
    /// The longest silence while an answer streams (before the first token included): a server
    /// that stalls mid-answer is noticed in this, not after the whole `timeout_s`.
    pub idle_timeout_s: Option<f64>,
    /// `${VAR}` reads the environment.
    pub api_key: Option<String>,
    /// Failover attempts over all endpoints before a call fails.
    pub retries: Option<u32>,
    /// A backend to use instead when none of this one's endpoints can be reached (each role
    /// names its `fallback_model` there).
    pub fallback: Option<String>,
    /// Embedded only: where the GGUF files are (default: the data dir's `models/`).
    pub models_dir: Option<String>,
    /// Embedded only: threads for llama.cpp (1-2 on small machines; no OpenMP).
    pub threads: Option<i32>,
    /// Embedded only: context length in tokens.
    pub context: Option<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum EndpointSpec {
    Url(String),
    Full(EndpointConfig),
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EndpointConfig {
    pub url: String,
    pub max_concurrent: Option<usize>,
    pub timeout_s: Option<f64>,
    pub api_key: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RoleConfig {
    pub backend: Option<String>,
    pub model: Option<String>,
    pub temperature: Option<f32>,
    pub max_tokens: Option<u32>,
    pub seed: Option<u64>,
    /// The model on the backend's fallback backend.
    pub fallback_model: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GeneratorRoles {
    pub fast: RoleConfig,
    pub powerful: RoleConfig,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Roles {
    pub classifier: RoleConfig,
    pub overseer: RoleConfig,
    pub generator: GeneratorRoles,
    pub escalation: RoleConfig,
    pub evaluator: RoleConfig,
    pub content: RoleConfig,
    pub embedding: RoleConfig,
}

/// The model roles the pipeline and tools call by name.
/// A role a model plays. Written in configuration as its name (`generator.fast`); read once, at
/// load, into this type (an unknown name is refused there, with the key and the known names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Role {
    Classifier,
    Overseer,
    #[default]
    GeneratorFast,
    GeneratorPowerful,
    Escalation,
    Evaluator,
    Content,
    Embedding,
}

impl Serialize for Role {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Role {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Role, D::Error> {
        let name = String::deserialize(deserializer)?;
        Role::parse(&name).ok_or_else(|| {
            let known: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
            serde::de::Error::custom(format!("`{name}` is not a role ({})", known.join(", ")))
        })
    }
}

impl Role {
    pub const ALL: [Role; 8] = [
        Role::Classifier,
        Role::Overseer,
        Role::GeneratorFast,
        Role::GeneratorPowerful,
        Role::Escalation,
        Role::Evaluator,
        Role::Content,
        Role::Embedding,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Classifier => "classifier",
            Role::Overseer => "overseer",
            Role::GeneratorFast => "generator.fast",
            Role::GeneratorPowerful => "generator.powerful",
            Role::Escalation => "escalation",
            Role::Evaluator => "evaluator",
            Role::Content => "content",
            Role::Embedding => "embedding",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == text)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Roles {
    /// Every chat role (all but `embedding`), for settings that move them together.
    pub fn chat_roles_mut(&mut self) -> [&mut RoleConfig; 7] {
        [
            &mut self.classifier,
            &mut self.overseer,
            &mut self.generator.fast,
            &mut self.generator.powerful,
            &mut self.escalation,
            &mut self.evaluator,
            &mut self.content,
        ]
    }

    pub fn get(&self, role: Role) -> &RoleConfig {
        match role {
            Role::Classifier => &self.classifier,
            Role::Overseer => &self.overseer,
            Role::GeneratorFast => &self.generator.fast,
            Role::GeneratorPowerful => &self.generator.powerful,
            Role::Escalation => &self.escalation,
            Role::Evaluator => &self.evaluator,
            Role::Content => &self.content,
            Role::Embedding => &self.embedding,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ToolKind {
    #[default]
    Llm,
    Executable,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ToolConfig {
    pub name: String,
    pub kind: ToolKind,
    pub description: String,
    pub cost_tier: Option<String>,
    pub speed_tier: Option<String>,
    pub quality_tier: Option<String>,
    pub tags: Vec<String>,
    pub llm: Option<LlmToolConfig>,
    pub executable: Option<ExecutableToolConfig>,
    /// Added to the tool's fitness as it is (the prototype's `manual_weight`).
    pub manual_weight: f64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LlmToolConfig {
    /// A role (`content`, `generator.fast`, ...); `model` overrides the role's model.
    pub role: Option<Role>,
    pub model: Option<String>,
    pub system_prompt: Option<String>,
    /// `{prompt}` and any keyword argument of `call_tool` by name.
    pub prompt_template: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExecutableToolConfig {
    pub command: String,
    /// `{prompt}` is replaced by the prompt; the prompt is also given on stdin.
    pub args: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    pub node_timeout_s: f64,
    pub node_memory_mb: u64,
    pub node_cpu_s: u64,
    pub node_file_size_mb: u64,
    pub node_processes: u64,
    pub evolve_tokens: u64,
    pub evolve_time_s: f64,
    pub tool_call_timeout_s: f64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Rung {
    pub role: Role,
    pub temperature: f32,
    /// A fresh sample: the rung sees the task alone, not the previous code and its failures.
    /// Small models often repeat or break code they are asked to repair; an independent sample,
    /// judged by the same tests, is another chance.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub fresh: bool,
    /// How a task that carries a stub is asked on this rung. Unset: a model's first independent
    /// attempt is the completion request, its later ones and every repair the instruction.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub form: Option<StubForm>,
}

/// Two ways to ask for a stub's body. A second independent sample asked in other words differs
/// more than one drawn hotter from the same words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StubForm {
    /// "Complete this function" and the stub: the request models are trained on, word for word
    /// the one-shot baseline's.
    Completion,
    /// The task as the user wrote it, under the code stage's rules (no prints, no tests).
    Instruction,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OptimizeConfig {
    pub iterations: u32,
    pub runs: u32,
    pub min_speedup: f64,
    pub noise_factor: f64,
    pub max_memory_growth: f64,
    pub run_ms: u64,
    /// The role asked for faster versions, and at what temperature.
    pub role: Role,
    pub temperature: f32,
    /// An evolve does not ask for a faster version of code already faster than this per call
    /// (explicit `optimize` requests always ask).
    pub skip_below_ns: f64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AnalysisConfig {
    pub linters: Vec<String>,
    pub blocking: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PipelineConfig {
    pub escalation: Vec<Rung>,
    pub optimize: OptimizeConfig,
    pub analysis: AnalysisConfig,
    pub mutation: MutationConfig,
    pub consensus: ConsensusConfig,
    pub properties: PropertiesConfig,
    pub classify_fallback_keywords: bool,
}

/// Properties the spec states of every result (sorted, no duplicates, ...), checked on inputs
/// generated from the parameter types as well as on the cases.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PropertiesConfig {
    /// Generated inputs each property is checked on; 0 turns property checks off.
    pub inputs: u32,
}

/// How strong the final tests are: mutants of the verified code the tests must fail.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MutationConfig {
    /// Mutants made and run; 0 turns the measure off.
    pub max_mutants: u32,
    /// Below this share of mutants killed, the overseer is asked for more cases (once).
    pub min_score: f64,
    /// Whether weak tests are extended (false: only measured and shown).
    pub extend: bool,
}

/// Independent implementations that judge the overseer's expected values when correct-looking
/// code fails them (CodeT's dual execution agreement).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConsensusConfig {
    /// Fresh implementations sampled beside the failing one; 0 turns consensus off.
    pub samples: u32,
    /// How many implementations must behave alike to count as a consensus.
    pub min_agree: u32,
    /// Who writes them, and how hot.
    pub role: Role,
    pub temperature: f32,
    /// Fresh implementations that, once a version passes, run beside it on edge inputs (probe.rs).
    pub probe: u32,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RuntimeConfig {
    pub python: String,
}

/// The jail generated code runs in (see the README's "The sandbox").
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SandboxConfig {
    /// bubblewrap: empty finds `bwrap` on PATH; a path; `off` runs without the jail.
    pub bwrap: String,
    /// Layers without which no generated code runs at all.
    pub require: Vec<JailLayer>,
    /// Size of the jail's private /tmp, where runs write (MiB).
    pub tmp_mb: u64,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig { bwrap: String::new(), require: Vec::new(), tmp_mb: 256 }
    }
}

/// One layer of the jail, as `status` reports it and `sandbox.require` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JailLayer {
    /// An unprivileged uid on the host and no capabilities.
    Unprivileged,
    /// Its own pid namespace.
    Pid,
    /// Its own mount namespace (read-only system, private /tmp).
    Mount,
    /// No network.
    Network,
    /// Its own IPC and UTS namespaces.
    IpcUts,
    /// A seccomp filter.
    Seccomp,
}

impl JailLayer {
    pub const ALL: [JailLayer; 6] = [
        JailLayer::Unprivileged,
        JailLayer::Pid,
        JailLayer::Mount,
        JailLayer::Network,
        JailLayer::IpcUts,
        JailLayer::Seccomp,
    ];

    pub fn name(self) -> &'static str {
        match self {
            JailLayer::Unprivileged => "unprivileged",
            JailLayer::Pid => "pid",
            JailLayer::Mount => "mount",
            JailLayer::Network => "network",
            JailLayer::IpcUts => "ipc_uts",
            JailLayer::Seccomp => "seccomp",
        }
    }

    /// What the layer stops; without it, that is what stays open.
    pub fn stops(self) -> &'static str {
        match self {
            JailLayer::Unprivileged => {
                "reading root-only files (/etc/shadow), signalling or tracing the evolver, sethostname and other capabilities"
            }
            JailLayer::Pid => {
                "seeing or killing host processes, reading their /proc (environ: API keys), outliving the run"
            }
            JailLayer::Mount => {
                "reading $HOME, the data dir, registry and memory; reaching host Unix sockets; writing outside the run"
            }
            JailLayer::Network => "any network: TCP, UDP, DNS, abstract Unix sockets",
            JailLayer::IpcUts => "host SysV IPC and message queues, changing the host name",
            JailLayer::Seccomp => {
                "ptrace, mount, bpf, keyctl, kexec, reboot, unshare and other calls a node never needs"
            }
        }
    }
}
