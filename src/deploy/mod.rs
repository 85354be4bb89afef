//! Deploying models safely: the promotion gates, signals and their outcomes, canary
//! tests, and the watch that rolls back a fresh promotion that degrades live. Pure:
//! the commands gather the evidence and write the decisions.

pub mod canary;
pub mod gates;
pub mod signals;
