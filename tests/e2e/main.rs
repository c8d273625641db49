//! End-to-end tests: run the real `swim` binary the way an operator would.

mod access;
mod bad_snapshots;
mod cluster;
mod detection;
mod flights_api;
mod gateway;
mod hardening;
mod ingest;
mod new_plugin;
mod openapi;
mod plugins_cli;
mod restart;
mod resume;
mod tls;
mod tmi;
mod websocket;
mod ws_client;
