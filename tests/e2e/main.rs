//! End-to-end tests: run the real `swim` binary the way an operator would.

mod plugins_cli;
