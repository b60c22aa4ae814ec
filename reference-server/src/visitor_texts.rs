//! The visitor page's own words (buttons, status lines) in the languages the bot speaks, so a
//! Spanish or French visitor reads one language throughout. Staff pages stay in English.

use serde::Serialize;

/// The visitor page's texts in one language. `{n}`, `{max}`, `{name}` and `{wait}` are filled in by
/// the page's script.
#[derive(Clone, Copy, Debug, Serialize)]
pub(crate) struct VisitorTexts {
    pub(crate) lang: &'static str,
    pub(crate) title: &'static str,
    pub(crate) conversation: &'static str,
    pub(crate) agent_typing: &'static str,
    pub(crate) how_did_we_do: &'static str,
    pub(crate) out_of_5: &'static str,
    pub(crate) new_chat: &'static str,
    pub(crate) your_message: &'static str,
    pub(crate) placeholder: &'static str,
    pub(crate) send: &'static str,
    pub(crate) human: &'static str,
    pub(crate) end: &'static str,
    pub(crate) you: &'static str,
    pub(crate) assistant: &'static str,
    pub(crate) agent: &'static str,
    pub(crate) status_bot: &'static str,
    pub(crate) status_waiting: &'static str,
    pub(crate) queue_place: &'static str,
    pub(crate) expected_wait: &'static str,
    pub(crate) shortly: &'static str,
    pub(crate) under_a_minute: &'static str,
    pub(crate) minutes: &'static str,
    pub(crate) one_minute: &'static str,
    pub(crate) status_with: &'static str,
    pub(crate) an_agent: &'static str,
    pub(crate) status_closed: &'static str,
    pub(crate) not_connected: &'static str,
    pub(crate) connection_lost: &'static str,
    pub(crate) too_long: &'static str,
    pub(crate) confirm_end: &'static str,
    pub(crate) unavailable: &'static str,
}

const ENGLISH: VisitorTexts = VisitorTexts {
    lang: "en",
    title: "Chat with us",
    conversation: "Conversation",
    agent_typing: "The agent is typing…",
    how_did_we_do: "How did we do?",
    out_of_5: "{n} out of 5",
    new_chat: "Start a new chat",
    your_message: "Your message",
    placeholder: "Type your question and press Enter",
    send: "Send",
    human: "Talk to a human",
    end: "End chat",
    you: "You",
    assistant: "Assistant",
    agent: "Agent",
    status_bot: "Chatting with our assistant",
    status_waiting: "Waiting for an agent",
    queue_place: " — you are number {n} in the queue",
    expected_wait: ". Expected wait: {wait}.",
    shortly: ". Someone will be with you shortly.",
    under_a_minute: "less than a minute",
    minutes: "about {n} minutes",
    one_minute: "about 1 minute",
    status_with: "Chatting with {name}",
    an_agent: "an agent",
    status_closed: "This chat has ended",
    not_connected: "Not connected — reconnecting…",
    connection_lost: "Connection lost — reconnecting…",
    too_long: "Your message is longer than {max} characters.",
    confirm_end: "End this chat?",
    unavailable: "The chat is unavailable right now. Please reload the page in a moment.",
};

const SPANISH: VisitorTexts = VisitorTexts {
    lang: "es",
    title: "Chatee con nosotros",
    conversation: "Conversación",
    agent_typing: "El agente está escribiendo…",
    how_did_we_do: "¿Qué tal le hemos atendido?",
    out_of_5: "{n} de 5",
    new_chat: "Iniciar un chat nuevo",
    your_message: "Su mensaje",
    placeholder: "Escriba su pregunta y pulse Intro",
    send: "Enviar",
    human: "Hablar con una persona",
    end: "Finalizar chat",
    you: "Usted",
    assistant: "Asistente",
    agent: "Agente",
    status_bot: "Hablando con nuestro asistente",
    status_waiting: "Esperando a un agente",
    queue_place: " — es el número {n} de la cola",
    expected_wait: ". Espera estimada: {wait}.",
    shortly: ". Enseguida le atenderá alguien.",
    under_a_minute: "menos de un minuto",
    minutes: "unos {n} minutos",
    one_minute: "1 minuto aproximadamente",
    status_with: "Hablando con {name}",
    an_agent: "un agente",
    status_closed: "Este chat ha terminado",
    not_connected: "Sin conexión — reconectando…",
    connection_lost: "Conexión perdida — reconectando…",
    too_long: "Su mensaje tiene más de {max} caracteres.",
    confirm_end: "¿Finalizar este chat?",
    unavailable: "El chat no está disponible ahora mismo. Vuelva a cargar la página en un momento.",
};

const FRENCH: VisitorTexts = VisitorTexts {
    lang: "fr",
    title: "Discutez avec nous",
    conversation: "Conversation",
    agent_typing: "Le conseiller écrit…",
    how_did_we_do: "Comment avons-nous répondu à votre demande ?",
    out_of_5: "{n} sur 5",
    new_chat: "Démarrer une nouvelle conversation",
    your_message: "Votre message",
    placeholder: "Écrivez votre question et appuyez sur Entrée",
    send: "Envoyer",
    human: "Parler à un conseiller",
    end: "Terminer",
    you: "Vous",
    assistant: "Assistant",
    agent: "Conseiller",
    status_bot: "En conversation avec notre assistant",
    status_waiting: "En attente d'un conseiller",
    queue_place: " — vous êtes n° {n} dans la file",
    expected_wait: ". Attente estimée : {wait}.",
    shortly: ". Quelqu'un va vous répondre très bientôt.",
    under_a_minute: "moins d'une minute",
    minutes: "environ {n} minutes",
    one_minute: "environ 1 minute",
    status_with: "En conversation avec {name}",
    an_agent: "un conseiller",
    status_closed: "Cette conversation est terminée",
    not_connected: "Déconnecté — reconnexion…",
    connection_lost: "Connexion perdue — reconnexion…",
    too_long: "Votre message dépasse {max} caractères.",
    confirm_end: "Terminer cette conversation ?",
    unavailable: "Le chat est indisponible pour le moment. Rechargez la page dans un instant.",
};

/// The texts for a language the bot negotiated (`es`, `fr`, …); English for any other.
pub(crate) fn visitor_texts(language: Option<&str>) -> &'static VisitorTexts {
    let primary = language
        .map(|tag| chatcore::entities::primary_language(tag).to_ascii_lowercase())
        .unwrap_or_default();
    match primary.as_str() {
        "es" => &SPANISH,
        "fr" => &FRENCH,
        _ => &ENGLISH,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_fills_every_text_and_keeps_the_markers() {
        for texts in [&ENGLISH, &SPANISH, &FRENCH] {
            let json = serde_json::to_value(texts).unwrap();
            let english = serde_json::to_value(ENGLISH).unwrap();
            for (key, value) in json.as_object().unwrap() {
                let value = value.as_str().unwrap();
                assert!(!value.trim().is_empty(), "{} {key}", texts.lang);
                for marker in ["{n}", "{max}", "{name}", "{wait}"] {
                    assert_eq!(
                        value.contains(marker),
                        english[key].as_str().unwrap().contains(marker),
                        "{} {key} {marker}",
                        texts.lang
                    );
                }
            }
        }
        assert_eq!(visitor_texts(Some("ES-mx")).lang, "es");
        assert_eq!(visitor_texts(Some("de")).lang, "en");
        assert_eq!(visitor_texts(None).lang, "en");
    }
}
