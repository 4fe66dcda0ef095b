//! relabel: a self-hosted platform where people label e-commerce search relevance and
//! rank a model's chain-of-thought outputs, and where those labels become SFT and
//! preference training data. This crate is the server: CLI, HTTP API, server-side
//! rendering of the Leptos app, storage and import.

// Leptos views are deeply nested types; the workspace page needs more than the default 128.
#![recursion_limit = "256"]

pub mod auth;
pub mod bands;
pub mod bench;
pub mod cli;
pub mod dashboard;
pub mod demo;
pub mod demo_project;
pub mod domain;
pub mod export;
pub mod figures;
pub mod guideline;
pub mod import;
pub mod load;
pub mod metrics;
pub mod quality;
pub mod queue;
pub mod ranking;
pub mod rereview;
pub mod scorer;
pub mod service;
pub mod storage;
pub mod web;
