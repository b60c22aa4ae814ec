//! The pages in headless Chromium: what visitors and agents see and click. Screenshots of each page
//! land in target/browser-screenshots/.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`.ci/run` installs them); fails, with the install
//! line, without them.

mod support;

use std::time::Duration;

use chatcore::{AgentId, RoomId};
use fantoccini::{Client, Locator};
use serde_json::{json, Value};
use support::browser::{eventually, find, screenshot, text_appears, type_and_enter, Driver, Proxy};
use support::{TestServer, ADMIN_PASSWORD, IDENTITY_SECRET};

/// Chromium sessions are heavy for a 2-core machine: the scenarios take turns.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const XSS: &str = "<img src=x onerror=alert(1)>";

/// The seed guide's sample questions and a phrase of the answer each must get, asked in one chat:
/// with the demo catalog the price question asks for dates, and the availability question names
/// them and is answered for the sedan the chat remembers.
const SAMPLES: [(&str, &str); 6] = [
    ("Hello", "Welcome to our car rental service"),
    ("I want to book a car", "Booking is easy"),
    ("How much does it cost to rent a sedan?", "For which dates?"),
    (
        "Are there any cars available next week?",
        "Cars free in the sedan class",
    ),
    ("What are your contact details?", "+1 555 0100"),
    ("I need help with my booking", "sorry you're having trouble"),
];

async fn login(client: &Client, server_url: &str) {
    client
        .goto(&format!("{server_url}/agent/login/"))
        .await
        .unwrap();
    find(client, "input[name=username]")
        .await
        .send_keys("admin")
        .await
        .unwrap();
    type_and_enter(client, "input[name=password]", ADMIN_PASSWORD).await;
    eventually(
        client,
        "the login lands on the dashboard",
        "return location.pathname === '/agent/dashboard/';",
    )
    .await;
}

/// A visitor on a phone opening the chat page at `url`, once the welcome shows.
async fn phone_visitor(driver: &mut Driver, url: &str) -> Client {
    let visitor = driver.session(375, 667).await;
    visitor.goto(url).await.unwrap();
    welcomed(&visitor).await;
    visitor
}

async fn welcomed(client: &Client) {
    text_appears(client, "#messages .bubble.bot", "rental assistant").await;
}

/// The seqs of the rendered messages, in page order.
async fn rendered_seqs(client: &Client) -> Vec<u64> {
    let seqs = client
        .execute(
            "return Array.from(document.querySelectorAll('#messages li')).map(li => Number(li.dataset.seq));",
            vec![],
        )
        .await
        .unwrap();
    serde_json::from_value(seqs).unwrap()
}

async fn room_of(client: &Client) -> RoomId {
    let id = eventually(
        client,
        "the page knows its room",
        "return document.getElementById('chat').dataset.room || null;",
    )
    .await;
    id.as_str().unwrap().parse().unwrap()
}

