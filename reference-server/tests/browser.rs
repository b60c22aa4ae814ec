//! The pages in headless Chromium: what visitors and agents actually see and click.

mod support;

use support::browser::{eventually, find, screenshot, text_appears, type_and_enter, Driver};
use support::TestServer;

#[tokio::test]
async fn smoke() {
    let server = TestServer::start().await;
    let mut driver = Driver::start().await;
    let visitor = driver.session(375, 667).await;
    visitor.goto(&server.url("/chat/")).await.unwrap();
    text_appears(&visitor, "#messages .bubble.bot", "rental assistant").await;
    type_and_enter(&visitor, "#text", "How much is a sedan?").await;
    text_appears(&visitor, "#messages .bubble.bot", "$49").await;
    let _ = find(&visitor, "#human").await;
    let _ = eventually(&visitor, "x", "return true;").await;
    screenshot(&visitor, "smoke").await;
    visitor.close().await.unwrap();
    server.stop().await;
}
