//! The log files of a `taquilla serve --demo` run with TAQUILLA_LOG_DIR set: each
//! file contains JSON lines, the security and performance files take only their
//! events, and no file contains a password or token that the run used.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// Secret that signs the access tokens, set by the test so it can search the files for it.
const JWT_SECRET: &str = "secreto-jwt-de-archivos-3e8b1f7a9c2d4e60b5a1";
/// Demo credentials from `taquilla_app::demo::DEMO_USERS`.
const CASHIER: (&str, &str) = ("demo-cajero", "demo-cajero-2026");
const WRONG_PASSWORD: &str = "clave-equivocada-archivos-7731";

/// A `taquilla serve --demo` process that writes log files to `log_dir`.
struct Server {
    child: Child,
    base: String,
    stderr: Arc<Mutex<Vec<String>>>,
    log_dir: PathBuf,
    _scratch: tempfile::TempDir,
}

impl Server {
    /// Starts the server on a port the OS chooses, with every request slow, and
    /// waits for its `server_started` event on stderr.
    fn start(rotation: &str) -> Self {
        let scratch = tempfile::tempdir().expect("creating a temporary directory");
        // A directory that does not exist yet, so the start must create it.
        let log_dir = scratch.path().join("logs").join(rotation);
        let mut child = Command::new(env!("CARGO_BIN_EXE_taquilla"))
            .args(["serve", "--demo", "--bind", "127.0.0.1:0"])
            .arg("--data-dir")
            .arg(scratch.path())
            .env_clear()
            .env("TAQUILLA_LOG_FORMAT", "json")
            .env("TAQUILLA_LOG_DIR", &log_dir)
            .env("TAQUILLA_LOG_ROTATION", rotation)
            .env("TAQUILLA_SLOW_REQUEST_MS", "0")
            .env("TAQUILLA_JWT_SECRET", JWT_SECRET)
            .env("TAQUILLA_ARGON2_MEMORY_KIB", "64")
            .env("TAQUILLA_ARGON2_ITERATIONS", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting taquilla");
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let stream = child.stderr.take().unwrap();
        let lines = stderr.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                lines.lock().unwrap().push(line);
            }
        });

        let started = Instant::now();
        loop {
            let address = stderr.lock().unwrap().iter().find_map(|line| {
                let event: Value = serde_json::from_str(line).ok()?;
                (event["event"] == "server_started")
                    .then(|| event["address"].as_str().map(str::to_string))?
            });
            if let Some(address) = address {
                return Self {
                    child,
                    base: format!("http://{address}"),
                    stderr,
                    log_dir,
                    _scratch: scratch,
                };
            }
            if let Some(status) = child.try_wait().expect("checking taquilla") {
                panic!(
                    "taquilla exited with {status} before listening; stderr:\n{}",
                    stderr.lock().unwrap().join("\n")
                );
            }
            if started.elapsed() > Duration::from_secs(60) {
                let _ = child.kill();
                let _ = child.wait();
                panic!("taquilla wrote no server_started event within 60 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Sends SIGTERM and waits for a graceful exit.
    fn stop(&mut self) {
        let pid = self.child.id().to_string();
        let status = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("running kill");
        assert!(status.success(), "kill -TERM {pid} failed");
        let started = Instant::now();
        let exit = loop {
            if let Some(exit) = self.child.try_wait().expect("waiting for taquilla") {
                break exit;
            }
            if started.elapsed() > Duration::from_secs(30) {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("taquilla did not stop within 30 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        assert!(exit.success(), "taquilla exited with {exit}");
    }
}

impl Drop for Server {
    /// Kills the server when a test fails before stopping it.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// One log file: its raw lines and their parsed events.
struct LogFile {
    name: String,
    lines: Vec<String>,
    events: Vec<Value>,
}

impl LogFile {
    /// Reads `path` and fails the test on a line that is not a JSON object.
    fn read(path: &Path) -> Self {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|error| panic!("reading {}: {error}", path.display()));
        let lines: Vec<String> = text.lines().map(str::to_string).collect();
        let mut events = Vec::new();
        for (number, line) in lines.iter().enumerate() {
            let event: Value = serde_json::from_str(line).unwrap_or_else(|error| {
                panic!("{name} line {} is not JSON ({error}): {line}", number + 1)
            });
            assert!(
                event.is_object(),
                "{name} line {} is not a JSON object: {line}",
                number + 1
            );
            events.push(event);
        }
        Self {
            name,
            lines,
            events,
        }
    }

    fn count(&self, event: &str) -> usize {
        self.events
            .iter()
            .filter(|line| line["event"] == event)
            .count()
    }

    /// Returns the event names in the file, with a count of each.
    fn names(&self) -> BTreeMap<String, usize> {
        let mut names = BTreeMap::new();
        for event in &self.events {
            let name = event["event"]
                .as_str()
                .or_else(|| event["target"].as_str())
                .unwrap_or("?")
                .to_string();
            *names.entry(name).or_default() += 1;
        }
        names
    }
}

/// Lists the files of `directory` by name.
fn file_names(directory: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(directory)
        .unwrap_or_else(|error| panic!("listing {}: {error}", directory.display()))
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Runs a failed login, a successful login, an authorized request and an
/// anonymous one, and returns the tokens the successful login received.
async fn run_session(base: &str) -> Vec<(String, String)> {
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let login = |password: &'static str| {
        http.post(format!("{base}/api/v1/auth/login"))
            .json(&json!({ "username": CASHIER.0, "password": password }))
            .send()
    };

    let wrong = login(WRONG_PASSWORD).await.expect("sending a login");
    assert_eq!(wrong.status().as_u16(), 401);
    let right = login(CASHIER.1).await.expect("sending a login");
    assert_eq!(right.status().as_u16(), 200);
    let tokens: Value = right.json().await.expect("a login body");
    let access = tokens["access_token"].as_str().expect("an access token");
    let refresh = tokens["refresh_token"].as_str().expect("a refresh token");

    let events = http
        .get(format!("{base}/api/v1/events"))
        .bearer_auth(access)
        .send()
        .await
        .expect("listing events");
    assert_eq!(events.status().as_u16(), 200);
    let anonymous = http
        .get(format!("{base}/api/v1/auth/me"))
        .send()
        .await
        .expect("asking who is logged in");
    assert_eq!(anonymous.status().as_u16(), 401);

    let signature = access.rsplit('.').next().unwrap_or_default();
    vec![
        ("access token".into(), access.to_string()),
        ("access token signature".into(), signature.to_string()),
        ("refresh token".into(), refresh.to_string()),
    ]
}

/// Checks that no line of `file` contains one of `secrets`.
#[track_caller]
fn assert_no_secrets(file: &LogFile, secrets: &[(String, String)]) {
    for line in &file.lines {
        let line = line.to_lowercase();
        for (name, secret) in secrets {
            assert!(
                !line.contains(&secret.to_lowercase()),
                "{} contains the {name}: {line}",
                file.name
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_files_split_events_without_secrets() {
    // Arrange
    let mut server = Server::start("daily");

    // Act
    let mut secrets = run_session(&server.base).await;
    server.stop();

    // Assert: one file per log, named with the UTC date of the daily rotation.
    let names = file_names(&server.log_dir);
    assert_eq!(names.len(), 3, "unexpected files: {names:?}");
    let find = |prefix: &str| {
        let name = names
            .iter()
            .find(|name| name.starts_with(&format!("{prefix}.")) && name.ends_with(".log"))
            .unwrap_or_else(|| panic!("no {prefix} log file in {names:?}"));
        let date = &name[prefix.len() + 1..name.len() - ".log".len()];
        assert_eq!(date.len(), "2026-01-31".len(), "{name} has no date");
        LogFile::read(&server.log_dir.join(name))
    };
    let application = find("taquilla");
    let performance = find("performance");
    let security = find("security");

    // The application file has everything, up to the graceful stop.
    assert_eq!(application.count("server_started"), 1);
    assert_eq!(
        application.count("server_stopped"),
        1,
        "the application file ends before a graceful stop"
    );
    assert_eq!(application.count("login_failed"), 1);
    assert_eq!(application.count("login_succeeded"), 1);
    assert_eq!(application.count("http_request"), 4);
    assert_eq!(application.count("slow_request_detected"), 4);

    // The security file has the authentication events and the 401 responses only.
    assert_eq!(security.count("login_failed"), 1, "{:?}", security.names());
    assert_eq!(
        security.count("login_succeeded"),
        1,
        "{:?}",
        security.names()
    );
    assert_eq!(security.count("http_request"), 2, "{:?}", security.names());
    assert_eq!(security.count("slow_request_detected"), 0);
    assert_eq!(security.events.len(), 4, "{:?}", security.names());
    for event in security
        .events
        .iter()
        .filter(|event| event["event"] == "http_request")
    {
        assert_eq!(event["http.status"], 401, "{event}");
    }

    // The performance file has the slow requests only.
    assert_eq!(
        performance.count("slow_request_detected"),
        4,
        "{:?}",
        performance.names()
    );
    assert_eq!(performance.count("login_failed"), 0);
    assert_eq!(performance.count("login_succeeded"), 0);
    // A slow SQL statement on a loaded machine is a performance line too.
    for event in &performance.events {
        assert!(
            event["event"] == "slow_request_detected" || event["target"] == "sqlx::query",
            "unexpected performance line: {event}"
        );
    }

    // A file line carries the same fields as the stderr line of the same event,
    // including the request span.
    let stderr_lines = server.stderr.lock().unwrap().clone();
    let stderr_login = stderr_lines
        .iter()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find(|event| event["event"] == "login_succeeded")
        .expect("login_succeeded on stderr");
    let file_login = security
        .events
        .iter()
        .find(|event| event["event"] == "login_succeeded")
        .expect("login_succeeded in the security file");
    let without_time = |event: &Value| {
        let mut event = event.clone();
        event.as_object_mut().unwrap().remove("timestamp");
        event
    };
    assert_eq!(without_time(file_login), without_time(&stderr_login));
    assert!(file_login["span"]["request.id"].is_string(), "{file_login}");

    // No file contains a password, a token or the JWT secret.
    secrets.extend([
        ("cashier password".to_string(), CASHIER.1.to_string()),
        ("wrong password".to_string(), WRONG_PASSWORD.to_string()),
        ("JWT secret".to_string(), JWT_SECRET.to_string()),
    ]);
    for file in [&application, &performance, &security] {
        assert_no_secrets(file, &secrets);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_files_without_rotation_keep_plain_names() {
    // Arrange
    let mut server = Server::start("never");

    // Act
    run_session(&server.base).await;
    server.stop();

    // Assert
    assert_eq!(
        file_names(&server.log_dir),
        ["performance.log", "security.log", "taquilla.log"]
    );
    let security = LogFile::read(&server.log_dir.join("security.log"));
    assert_eq!(security.count("login_failed"), 1);
}

#[test]
fn log_directory_under_a_file_stops_start() {
    // Arrange: a log directory whose parent is a regular file cannot be created,
    // even by root.
    let scratch = tempfile::tempdir().expect("creating a temporary directory");
    let file = scratch.path().join("not-a-directory");
    std::fs::write(&file, b"").expect("writing a file");
    let log_dir = file.join("logs");

    // Act
    let output = Command::new(env!("CARGO_BIN_EXE_taquilla"))
        .args(["serve", "--bind", "127.0.0.1:0"])
        .arg("--data-dir")
        .arg(scratch.path())
        .env_clear()
        .env("TAQUILLA_LOG_DIR", &log_dir)
        .stdin(Stdio::null())
        .output()
        .expect("running taquilla");

    // Assert
    assert!(
        !output.status.success(),
        "taquilla started without its log directory"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&log_dir.display().to_string()),
        "the error does not name the log directory: {stderr}"
    );
}

#[test]
fn log_max_files_of_one_stops_start() {
    // Arrange
    let scratch = tempfile::tempdir().expect("creating a temporary directory");

    // Act
    let output = Command::new(env!("CARGO_BIN_EXE_taquilla"))
        .args(["serve", "--bind", "127.0.0.1:0"])
        .arg("--data-dir")
        .arg(scratch.path())
        .env_clear()
        .env("TAQUILLA_LOG_DIR", scratch.path().join("logs"))
        .env("TAQUILLA_LOG_MAX_FILES", "1")
        .stdin(Stdio::null())
        .output()
        .expect("running taquilla");

    // Assert
    assert!(
        !output.status.success(),
        "taquilla started with one log file"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("TAQUILLA_LOG_MAX_FILES"), "{stderr}");
    assert!(
        !scratch.path().join("logs").exists(),
        "the log directory was created before the configuration was checked"
    );
}