async fn no_horizontal_scroll(client: &Client, what: &str) {
    let widths = client
        .execute(
            "return [document.documentElement.scrollWidth, document.body.scrollWidth, window.innerWidth];",
            vec![],
        )
        .await
        .unwrap();
    let widths: Vec<u64> = serde_json::from_value(widths).unwrap();
    assert!(
        widths[0] <= widths[2] && widths[1] <= widths[2],
        "{what}: page {}px / body {}px wide in a {}px viewport",
        widths[0],
        widths[1],
        widths[2]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn visitor_and_agent_full_flow() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let server = TestServer::start().await;
    let mut driver = Driver::start().await;

    // The agent is on the dashboard before anything happens: the escalation must arrive live.
    let agent = driver.session(1280, 900).await;
    login(&agent, &server.base).await;
    agent
        .execute("window.__sameDocument = true;", vec![])
        .await
        .unwrap();

    let visitor = phone_visitor(&mut driver, &server.url("/chat/")).await;
    for (asked, (question, answer)) in SAMPLES.iter().enumerate() {
        type_and_enter(&visitor, "#text", question).await;
        // The newest bubble is the bot's answer to this question (welcome + one answer per question).
        let script = format!(
            "const bots = document.querySelectorAll('#messages .bubble.bot');
             return bots.length === {} && bots[bots.length - 1].textContent.includes({});",
            asked + 2,
            json!(answer)
        );
        eventually(&visitor, &format!("{question:?} is answered"), &script).await;
    }
    no_horizontal_scroll(&visitor, "visitor page after the sample questions").await;
    screenshot(&visitor, "visitor-bot").await;

    // "Talk to a human": the queue position shows, with what to expect.
    find(&visitor, "#human").await.click().await.unwrap();
    text_appears(&visitor, "#status", "number 1 in the queue").await;
    text_appears(&visitor, "#status", "shortly").await;
    screenshot(&visitor, "visitor-waiting").await;

    // The dashboard shows it without a reload, with a visible notice.
    let room = room_of(&visitor).await;
    let row = format!("#queue tr[data-room=\"{room}\"]");
    find(&agent, &row).await;
    text_appears(&agent, "#notice", "New chat waiting").await;
    eventually(
        &agent,
        "the queue count is 1",
        "return document.getElementById('queue-count').textContent === '1';",
    )
    .await;
    assert_eq!(
        agent
            .execute("return window.__sameDocument === true;", vec![])
            .await
            .unwrap(),
        Value::Bool(true),
        "the escalation arrived without reloading the dashboard"
    );
    screenshot(&agent, "agent-dashboard").await;

    // One click accepts and opens the chat, whose transcript explains the bot's answers.
    find(&agent, &format!("{row} button"))
        .await
        .click()
        .await
        .unwrap();
    text_appears(&agent, "#messages .bubble.bot .meta", "intent pricing").await;
    text_appears(&agent, "#messages .bubble.bot .meta", "keyword “how much”").await;
    text_appears(&visitor, "#status", "Chatting with Administrator").await;

    // The agent sees the visitor typing, and inserts a canned response.
    find(&visitor, "#text")
        .await
        .send_keys("Thank")
        .await
        .unwrap();
    eventually(
        &agent,
        "the visitor's typing shows",
        "return !document.getElementById('typing').hidden;",
    )
    .await;
    find(&agent, "details.canned summary")
        .await
        .click()
        .await
        .unwrap();
    find(&agent, "details.canned .canned-list button:nth-child(2)")
        .await
        .click()
        .await
        .unwrap();
    let inserted = eventually(
        &agent,
        "the canned response is in the reply box",
        "return document.getElementById('text').value || null;",
    )
    .await;
    assert!(inserted.as_str().unwrap().contains("booking number"));
    find(&agent, "#text")
        .await
        .send_keys("\u{E007}")
        .await
        .unwrap();
    text_appears(&visitor, "#messages .bubble.agent", "booking number").await;
    text_appears(&agent, "#messages .bubble.agent", "booking number").await;
    screenshot(&agent, "agent-chat").await;
    screenshot(&visitor, "visitor-with-agent").await;

    // Back on the dashboard the chat is listed with its agent; a new visitor message shows unread.
    agent.goto(&server.url("/agent/dashboard/")).await.unwrap();
    let active = format!("#active tr[data-room=\"{room}\"]");
    text_appears(&agent, &active, "Administrator").await;
    text_appears(&agent, &active, "—").await;
    type_and_enter(&visitor, "#text", "One more question").await;
    text_appears(&agent, &active, "1 unread").await;
    agent
        .goto(&server.url(&format!("/agent/chat/{room}/")))
        .await
        .unwrap();
    text_appears(&agent, "#messages .bubble.visitor", "One more question").await;

    // The agent closes; the visitor rates.
    find(&agent, "form[action^='/agent/close-chat/'] button")
        .await
        .click()
        .await
        .unwrap();
    eventually(
        &visitor,
        "the rating appears",
        "return !document.getElementById('rating').hidden;",
    )
    .await;
    text_appears(&visitor, "#status", "This chat has ended").await;
    screenshot(&visitor, "visitor-rating").await;
    find(&visitor, "#rating button[data-score='5']")
        .await
        .click()
        .await
        .unwrap();
    eventually(
        &visitor,
        "the rating is taken",
        "return document.getElementById('rating').hidden;",
    )
    .await;
    // The thanks is the stored rating's system message coming back: the store has it by then.
    text_appears(
        &visitor,
        "#messages .bubble.system",
        "Thank you for the feedback",
    )
    .await;
    let rated = server.state.chat().room(room).await.unwrap();
    assert_eq!(rated.rating.map(|r| r.get()), Some(5));

    // The analytics page shows it.
    agent.goto(&server.url("/agent/analytics/")).await.unwrap();
    let cards = eventually(
        &agent,
        "the analytics cards render",
        "return Object.fromEntries(Array.from(document.querySelectorAll('.figure')).map(c => [c.querySelector('.label').textContent, c.querySelector('.value').textContent]));",
    )
    .await;
    assert_eq!(cards["Chat sessions"], "1");
    assert_eq!(cards["Average rating"], "5.0");
    assert_eq!(cards["Escalation rate"], "100 %");
    let bars = agent
        .find_all(Locator::Css("svg.chart rect.bar-messages"))
        .await
        .unwrap();
    assert_eq!(bars.len(), 7, "a bar per day");
    screenshot(&agent, "agent-analytics").await;
    // After it ended, the visitor can start over in a new chat.
    find(&visitor, "#new-chat").await.click().await.unwrap();
    let fresh = eventually(
        &visitor,
        "a new chat opens",
        &format!(
            "const r = document.getElementById('chat').dataset.room; return r && r !== {} ? r : null;",
            json!(room.to_string())
        ),
    )
    .await;
    assert_ne!(fresh.as_str().unwrap(), room.to_string());
    welcomed(&visitor).await;

    visitor.close().await.unwrap();
    agent.close().await.unwrap();
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn html_in_messages_shows_as_text_and_runs_nothing() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let server = TestServer::start().await;
    let mut driver = Driver::start().await;
    let visitor = phone_visitor(&mut driver, &server.url("/chat/")).await;
    let agent = driver.session(1280, 900).await;
    // The exact text of the newest visitor bubble: the payload must arrive as these characters.
    let bubble_text = "const b = document.querySelectorAll('#messages .bubble.visitor p'); return b.length ? b[b.length - 1].textContent : null;";

    type_and_enter(&visitor, "#text", XSS).await;
    text_appears(&visitor, "#messages .bubble.visitor", XSS).await;
    let room = room_of(&visitor).await;

    login(&agent, &server.base).await;
    agent
        .goto(&server.url(&format!("/agent/chat/{room}/")))
        .await
        .unwrap();
    text_appears(&agent, "#messages .bubble.visitor", XSS).await;
    // The agent watching this chat with the bot can take it the moment it is escalated.
    eventually(
        &agent,
        "no Accept while with the bot",
        "return document.getElementById('accept').hidden;",
    )
    .await;
    find(&visitor, "#human").await.click().await.unwrap();
    eventually(
        &agent,
        "Accept appears live",
        "return !document.getElementById('accept').hidden;",
    )
    .await;
    // The rule editor's "try a message" echoes it too.
    let tried = server.url(&format!(
        "/agent/bot-responses/?try={}",
        "%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E"
    ));
    for client in [&visitor, &agent] {
        let images = client
            .execute(
                "return document.querySelectorAll('#messages img').length;",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(images, json!(0), "no element was made from the text");
        let shown = client.execute(bubble_text, vec![]).await.unwrap();
        assert_eq!(shown, json!(XSS), "the characters as typed");
    }
    agent.goto(&tried).await.unwrap();
    text_appears(&agent, ".tried", XSS).await;
    let images = agent
        .execute(
            "return document.querySelectorAll('main img').length;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(images, json!(0));
    visitor.close().await.unwrap();
    agent.close().await.unwrap();
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn visitor_page_fits_a_375_px_phone() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let server = TestServer::start().await;
    let mut driver = Driver::start().await;
    let visitor = phone_visitor(&mut driver, &server.url("/chat/")).await;
    let width = visitor
        .execute("return window.innerWidth;", vec![])
        .await
        .unwrap();
    assert_eq!(width, json!(375), "the viewport is a phone's");
    // Long unbroken words and links are where narrow layouts break.
    let long_word = "x".repeat(180);
    type_and_enter(&visitor, "#text", &long_word).await;
    type_and_enter(
        &visitor,
        "#text",
        "https://rentals.example/bookings/2026/confirmation?reference=ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
    )
    .await;
    text_appears(&visitor, "#messages .bubble.visitor", &long_word).await;
    // Two answers the bot could not give in a row hand the chat to a human: the long status shows.
    text_appears(&visitor, "#status", "in the queue").await;
    let human_hidden = visitor
        .execute(
            "return document.getElementById('human').offsetParent === null;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        human_hidden,
        json!(true),
        "no \"Talk to a human\" once waiting for one"
    );
    no_horizontal_scroll(&visitor, "visitor page at 375 px").await;
    // The counter follows what is typed, against the limit.
    find(&visitor, "#text")
        .await
        .send_keys("Hello")
        .await
        .unwrap();
    text_appears(&visitor, "#counter", "5 / 1000").await;
    screenshot(&visitor, "visitor-375").await;
    visitor.close().await.unwrap();

    // An agent on a phone: every staff page fits too (wide tables scroll inside their card).
    let agent = driver.session(375, 667).await;
    login(&agent, &server.base).await;
    for path in [
        "/agent/dashboard/",
        "/agent/bot-responses/",
        "/agent/analytics/",
        "/admin/",
    ] {
        agent.goto(&server.url(path)).await.unwrap();
        find(&agent, "main").await;
        no_horizontal_scroll(&agent, path).await;
    }
    agent.close().await.unwrap();
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_connection_shows_the_banner_and_resumes_without_duplicates() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let server = TestServer::start().await;
    let proxy = Proxy::to(server.addr).await;
    let mut driver = Driver::start().await;
    let visitor = phone_visitor(&mut driver, &proxy.url("/chat/")).await;
    type_and_enter(&visitor, "#text", "I need to talk to someone").await;
    text_appears(&visitor, "#status", "in the queue").await;
    let room = room_of(&visitor).await;
    let chat = server.state.chat();
    let admin = AgentId(1);
    chat.accept(room, admin).await.unwrap();
    text_appears(&visitor, "#status", "Chatting with").await;

    // The network drops; the agent goes on writing meanwhile.
    proxy.cut();
    eventually(
        &visitor,
        "the reconnect banner shows",
        "const b = document.getElementById('banner'); return !b.hidden && b.textContent.includes('reconnecting');",
    )
    .await;
    screenshot(&visitor, "visitor-reconnecting").await;
    for n in 1..=3 {
        chat.post_agent_message(room, admin, &format!("while you were away {n}"), None)
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    proxy.restore();

    // Back: the banner goes, the missed messages arrive once each, in order, with no gap.
    text_appears(&visitor, "#messages .bubble.agent", "while you were away 3").await;
    eventually(
        &visitor,
        "the banner hides",
        "return document.getElementById('banner').hidden;",
    )
    .await;
    let last_seq = chat.room(room).await.unwrap().last_seq;
    let seqs = rendered_seqs(&visitor).await;
    assert_eq!(
        seqs,
        (1..=last_seq).collect::<Vec<_>>(),
        "every message once, in seq order"
    );
    // And the connection works again both ways.
    type_and_enter(&visitor, "#text", "I'm back").await;
    text_appears(&visitor, "#messages .bubble.visitor", "I'm back").await;
    let seqs = rendered_seqs(&visitor).await;
    assert_eq!(seqs, (1..=last_seq + 1).collect::<Vec<_>>());
    visitor.close().await.unwrap();
    drop(proxy);
    server.stop().await;
}

/// The rental site: another origin (same site, as chat.rentals.example is to www.rentals.example)
/// whose page carries the widget's one script tag.
fn rental_site(
    listener: tokio::net::TcpListener,
    chat_base: &str,
    customer: &str,
    signature: &str,
) {
    let page = format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Rentals</title></head>
<body><h1>Rent a car</h1><p>Our fleet, our prices.</p>
<script src="{chat_base}/static/widget.js" data-customer="{customer}" data-signature="{signature}" defer></script>
</body></html>"#
    );
    let app = axum::Router::new().route(
        "/",
        axum::routing::get(move || {
            let page = page.clone();
            async move { axum::response::Html(page) }
        }),
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_widget_opens_the_chat_on_the_rental_site() {
    let _turn = ONE_AT_A_TIME.lock().await;
    // The site's origin must be known before the server starts: the server allows it.
    let site = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let site_addr = site.local_addr().unwrap();
    let site_origin = format!("http://{site_addr}");
    let server = TestServer::start_with(|options| {
        options.allowed_origins = vec![site_origin.clone()];
    })
    .await;
    let key = reference_server::auth::IdentityKey::new(IDENTITY_SECRET).unwrap();
    rental_site(site, &server.base, "C-1042", &key.sign("C-1042"));
    let mut driver = Driver::start().await;
    let browser = driver.session(1280, 800).await;
    browser.goto(&format!("{site_origin}/")).await.unwrap();
    let bubble = find(&browser, "#chatcore-widget-button").await;
    assert_eq!(
        bubble.attr("aria-expanded").await.unwrap().as_deref(),
        Some("false")
    );
    bubble.click().await.unwrap();
    let frame = find(&browser, "#chatcore-widget-panel iframe").await;
    frame.clone().enter_frame().await.unwrap();
    welcomed(&browser).await;
    type_and_enter(&browser, "#text", "How much is an SUV this weekend?").await;
    text_appears(&browser, "#messages .bubble.bot", "Our SUV rate for").await;
    let room = room_of(&browser).await;
    browser.enter_parent_frame().await.unwrap();
    screenshot(&browser, "widget").await;
    let panel_closed = "return document.activeElement.id === 'chatcore-widget-button' && document.getElementById('chatcore-widget-panel').style.display === 'none';";
    // Escape inside the chat closes the panel and gives focus back to the bubble.
    frame.clone().enter_frame().await.unwrap();
    press(&browser, "\u{E00C}").await;
    browser.enter_parent_frame().await.unwrap();
    eventually(
        &browser,
        "Escape in the chat closes the panel",
        panel_closed,
    )
    .await;
    find(&browser, "#chatcore-widget-button")
        .await
        .click()
        .await
        .unwrap();
    eventually(
        &browser,
        "the panel opens again",
        "return document.getElementById('chatcore-widget-panel').style.display === 'flex';",
    )
    .await;

    // The chat belongs to the customer the site vouched for.
    let stored = server.state.chat().room(room).await.unwrap();
    assert_eq!(
        stored.participant,
        chatcore::Participant::Customer("C-1042".into())
    );
    // Closing the panel returns focus to the bubble.
    find(&browser, "#chatcore-widget-panel button")
        .await
        .click()
        .await
        .unwrap();
    eventually(&browser, "the close button closes the panel", panel_closed).await;
    browser.close().await.unwrap();
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rule_editor_tries_messages_and_unsaved_rules() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let server = TestServer::start().await;
    let mut driver = Driver::start().await;
    let agent = driver.session(1280, 1000).await;
    login(&agent, &server.base).await;
    agent
        .goto(&server.url("/agent/bot-responses/"))
        .await
        .unwrap();

    // "Try a message" with the saved rules shows the rule and the keyword.
    type_and_enter(&agent, "#try", "My car broke down on the highway").await;
    text_appears(&agent, ".tried", "support").await;
    text_appears(&agent, ".tried mark", "broke down").await;
    screenshot(&agent, "rules-editor").await;

    // The search filters the table as you type.
    find(&agent, "#search")
        .await
        .send_keys("deposit")
        .await
        .unwrap();
    let rules = server.state.chat().rules().await.unwrap().rules;
    let with_deposit = rules
        .iter()
        .filter(|r| {
            r.response.to_lowercase().contains("deposit")
                || r.keywords
                    .iter()
                    .any(|k| k.to_lowercase().contains("deposit"))
        })
        .count();
    text_appears(
        &agent,
        "#search-count",
        &format!("{with_deposit} of {} rules match", rules.len()),
    )
    .await;
    let visible = agent
        .execute(
            "return Array.from(document.querySelectorAll('tr.rule')).filter(r => !r.hidden).map(r => r.querySelector('input[name=intent]').value);",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(visible, json!(vec!["pricing"; with_deposit]));
    find(&agent, "#search").await.clear().await.unwrap();
    find(&agent, "#search").await.send_keys(" ").await.unwrap();

    // A new rule, tried before it is added: it would win, and nothing is saved by trying.
    let form = "form.new-rule";
    find(&agent, &format!("{form} input[name=intent]"))
        .await
        .send_keys("roadside")
        .await
        .unwrap();
    find(&agent, &format!("{form} input[name=keywords]"))
        .await
        .send_keys("broke down, highway")
        .await
        .unwrap();
    find(&agent, &format!("{form} textarea[name=response]"))
        .await
        .send_keys("Stay safe: call +1 555 0199.")
        .await
        .unwrap();
    let priority = find(&agent, &format!("{form} input[name=priority]")).await;
    priority.clear().await.unwrap();
    priority.send_keys("1000").await.unwrap();
    find(&agent, &format!("{form} button.try-draft"))
        .await
        .click()
        .await
        .unwrap();
    text_appears(
        &agent,
        &format!("{form} .draft-result"),
        "This rule would answer (roadside, keyword “broke down”",
    )
    .await;
    screenshot(&agent, "rules-draft").await;
    assert_eq!(
        server.state.chat().rules().await.unwrap().rules.len(),
        chatcore::default_rules().len()
    );
    // An invalid draft says why.
    priority.clear().await.unwrap();
    priority.send_keys("9999999").await.unwrap();
    find(&agent, &format!("{form} button.try-draft"))
        .await
        .click()
        .await
        .unwrap();
    text_appears(&agent, &format!("{form} .draft-result.error"), "priority").await;

    // "Try" on a saved rule tries the row as edited, before saving.
    let try_box = find(&agent, "#try").await;
    try_box.clear().await.unwrap();
    try_box.send_keys("deposit please").await.unwrap();
    // The English rule of prices and fees (deposit, insurance, payment): the highest-priority
    // English pricing rule.
    let policy = server
        .state
        .chat()
        .rules()
        .await
        .unwrap()
        .rules
        .into_iter()
        .filter(|r| r.intent.as_str() == "pricing" && r.language == "en")
        .max_by_key(|r| r.priority)
        .unwrap()
        .id;
    let pricing = format!("tr.rule:has(input[name=id][value='{policy}'])");
    let pricing = pricing.as_str();
    let pricing_result = format!("{pricing} + tr.draft-row .draft-result");
    find(&agent, &format!("{pricing} button.try-draft"))
        .await
        .click()
        .await
        .unwrap();
    text_appears(
        &agent,
        &pricing_result,
        "This rule would answer (pricing, keyword “deposit”",
    )
    .await;
    let keywords = find(&agent, &format!("{pricing} textarea[name=keywords]")).await;
    keywords.clear().await.unwrap();
    keywords.send_keys("surcharge").await.unwrap();
    find(&agent, &format!("{pricing} button.try-draft"))
        .await
        .click()
        .await
        .unwrap();
    text_appears(&agent, &pricing_result, "No rule would match").await;
    assert!(server
        .state
        .chat()
        .rules()
        .await
        .unwrap()
        .rules
        .iter()
        .any(|r| r.keywords.iter().any(|k| k == "deposit")));

    // Inline disable, and the priority edit of a saved rule.
    // The row still holds the unsaved keyword edit: turning it off asks before discarding it.
    find(&agent, &format!("{pricing} button[value=disable]"))
        .await
        .click()
        .await
        .unwrap();
    let question = agent.get_alert_text().await.unwrap();
    assert!(question.contains("unsaved changes"), "{question}");
    agent.accept_alert().await.unwrap();
    find(&agent, &format!("{pricing} button[value=enable]")).await;
    text_appears(&agent, ".notice-saved", "is off").await;
    let kept_try = agent
        .execute("return document.getElementById('try').value;", vec![])
        .await
        .unwrap();
    assert_eq!(
        kept_try,
        json!("deposit please"),
        "the try text survives the save"
    );
    let saved = server.state.chat().rules().await.unwrap().rules;
    assert!(!saved.iter().find(|r| r.id == policy).unwrap().active);
    let field = find(&agent, &format!("{pricing} input[name=priority]")).await;
    field.clear().await.unwrap();
    field.send_keys("42").await.unwrap();
    agent
        .execute("window.__beforeSave = true;", vec![])
        .await
        .unwrap();
    find(&agent, &format!("{pricing} button[value=update]"))
        .await
        .click()
        .await
        .unwrap();
    eventually(
        &agent,
        "the edit is saved",
        &format!("return !window.__beforeSave && document.querySelector(\"{pricing} input[name=priority]\").value === '42';"),
    )
    .await;
    let saved = server.state.chat().rules().await.unwrap().rules;
    assert_eq!(saved.iter().find(|r| r.id == policy).unwrap().priority, 42);
    agent.close().await.unwrap();
    server.stop().await;
}

/// Presses Tab until the focused element matches `css`; fails after `most` presses. Returns how many
/// presses it took.
async fn tab_to(client: &Client, css: &str, most: usize) -> usize {
    let script = format!(
        "return document.activeElement && document.activeElement.matches({});",
        json!(css)
    );
    for presses in 0..=most {
        if client.execute(&script, vec![]).await.unwrap() == json!(true) {
            return presses;
        }
        client
            .active_element()
            .await
            .unwrap()
            .send_keys("\u{E004}")
            .await
            .unwrap();
    }
    panic!("{css} is not reachable with {most} presses of Tab");
}

/// Whether the focused element shows a focus ring.
async fn focus_is_visible(client: &Client) -> bool {
    client
        .execute(
            "const s = getComputedStyle(document.activeElement); return s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0;",
            vec![],
        )
        .await
        .unwrap()
        == json!(true)
}

async fn press(client: &Client, keys: &str) {
    client
        .active_element()
        .await
        .unwrap()
        .send_keys(keys)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everything_works_from_the_keyboard() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let server = TestServer::start().await;
    let chat = server.state.chat();
    // An earlier chat was accepted at once: the next visitor is told to expect a short wait.
    let (earlier, _) = chat
        .open_room(chatcore::OpenRoom::anonymous())
        .await
        .unwrap();
    chat.request_escalation(earlier.id).await.unwrap();
    chat.accept(earlier.id, AgentId(1)).await.unwrap();

    let mut driver = Driver::start().await;
    let agent = driver.session(1280, 900).await;
    agent.goto(&server.url("/agent/login/")).await.unwrap();
    tab_to(&agent, "input[name=username]", 6).await;
    press(&agent, "admin").await;
    tab_to(&agent, "input[name=password]", 2).await;
    press(&agent, &format!("{ADMIN_PASSWORD}\u{E007}")).await;
    eventually(
        &agent,
        "the keyboard login lands on the dashboard",
        "return location.pathname === '/agent/dashboard/';",
    )
    .await;

    let visitor = phone_visitor(&mut driver, &server.url("/chat/")).await;
    // The first stop is the skip link; the message box comes before the buttons.
    tab_to(&visitor, "a.skip", 1).await;
    assert!(
        focus_is_visible(&visitor).await,
        "the skip link shows focus"
    );
    tab_to(&visitor, "#text", 8).await;
    press(&visitor, "How much is a minivan tomorrow?\u{E007}").await;
    text_appears(&visitor, "#messages .bubble.bot", "Our minivan rate for").await;
    let focused = visitor
        .execute("return document.activeElement.id;", vec![])
        .await
        .unwrap();
    assert_eq!(
        focused,
        json!("text"),
        "the message box keeps focus after sending"
    );
    tab_to(&visitor, "#human", 4).await;
    assert!(focus_is_visible(&visitor).await, "buttons show focus");
    press(&visitor, "\u{E007}").await;
    text_appears(&visitor, "#status", "number 1 in the queue").await;
    text_appears(&visitor, "#status", "Expected wait: less than a minute").await;
    let live = visitor
        .execute(
            "return document.getElementById('messages').getAttribute('aria-live');",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(live, json!("polite"), "new messages are announced");

    // The agent accepts and replies without a mouse.
    let room = room_of(&visitor).await;
    find(&agent, &format!("#queue tr[data-room=\"{room}\"]")).await;
    tab_to(
        &agent,
        &format!("#queue tr[data-room=\"{room}\"] button"),
        20,
    )
    .await;
    assert!(
        focus_is_visible(&agent).await,
        "the accept button shows focus"
    );
    press(&agent, "\u{E007}").await;
    eventually(
        &agent,
        "the chat page opens",
        &format!("return location.pathname === '/agent/chat/{room}/';"),
    )
    .await;
    find(&agent, "#text").await;
    tab_to(&agent, "#text", 12).await;
    press(&agent, "Hello from the keyboard\u{E007}").await;
    text_appears(
        &visitor,
        "#messages .bubble.agent",
        "Hello from the keyboard",
    )
    .await;
    visitor.close().await.unwrap();
    agent.close().await.unwrap();
    server.stop().await;
}
