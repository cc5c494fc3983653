//! `taquilla terminal` end to end: the built binary sets up a terminal against
//! the application started on a loopback port, sells offline into its own
//! SQLite file, and syncs and closes the block.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};
use sqlx::Connection;
use tempfile::TempDir;
use uuid::Uuid;

use crate::helpers::{
    Backend, EventTimes, PASSWORD, Shop, TestApp, ZoneSpec, assert_status, spawn_app,
};

backend_tests!(
    terminal_sells_offline_and_syncs,
    terminal_refuses_local_double_sale,
    terminal_survives_kill_before_sync,
    terminal_setup_reports_bad_access,
    terminal_commands_wait_for_each_other,
);

/// Runs `taquilla terminal ARGS…` with the terminal's directory and the
/// cashier's password in the environment.
async fn terminal(dir: &Path, args: &[String]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_taquilla"));
    command
        .arg("terminal")
        .args(args)
        .env("TAQUILLA_TERMINAL_DIR", dir)
        .env("TAQUILLA_TERMINAL_PASSWORD", PASSWORD)
        .env_remove("HTTP_PROXY")
        .env_remove("http_proxy")
        .stdin(Stdio::null());
    tokio::task::spawn_blocking(move || command.output().expect("running taquilla terminal"))
        .await
        .expect("the terminal command panicked")
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|arg| arg.to_string()).collect()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[track_caller]
fn assert_success(output: &Output) {
    assert!(
        output.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        stdout(output),
        stderr(output)
    );
}

#[track_caller]
fn assert_failure(output: &Output, message: &str) {
    assert!(
        !output.status.success(),
        "expected a failure; stdout:\n{}",
        stdout(output)
    );
    let text = format!("{}{}", stdout(output), stderr(output));
    assert!(
        text.contains(message),
        "expected `{message}` in the output:\n{text}"
    );
}

async fn numbered_shop(app: &TestApp, slug: &str) -> Shop {
    app.setup_shop(
        slug,
        "J-12345678-4",
        ZoneSpec::Numbered {
            rows: vec![10, 10],
            price_usd_cents: 2_000,
        },
        EventTimes::default(),
    )
    .await
}

/// Creates the offline series `OFF` and sets up a terminal of 10 numbers in a
/// fresh directory.
async fn set_up_terminal(app: &TestApp, shop: &Shop) -> TempDir {
    let created = app
        .post("/api/v1/fiscal/series")
        .token(&shop.tenant.admin_token)
        .json(json!({ "code": "OFF", "kind": "invoice", "adapter": "offline" }))
        .send()
        .await;
    assert_status(&created, 201);
    let dir = tempfile::tempdir().expect("creating the terminal directory");
    let setup = terminal(dir.path(), &setup_args(app, shop)).await;
    assert_success(&setup);
    dir
}

/// Arguments of `setup` for a block of 10 numbers of the series `OFF`.
fn setup_args(app: &TestApp, shop: &Shop) -> Vec<String> {
    args(&[
        "setup",
        "--server",
        &app.address,
        "--username",
        &format!("{}-cajero", shop.tenant.slug),
        "--event",
        &shop.event_id.to_string(),
        "--series",
        "OFF",
        "--size",
        "10",
        "--name",
        "Taquilla 3",
    ])
}

