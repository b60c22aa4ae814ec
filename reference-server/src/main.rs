//! `reference-server`: parses the configuration, sets up logging, binds, and runs the library's
//! server until SIGINT or SIGTERM.

use std::time::Duration;

use clap::Parser;
use reference_server::config::{Cli, Command, RulesAction};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,reference_server=info".into()),
        )
        .init();
    let cli = Cli::parse();
    let built = match reference_server::build(&cli.options).await {
        Ok(built) => built,
        Err(error) => {
            eprintln!("error: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    if let Some(password) = &built.generated_admin_password {
        tracing::warn!(
            "created the superuser `admin` with the password {password} — log in at /agent/login/ \
             and keep it safe; it is not shown again (set CHATCORE_ADMIN_PASSWORD to choose one)"
        );
    }
    match cli.command.unwrap_or(Command::Serve) {
        Command::Check => {
            println!(
                "configuration ok; the {:?} backend answers",
                cli.options.backend
            );
            std::process::ExitCode::SUCCESS
        }
        Command::Stats { days } => {
            report(reference_server::cli::stats(built.state.chat(), days).await)
        }
        Command::CreateAgent {
            username,
            display_name,
            superuser,
        } => {
            let mut password = String::new();
            if std::io::stdin().read_line(&mut password).is_err() || password.trim().is_empty() {
                eprintln!(
                    "error: give the new agent's password on the first line of standard input"
                );
                return std::process::ExitCode::FAILURE;
            }
            report(
                reference_server::cli::create_agent(
                    built.state.chat(),
                    &username,
                    display_name.as_deref(),
                    superuser,
                    password.trim_end_matches(['\r', '\n']),
                )
                .await,
            )
        }
        Command::Rules {
            action: RulesAction::Export,
        } => report(reference_server::cli::export_rules(built.state.chat()).await),
        Command::Rules {
            action: RulesAction::Import { file },
        } => report(reference_server::cli::import_rules(built.state.chat(), &file).await),
        Command::Rules {
            action:
                RulesAction::WhatIf {
                    file,
                    transcripts,
                    days,
                    max_rooms,
                    json,
                },
        } => report(
            reference_server::cli::what_if(
                built.state.chat(),
                &file,
                transcripts.as_deref(),
                days,
                usize::try_from(max_rooms).unwrap_or(usize::MAX),
                json,
            )
            .await,
        ),
        Command::Serve => {
            let listener = match tokio::net::TcpListener::bind(cli.options.addr).await {
                Ok(listener) => listener,
                Err(error) => {
                    eprintln!("error: cannot listen on {}: {error}", cli.options.addr);
                    return std::process::ExitCode::FAILURE;
                }
            };
            tracing::info!(
                "listening on http://{} — visitors: /chat/, agents: /agent/login/",
                cli.options.addr
            );
            let served =
                reference_server::serve(listener, built.state, built.shutdown, shutdown_signal())
                    .await;
            if let Some(closed) = built.store_closed {
                // Sockets finishing their closing handshakes hold the store a little longer (up to
                // their 10 s send timeout). Exiting before the store closes would leave the WAL
                // beside chat.db (nothing lost, but the file would not hold everything alone).
                if tokio::time::timeout(Duration::from_secs(15), closed.wait())
                    .await
                    .is_err()
                {
                    tracing::warn!(
                        "the store did not close within 15 s; its WAL stays beside chat.db and is \
                         read at the next start (nothing is lost)"
                    );
                }
            }
            match served {
                Ok(()) => std::process::ExitCode::SUCCESS,
                Err(error) => {
                    eprintln!("error: {error}");
                    std::process::ExitCode::FAILURE
                }
            }
        }
    }
}

/// Prints a subcommand's output, or its error.
fn report(result: Result<String, String>) -> std::process::ExitCode {
    match result {
        Ok(output) => {
            use std::io::Write;
            // A reader that stops early (`| head`) is not an error worth a panic.
            let mut stdout = std::io::stdout().lock();
            match writeln!(stdout, "{output}").and_then(|()| stdout.flush()) {
                Err(error) if error.kind() != std::io::ErrorKind::BrokenPipe => {
                    eprintln!("error: cannot write the output: {error}");
                    std::process::ExitCode::FAILURE
                }
                _ => std::process::ExitCode::SUCCESS,
            }
        }
        Err(error) => {
            eprintln!("error: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(_) => {
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
    tracing::info!("shutting down: closing connections");
}
