//! `cachearr config`: check a config file, print a commented example.

use std::path::PathBuf;

use cachearr_gateway::Config;
use cachearr_gateway::config::{ConfigError, EXAMPLE};

/// Arguments of `cachearr config`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, clap::Subcommand)]
enum Action {
    /// Validate a config file; errors point at the line and column.
    Check {
        /// The TOML file.
        file: PathBuf,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print a commented example config.
    Example,
}

/// Runs `cachearr config …`.
pub(crate) async fn run(args: Args) -> anyhow::Result<()> {
    match args.action {
        Action::Example => {
            print!("{EXAMPLE}");
            Ok(())
        }
        Action::Check { file, json } => {
            let result = Config::from_file(&file).and_then(|c| c.check_runnable().map(|()| c));
            match result {
                Ok(c) => {
                    if json {
                        let ups: Vec<_> = c
                            .upstreams
                            .iter()
                            .map(|u| {
                                serde_json::json!({
                                    "name": u.name,
                                    "profile": u.profile.as_str(),
                                    "url": u.url.to_string(),
                                    "listen": u.listen.to_string(),
                                    "routes": u.routes.len(),
                                })
                            })
                            .collect();
                        println!(
                            "{}",
                            serde_json::json!({"ok": true, "file": file.display().to_string(), "upstreams": ups})
                        );
                    } else {
                        println!("{}: ok ({} upstream(s))", file.display(), c.upstreams.len());
                        for u in &c.upstreams {
                            println!(
                                "  {} ({}) {} → listen {}",
                                u.name,
                                u.profile.as_str(),
                                u.url,
                                u.listen
                            );
                        }
                    }
                    Ok(())
                }
                Err(e) => {
                    if json {
                        let (line, column) = match &e {
                            ConfigError::Parse { line, column, .. } => (Some(*line), Some(*column)),
                            _ => (None, None),
                        };
                        println!(
                            "{}",
                            serde_json::json!({"ok": false, "file": file.display().to_string(),
                                "line": line, "column": column, "error": e.to_string()})
                        );
                        anyhow::bail!("invalid config");
                    }
                    Err(e.into())
                }
            }
        }
    }
}
