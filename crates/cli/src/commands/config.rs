//! `cachearr config`: check a config file, print a commented example.

use std::path::PathBuf;

use cachearr_config::Config;
use cachearr_config::{ConfigError, EXAMPLE};

/// Arguments of `cachearr config`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, clap::Subcommand)]
enum Action {
    /// Validate a config file exactly as `serve` would start it (with the same CACHEARR_*
    /// variables and flags applied); errors point at the line and column.
    Check {
        /// The TOML file (or --config / CACHEARR_CONFIG).
        file: Option<PathBuf>,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
        /// The flags of `cachearr serve`, applied on top of the file as `serve` applies them.
        #[command(flatten)]
        serve: Box<super::serve::Args>,
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
        Action::Check {
            file,
            json,
            mut serve,
        } => {
            if let Some(file) = file {
                serve.set_config_file(file);
            }
            let file = serve
                .config_file()
                .map_or_else(|| "(no file)".to_string(), |f| f.display().to_string());
            let result = super::serve::build_config(&serve).and_then(|c| {
                cachearr_gateway::check_startable(&c).map_err(|e| match e {
                    cachearr_gateway::GatewayError::Config(c) => c,
                    other => ConfigError::Invalid(other.to_string()),
                })?;
                Ok(c)
            });
            match result {
                Ok(c) => {
                    print_checked(&file, &c, json);
                    Ok(())
                }
                Err(e) => check_failed(&file, e, json),
            }
        }
    }
}

/// What a good configuration starts: its upstreams, the webhook secret, the warnings.
fn print_checked(file: &str, c: &Config, json: bool) {
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
                    "owner_token": u.token.is_some(),
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::json!({"ok": true, "file": file, "upstreams": ups,
                "warnings": c.warnings()})
        );
    } else {
        println!("{file}: ok ({} upstream(s))", c.upstreams.len());
        for u in &c.upstreams {
            println!(
                "  {} ({}) {} → listen {}; owner token {}",
                u.name,
                u.profile.as_str(),
                u.url,
                u.listen,
                if u.token.is_some() { "set" } else { "not set" }
            );
            if u.token.is_none() {
                println!(
                    "    without it {}",
                    cachearr_gateway::startup::WITHOUT_TOKEN
                );
            }
        }
        print_webhook_secret(c);
        for w in c.warnings() {
            println!("warning: {w}");
        }
    }
}

/// Where the webhook secret is and each upstream's webhook URL, once `serve` has made the
/// secret; never the secret itself (terminal output is copied into reports and issues).
fn print_webhook_secret(c: &Config) {
    use cachearr_gateway::webhook_secret::{self, WebhookSecret};
    match WebhookSecret::read(&c.data_dir) {
        Ok(Some(_)) => {
            println!(
                "webhook secret: {}",
                webhook_secret::where_it_is(&c.data_dir)
            );
            for u in &c.upstreams {
                println!(
                    "  {} webhook URL: {}",
                    u.name,
                    webhook_secret::url_template(c.admin_listen, u.profile.as_str(), &u.name)
                );
            }
        }
        Ok(None) => println!(
            "webhook secret: not made yet (`cachearr serve` makes it at first \
             start in {})",
            c.data_dir.display()
        ),
        Err(e) => println!("webhook secret: {e}"),
    }
}

/// Where a configuration fails, as text or JSON.
fn check_failed(file: &str, e: ConfigError, json: bool) -> anyhow::Result<()> {
    if json {
        let (line, column) = match &e {
            ConfigError::Parse { line, column, .. } => (Some(*line), Some(*column)),
            _ => (None, None),
        };
        // The error and its causes on one line (`{:#}`): no message repeats its cause.
        let error = format!("{:#}", anyhow::Error::new(e));
        println!(
            "{}",
            serde_json::json!({"ok": false, "file": file,
                    "line": line, "column": column, "error": error})
        );
        anyhow::bail!("invalid config");
    }
    Err(e.into())
}
