//! The options both adapters (the CLI and the language server) start from: an explicit config
//! file, the workspace, the data dir. Shared here so that neither adapter imports the other.

use crate::config::ConfigLoader;
use std::path::PathBuf;

#[derive(Debug, Clone, Default)]
pub struct Global {
    pub config: Option<PathBuf>,
    pub workspace: Option<PathBuf>,
    pub data_dir: Option<PathBuf>,
}

impl Global {
    pub fn data_dir(&self) -> PathBuf {
        self.data_dir.clone().unwrap_or_else(crate::paths::data_dir)
    }

    pub fn loader(&self) -> ConfigLoader {
        let mut loader = ConfigLoader::default();
        if let Some(c) = &self.config {
            loader = loader.user_file(c);
        }
        if let Some(w) = &self.workspace {
            loader = loader.workspace(w);
        }
        loader
    }
}
