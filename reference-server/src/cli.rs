//! The operator subcommands (the seed's `manage.py` recipes), as functions returning their output.

use chatcore::{AgentRole, AnalyticsWindow, ChatService, NewAgent, NewRule, RoomQuery, RoomStatus};

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
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let rules: Vec<NewRule> = serde_json::from_str(&text)
        .map_err(|e| format!("{} is not a rules file: {e}", file.display()))?;
    let count = rules.len();
    let set = chat.replace_rules(rules).await.map_err(|e| e.to_string())?;
    Ok(format!(
        "imported {count} rules (rule version {})",
        set.version
    ))
}
