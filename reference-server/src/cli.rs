//! The operator subcommands (the seed's `manage.py` recipes), as functions returning their output.

use chatcore::{
    AgentRole, AnalyticsWindow, ChatService, NewAgent, NewRule, RoomQuery, RoomStatus, Transcript,
};

use crate::auth;

/// `stats`: room counts by status and the analytics summary.
pub async fn stats(chat: &ChatService, days: u32) -> Result<String, String> {
    let window = AnalyticsWindow::last_days(chat.now(), days.clamp(1, 3650));
    let figures = chat.analytics(window).await.map_err(|e| e.to_string())?;
    let mut out = String::new();
    for status in RoomStatus::OPEN {
        let rooms = chat
            .rooms(&RoomQuery::with_statuses([status]).page(0, chatcore::MAX_PAGE))
            .await
            .map_err(|e| e.to_string())?;
        let more = if rooms.len() == chatcore::MAX_PAGE {
            "+"
        } else {
            ""
        };
        out.push_str(&format!(
            "open rooms {:<18} {}{more}\n",
            status.as_str(),
            rooms.len()
        ));
    }
    out.push_str(&serde_json::to_string_pretty(&figures).map_err(|e| e.to_string())?);
    Ok(out)
}

/// `create-agent`: a staff or superuser account.
pub async fn create_agent(
    chat: &ChatService,
    username: &str,
    display_name: Option<&str>,
    superuser: bool,
    password: &str,
) -> Result<String, String> {
    if password.chars().count() < 8 {
        return Err("the password needs at least 8 characters".into());
    }
    let hash = auth::hash_password(password)?;
    let role = if superuser {
        AgentRole::Superuser
    } else {
        AgentRole::Staff
    };
    let agent = chat
        .create_agent(NewAgent::new(
            username,
            display_name.unwrap_or(username),
            role,
            hash,
        ))
        .await
        .map_err(|e| e.to_string())?;
    Ok(format!(
        "created {} account {} (id {})",
        agent.role.as_str(),
        agent.username,
        agent.id
    ))
}

/// `rules export`: every rule as JSON (the format `rules import` reads).
pub async fn export_rules(chat: &ChatService) -> Result<String, String> {
    let rules: Vec<NewRule> = chat
        .rules()
        .await
        .map_err(|e| e.to_string())?
        .rules
        .into_iter()
        .map(NewRule::from)
        .collect();
    serde_json::to_string_pretty(&rules).map_err(|e| e.to_string())
}

/// `rules import FILE`: replaces every rule, after checking them all.
pub async fn import_rules(chat: &ChatService, file: &std::path::Path) -> Result<String, String> {
    let rules = read_rules_file(file)?;
    let count = rules.len();
    let set = chat.replace_rules(rules).await.map_err(|e| e.to_string())?;
    Ok(format!(
        "imported {count} rules (rule version {})",
        set.version
    ))
}

/// `rules what-if FILE`: what the rules in FILE would change over past chats (or a transcripts
/// file), without saving anything.
pub async fn what_if(
    chat: &ChatService,
    file: &std::path::Path,
    transcripts: Option<&std::path::Path>,
    days: u32,
    max_rooms: usize,
    json: bool,
) -> Result<String, String> {
    let rules = read_rules_file(file)?;
    let transcripts = match transcripts {
        Some(path) => {
            let reader = std::fs::File::open(path)
                .map(std::io::BufReader::new)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            Transcript::from_jsonl(reader).map_err(|e| format!("{}: {e}", path.display()))?
        }
        None => {
            let since = AnalyticsWindow::last_days(chat.now(), days).from;
            chat.transcripts(since, max_rooms)
                .await
                .map_err(|e| e.to_string())?
        }
    };
    let report = chat
        .what_if(rules, &transcripts)
        .await
        .map_err(|e| e.to_string())?;
    if json {
        serde_json::to_string_pretty(&report).map_err(|e| e.to_string())
    } else {
        Ok(report.to_string())
    }
}

fn read_rules_file(file: &std::path::Path) -> Result<Vec<NewRule>, String> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{} is not a rules file: {e}", file.display()))
}
