//! The `embed_axum` example's app, checked the way `--check` does: over HTTP and the WebSocket.

use std::net::SocketAddr;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rental_app_serves_its_pages_the_chat_and_its_staff() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (app, _chat) = examples::embed_axum::app(addr).await.unwrap();
    let server = tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
    });
    examples::embed_axum::self_check(addr).await.unwrap();
    server.abort();
}
