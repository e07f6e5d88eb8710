//! Lucent's developer commands, run as `cargo xtask ...` (alias in .cargo/config.toml):
//!
//! * `serve [--port 8080] [--no-build] [--embed-origin ORIGIN]... [--connect-origin ORIGIN]...`:
//!   install what is missing, build, serve www/ (embed origins may frame embed.html and drive it
//!   by postMessage; pages may fetch from connect origins, e.g. a PACS).
//! * `test`: everything CI checks (fmt, clippy native + wasm32, cargo test, wasm and browser tests).
//! * `bench [load|decode|mpr|share]`: benchmarks (page load, MPR and share bundles in Chromium; codecs vs
//!   Cornerstone in Node).
//! * `fuzz [parse|decode|all] [seconds]`: the cargo-fuzz targets of `fuzz/` on stable (see fuzz.rs).
//!
//! Std-only on purpose: this is the first thing a fresh clone compiles.

mod artifacts;
mod bench;
mod ci;
mod fuzz;
mod process;
mod server;
mod setup;

use std::process::ExitCode;

use process::{repo_root, Res};

const USAGE: &str = "\
usage: cargo xtask <command>

  serve [--port 8080] [--no-build] [--embed-origin ORIGIN]... [--connect-origin ORIGIN]...
                                     install tools, build wasm + CLI + demo, serve www/;
                                     --embed-origin: may frame embed.html (e.g. https://portal.example);
                                     --connect-origin: pages may fetch from it (a PACS's DICOMweb)
  test                               everything CI checks, failing fast
  bench [load|decode|mpr|share]      benchmarks: page load, codecs vs Cornerstone, MPR, share bundles
                                     (default: all)
  fuzz [parse|decode|all] [SECONDS]  cargo-fuzz targets (fuzz/) on stable, SECONDS each (default 60);
                                     installs cargo-fuzz when missing; crashes go to fuzz/target/artifacts/
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("serve") => parse_serve(&args[1..]).and_then(serve),
        Some("test") if args.len() == 1 => ci::test(),
        Some("bench") => bench::bench(&args[1..]),
        Some("fuzz") => fuzz::fuzz(&args[1..]),
        Some("help" | "-h" | "--help") => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => Err(format!("unknown arguments {args:?}\n\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("\nerror: {message}");
            ExitCode::FAILURE
        }
    }
}

struct ServeArgs {
    port: u16,
    build: bool,
    embed_origins: Vec<String>,
    connect_origins: Vec<String>,
}

fn parse_serve(args: &[String]) -> Res<ServeArgs> {
    let mut port = 8080;
    let mut build = true;
    let mut embed_origins = Vec::new();
    let mut connect_origins = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--no-build" => build = false,
            "--embed-origin" => {
                let value = args.next().ok_or("--embed-origin needs an origin")?;
                embed_origins.push(value.trim_end_matches('/').to_string());
            }
            "--connect-origin" => {
                let value = args.next().ok_or("--connect-origin needs an origin")?;
                connect_origins.push(value.trim_end_matches('/').to_string());
            }
            "--port" => {
                let value = args.next().ok_or("--port needs a number")?;
                port = value
                    .parse()
                    .map_err(|_| format!("--port {value}: not a port number"))?;
            }
            other => match other.strip_prefix("--port=") {
                Some(value) => {
                    port = value
                        .parse()
                        .map_err(|_| format!("--port={value}: not a port number"))?;
                }
                None => return Err(format!("serve: unknown argument `{other}`\n\n{USAGE}")),
            },
        }
    }
    Ok(ServeArgs {
        port,
        build,
        embed_origins,
        connect_origins,
    })
}

fn serve(
    ServeArgs {
        port,
        build,
        embed_origins,
        connect_origins,
    }: ServeArgs,
) -> Res<()> {
    let root = repo_root();
    if build {
        artifacts::build_all()?;
        // Only the tests need node packages; a viewer-only machine may have no Node.js.
        if setup::npm_available() {
            setup::ensure_npm_packages()?;
        }
    } else if !root.join("www/pkg/viewer_wasm_bg.wasm").is_file() {
        eprintln!("xtask: warning: www/pkg/ is not built; run without --no-build once");
    }
    let options = server::Options {
        log: true,
        embed_origins,
        connect_origins,
    };
    let server = server::serve(&root.join("www"), &format!("127.0.0.1:{port}"), options)
        .map_err(|e| format!("could not serve www/ on 127.0.0.1:{port}: {e}"))?;
    println!(
        "\nLucent is running at {}  (Ctrl-C to stop)\n",
        server.url()
    );
    server.wait();
    Ok(())
}