/// Formats Bs. cents as the `--pay` amount.
fn amount(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

fn sell_args(shop: &Shop, seat: Uuid, total_bs: i64) -> Vec<String> {
    args(&[
        "sell",
        "--zone",
        &shop.zone_id.to_string(),
        "--seat",
        &seat.to_string(),
        "--customer",
        &shop.customer_id.to_string(),
        "--pay",
        &format!("cash:VES:{}", amount(total_bs)),
    ])
}

async fn status_json(dir: &Path) -> Value {
    let output = terminal(dir, &args(&["status", "--json"])).await;
    assert_success(&output);
    serde_json::from_slice(&output.stdout).expect("status --json prints JSON")
}

/// Opens the terminal's own file, for checks and to simulate lost responses.
async fn terminal_db(dir: &Path) -> sqlx::SqliteConnection {
    let path: PathBuf = dir.join("terminal.db");
    sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
        .await
        .expect("opening terminal.db")
}

async fn block_of(app: &TestApp, shop: &Shop, block_id: &str) -> Value {
    let block = app
        .get(&format!("/api/v1/offline/blocks/{block_id}"))
        .token(&shop.tenant.cashier_token)
        .send()
        .await;
    assert_status(&block, 200);
    block.body
}

/// Three offline sales, one of whose seats sells online meanwhile: the sync
/// takes two and rejects one, a repeated sync changes nothing, and closing
/// voids the rest of the block with the series still whole.
async fn terminal_sells_offline_and_syncs(backend: Backend) {
    let app = spawn_app(backend).await;
    let shop = numbered_shop(&app, "terminal").await;
    let cashier = &shop.tenant.cashier_token;
    let seats = app.seat_ids(cashier, shop.zone_id).await;
    let total = app.order_total_bs(&shop, cashier, &seats[..1]).await;
    let dir = set_up_terminal(&app, &shop).await;

    // Act: three sales offline, and seat 1 sold online meanwhile.
    let mut receipts = Vec::new();
    for seat in &seats[..3] {
        let sold = terminal(dir.path(), &sell_args(&shop, *seat, total)).await;
        assert_success(&sold);
        receipts.push(stdout(&sold));
    }
    app.sell(
        &shop,
        json!({ "zone_id": shop.zone_id, "seat_ids": [seats[1]] }),
    )
    .await;
    let synced = terminal(dir.path(), &args(&["sync"])).await;

    // Assert: the receipts, then two accepted and one rejected.
    assert!(receipts[0].contains("N.º 1"), "{}", receipts[0]);
    assert!(
        receipts[0].contains(&format!("total: Bs. {}", amount(total))),
        "{}",
        receipts[0]
    );
    assert!(receipts[2].contains("N.º 3"), "{}", receipts[2]);
    assert_failure(&synced, "rechazado: seats_unavailable");
    let output = stdout(&synced);
    assert!(output.contains("N.º     1  aceptado"), "{output}");
    assert!(output.contains("N.º     3  aceptado"), "{output}");
    assert!(
        output.contains("2 aceptados, 1 rechazados, 0 anulados, 0 pendientes"),
        "{output}"
    );

    let status = status_json(dir.path()).await;
    assert_eq!(status["accepted"], 2);
    assert_eq!(status["rejected"], 1);
    assert_eq!(status["pending"], 0);
    assert_eq!(status["unused"], 7);
    assert_eq!(status["numbers"][1]["reason"], "seats_unavailable");
    let block_id = status["block_id"].as_str().unwrap().to_string();
    let block = block_of(&app, &shop, &block_id).await;
    assert_eq!(block["accepted"], 2);
    assert_eq!(block["rejected"], 1);

    // A second sync has nothing to send.
    let again = terminal(dir.path(), &args(&["sync"])).await;
    assert_success(&again);
    assert!(stdout(&again).contains("No hay números pendientes"));

    // Responses lost after the server settled: the resend is replayed.
    let mut db = terminal_db(dir.path()).await;
    sqlx::query("UPDATE numbers SET outcome = NULL, reason = NULL, synced_at = NULL")
        .execute(&mut db)
        .await
        .unwrap();
    db.close().await.unwrap();
    let replayed = terminal(dir.path(), &args(&["sync"])).await;
    assert_failure(&replayed, "(ya registrado)");
    assert_eq!(stdout(&replayed).matches("(ya registrado)").count(), 3);
    let block = block_of(&app, &shop, &block_id).await;
    assert_eq!(block["accepted"], 2);
    assert_eq!(block["rejected"], 1);
    assert_eq!(block["unresolved"], 7);

    // Closing voids numbers 4 to 10.
    let closed = terminal(dir.path(), &args(&["close"])).await;
    assert_success(&closed);
    assert!(
        stdout(&closed).contains("anuló 7 números sin usar: 4–10"),
        "{}",
        stdout(&closed)
    );
    let block = block_of(&app, &shop, &block_id).await;
    assert_eq!(block["status"], "closed");
    assert_eq!(block["voided"], 7);
    assert_eq!(status_json(dir.path()).await["block_status"], "closed");
    let verification = app
        .get("/api/v1/fiscal/verify")
        .token(&shop.tenant.admin_token)
        .send()
        .await;
    assert_status(&verification, 200);
    assert_eq!(verification.body["problems"], json!([]));
    app.teardown().await;
}

/// The same seat twice, or a sale short of the total, is refused locally and
/// takes no number, and setup refuses to replace a file with unsynced sales.
async fn terminal_refuses_local_double_sale(backend: Backend) {
    let app = spawn_app(backend).await;
    let shop = numbered_shop(&app, "doble").await;
    let cashier = &shop.tenant.cashier_token;
    let seats = app.seat_ids(cashier, shop.zone_id).await;
    let total = app.order_total_bs(&shop, cashier, &seats[..1]).await;
    let dir = set_up_terminal(&app, &shop).await;

    let first = terminal(dir.path(), &sell_args(&shop, seats[0], total)).await;
    let second = terminal(dir.path(), &sell_args(&shop, seats[0], total)).await;
    let short = terminal(dir.path(), &sell_args(&shop, seats[1], total - 1)).await;
    let setup_again = terminal(dir.path(), &setup_args(&app, &shop)).await;
    let void = terminal(
        dir.path(),
        &args(&["void", "--number", "2", "--reason", "papel dañado"]),
    )
    .await;

    assert_success(&first);
    assert_failure(&second, "ya se vendió en este terminal (factura N.º 1)");
    assert_failure(&short, "faltan Bs. 0.01");
    assert_failure(&setup_again, "tiene 1 números sin sincronizar");
    assert_success(&void);
    let status = status_json(dir.path()).await;
    assert_eq!(status["used"], 2);
    assert_eq!(status["numbers"][1]["kind"], "void");
    let synced = terminal(dir.path(), &args(&["sync"])).await;
    assert_success(&synced);
    assert!(stdout(&synced).contains("anulado: papel dañado"));

    // Synced but still open, the block must be closed before another is taken.
    let setup_over_open = terminal(dir.path(), &setup_args(&app, &shop)).await;
    assert_failure(&setup_over_open, "sigue abierto");
    app.teardown().await;
}

/// A command waits while another one holds the terminal directory, so a
/// sale can never slip in while `setup` replaces the file or `close` voids
/// the rest of the block.
async fn terminal_commands_wait_for_each_other(backend: Backend) {
    let app = spawn_app(backend).await;
    let shop = numbered_shop(&app, "turno").await;
    let cashier = &shop.tenant.cashier_token;
    let seats = app.seat_ids(cashier, shop.zone_id).await;
    let total = app.order_total_bs(&shop, cashier, &seats[..1]).await;
    let dir = set_up_terminal(&app, &shop).await;

    // The test plays the other command: it holds the directory's lock.
    let lock = std::fs::File::open(dir.path().join("terminal.lock")).expect("the lock file");
    lock.lock().expect("taking the lock");
    let mut sell = Command::new(env!("CARGO_BIN_EXE_taquilla"))
        .arg("terminal")
        .args(sell_args(&shop, seats[0], total))
        .env("TAQUILLA_TERMINAL_DIR", dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting taquilla terminal sell");
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
    assert!(
        sell.try_wait().expect("polling the sale").is_none(),
        "the sale ran while another command held the terminal"
    );
    assert_eq!(numbers_in_file(dir.path()).await, 0);

    lock.unlock().expect("releasing the lock");
    let output = tokio::task::spawn_blocking(move || sell.wait_with_output())
        .await
        .unwrap()
        .expect("waiting for the sale");
    assert_success(&output);
    assert!(
        stderr(&output).contains("esperando a que termine"),
        "{}",
        stderr(&output)
    );
    assert_eq!(numbers_in_file(dir.path()).await, 1);
    app.teardown().await;
}

/// Numbers recorded in the terminal's file, read without the terminal's lock.
async fn numbers_in_file(dir: &Path) -> i64 {
    use sqlx::Connection;
    let url = format!("sqlite://{}", dir.join("terminal.db").display());
    let mut connection = sqlx::SqliteConnection::connect(&url)
        .await
        .expect("opening the terminal's file");
    sqlx::query_scalar("SELECT COUNT(*) FROM numbers")
        .fetch_one(&mut connection)
        .await
        .expect("counting the numbers")
}

/// A sync killed while it waits on the network loses nothing: the sale stays
/// in the file and the next sync sends it.
async fn terminal_survives_kill_before_sync(backend: Backend) {
    let app = spawn_app(backend).await;
    let shop = numbered_shop(&app, "corte").await;
    let cashier = &shop.tenant.cashier_token;
    let seats = app.seat_ids(cashier, shop.zone_id).await;
    let total = app.order_total_bs(&shop, cashier, &seats[..1]).await;
    let dir = set_up_terminal(&app, &shop).await;
    let sold = terminal(dir.path(), &sell_args(&shop, seats[0], total)).await;
    assert_success(&sold);

    // A server that accepts the connection and never responds.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_url = format!("http://{}", silent.local_addr().unwrap());
    let mut db = terminal_db(dir.path()).await;
    sqlx::query("UPDATE terminal SET server_url = $1")
        .bind(&silent_url)
        .execute(&mut db)
        .await
        .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_taquilla"))
        .args(["terminal", "sync"])
        .env("TAQUILLA_TERMINAL_DIR", dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting taquilla terminal sync");
    let (_connection, _) = tokio::task::spawn_blocking(move || silent.accept())
        .await
        .unwrap()
        .expect("the sync connects");
    child.kill().expect("killing the sync");
    child.wait().unwrap();

    sqlx::query("UPDATE terminal SET server_url = $1")
        .bind(&app.address)
        .execute(&mut db)
        .await
        .unwrap();
    db.close().await.unwrap();
    let pending = status_json(dir.path()).await;
    let synced = terminal(dir.path(), &args(&["sync"])).await;

    assert_eq!(pending["pending"], 1);
    assert_success(&synced);
    assert!(stdout(&synced).contains("N.º     1  aceptado"));
    app.teardown().await;
}

/// A wrong password, an unreachable server and another tenant's event each
/// fail setup with a message that names the cause.
async fn terminal_setup_reports_bad_access(backend: Backend) {
    let app = spawn_app(backend).await;
    let shop = numbered_shop(&app, "acceso").await;
    let other = app
        .setup_shop(
            "ajeno",
            "J-00124134-5",
            ZoneSpec::GeneralAdmission {
                capacity: 10,
                price_usd_cents: 1_000,
            },
            EventTimes::default(),
        )
        .await;
    let dir = tempfile::tempdir().unwrap();
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let setup = |server: String, password: &'static str, event: Uuid| {
        let dir = dir.path().to_path_buf();
        async move {
            let mut command = Command::new(env!("CARGO_BIN_EXE_taquilla"));
            command
                .args(["terminal", "setup", "--server", server.as_str()])
                .args(["--username", "acceso-cajero", "--password", password])
                .args(["--event", event.to_string().as_str()])
                .env("TAQUILLA_TERMINAL_DIR", &dir);
            tokio::task::spawn_blocking(move || command.output().unwrap())
                .await
                .unwrap()
        }
    };

    let wrong_password = setup(app.address.clone(), "no-es-la-clave", shop.event_id).await;
    let no_server = setup(
        format!("http://127.0.0.1:{closed_port}"),
        PASSWORD,
        shop.event_id,
    )
    .await;
    let foreign_event = setup(app.address.clone(), PASSWORD, other.event_id).await;

    assert_failure(&wrong_password, "usuario o contraseña incorrectos");
    assert_failure(&no_server, "no se pudo contactar el servidor");
    assert_failure(&foreign_event, "no existe o no pertenece");
    assert!(!dir.path().join("terminal.db").exists());
    app.teardown().await;
}
