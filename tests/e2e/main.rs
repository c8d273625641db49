//! End-to-end tests: run the real `swim` binary the way an operator would.

mod abuse;
mod access;
mod adl;
mod bad_snapshots;
mod browser;
mod cluster;
mod dashboard;
mod detection;
mod first_run;
mod flights_api;
mod gateway;
mod guest_build;
mod hardening;
mod ingest;
mod new_plugin;
mod openapi;
mod operator;
mod plugin_examples;
mod plugins_cli;
mod readme;
mod restart;
mod resume;
mod tls;
mod tmi;
mod websocket;
mod ws_client;
