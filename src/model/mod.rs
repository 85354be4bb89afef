//! Models and their measurement: forests, scaling, metrics, the search, the dataset
//! assembly with its time split. Pure: arrays and plain structs in, results out.

pub mod dataset;
pub mod forest;
pub mod importance;
pub mod metrics;
pub mod pipeline;
pub mod search;
