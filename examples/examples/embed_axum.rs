//! An existing axum app for a rental site that adds chatcore: its own pages stay as they are, the
//! visitor chat (page, WebSocket, widget script) is mounted from `reference-server`'s router, and
//! the app's own staff get a small agent API behind the app's own authentication — no second login.
//!
//! ```sh
//! cargo run -p examples --example embed_axum            # serves http://127.0.0.1:3000/
//! cargo run -p examples --example embed_axum -- --check # starts on a free port, checks itself, exits
//! ```
//!
//! Try: http://127.0.0.1:3000/ (the rental site, with the chat bubble), then as staff
//! `curl -H 'Authorization: Bearer staff-token-of-ana' http://127.0.0.1:3000/staff/queue`.

use std::net::SocketAddr;
use std::time::Duration;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let check = std::env::args().any(|arg| arg == "--check");
    let addr: SocketAddr = if check {
        "127.0.0.1:0"
    } else {
        "127.0.0.1:3000"
    }
    .parse()?;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let (app, chat) = examples::embed_axum::app(addr).await?;

    // Chats nobody writes to for an hour are closed, as the reference server does.
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(60));
        loop {
            every.tick().await;
            if let Err(error) = chat.close_idle_rooms().await {
                eprintln!("idle sweep: {error}");
            }
        }
    });
    let server = tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
    });
    println!("rental site with chat on http://{addr}/ (staff API under /staff/)");
    if check {
        examples::embed_axum::self_check(addr).await?;
        println!("self-check passed");
        server.abort();
        return Ok(());
    }
    server.await??;
    Ok(())
}
