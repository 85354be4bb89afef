//! The words the state is written in: statuses and kinds as enums, stored as their text.
//!
//! Each enum is stored in SQLite and shown in JSON as the lowercase word its variant names
//! (the values the schema has always held, so no data migrates), and read back through
//! `FromStr`, which refuses anything else with the word and the accepted ones.

/// An enum whose variants are stored, printed and parsed as fixed words.
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal,)+ }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name { $($(#[$vmeta])* $variant,)+ }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The word stored and printed for this variant.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text,)+ }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;

            fn from_str(text: &str) -> Result<$name, String> {
                $name::ALL.iter().copied().find(|v| v.as_str() == text).ok_or_else(|| {
                    let words: Vec<&str> = $name::ALL.iter().map(|v| v.as_str()).collect();
                    format!("unknown {} {text:?}: expected one of {}", stringify!($name), words.join(", "))
                })
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<$name, D::Error> {
                let text = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }

        $crate::store::db::sql_text!($name);
    };
}

pub(crate) use text_enum;

text_enum! {
    /// Where a model version stands. At most one production and one canary per model.
    pub enum VersionStatus {
        /// Trained and registered; not serving.
        Candidate => "candidate",
        /// Serving every prediction of its model.
        Production => "production",
        /// Serving a share of predictions in a canary test against production.
        Canary => "canary",
        /// Served once, or never will.
        Archived => "archived",
    }
}

text_enum! {
    /// Where a job of `run` stands.
    pub enum JobStatus {
        /// A manual request waiting for the next run.
        Queued => "queued",
        Running => "running",
        Succeeded => "succeeded",
        Failed => "failed",
        /// A request withdrawn before a run took it.
        Cancelled => "cancelled",
        /// Left running by a run that was killed; the next run does the work again.
        Abandoned => "abandoned",
    }
}

text_enum! {
    /// What an evaluation row measured.
    pub enum EvaluationKind {
        /// The version's test window, measured once at training.
        Test => "test",
        /// A backtest on bars the version never saw.
        Backtest => "backtest",
        /// Champion against challenger on shared unseen bars.
        Compare => "compare",
    }
}

text_enum! {
    /// What an alert is about.
    pub enum AlertKind {
        /// A production or canary version's metric fell past `triggers.performance_decay`.
        PerformanceDegradation => "performance_degradation",
        /// A model's recent features drifted from its training reference.
        ModelDrift => "model_drift",
        /// A job of `run` failed.
        TrainingFailure => "training_failure",
        /// A fresh promotion degraded live and was rolled back.
        AutomaticRollback => "automatic_rollback",
        /// A fresh promotion degraded live and could not be rolled back.
        RollbackFailed => "rollback_failed",
        /// A symbol's source failed in a run and its newest candle is older than the last closed bar.
        StaleData => "stale_data",
    }
}

text_enum! {
    /// The step a running job is at.
    pub enum JobStage {
        Train => "train",
        Evaluate => "evaluate",
        DriftCheck => "drift-check",
        Promote => "promote",
    }
}

text_enum! {
    /// What a deployment row records.
    pub enum DeploymentAction {
        Promote => "promote",
        Rollback => "rollback",
        CanaryStart => "canary_start",
        CanaryEnd => "canary_end",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip_and_anything_else_is_refused_with_the_choices() {
        for status in VersionStatus::ALL {
            assert_eq!(status.as_str().parse::<VersionStatus>(), Ok(*status));
        }
        assert_eq!(AlertKind::StaleData.to_string(), "stale_data");
        let err = "Production".parse::<VersionStatus>().unwrap_err();
        assert_eq!(
            err,
            "unknown VersionStatus \"Production\": expected one of candidate, production, canary, archived"
        );
        assert_eq!(serde_json::to_string(&JobStatus::Abandoned).unwrap(), "\"abandoned\"");
        assert_eq!(serde_json::from_str::<EvaluationKind>("\"compare\"").unwrap(), EvaluationKind::Compare);
        assert!(serde_json::from_str::<EvaluationKind>("\"other\"").is_err());
    }

    #[test]
    fn the_store_keeps_the_words_and_refuses_an_unknown_one_on_reading() {
        use crate::store::db::{Db, params};
        let db = Db::sqlite(rusqlite::Connection::open_in_memory().unwrap());
        db.batch("CREATE TABLE t (s TEXT)").unwrap();
        db.execute("INSERT INTO t VALUES (?1)", params![VersionStatus::Canary]).unwrap();
        let text: String = db.query_row("SELECT s FROM t", &[], |r| r.get(0)).unwrap();
        assert_eq!(text, "canary");
        let back: VersionStatus = db.query_row("SELECT s FROM t", &[], |r| r.get(0)).unwrap();
        assert_eq!(back, VersionStatus::Canary);
        db.execute("UPDATE t SET s = 'gone'", &[]).unwrap();
        let err = db.query_row("SELECT s FROM t", &[], |r| r.get::<VersionStatus>(0)).unwrap_err();
        assert!(err.to_string().contains("unknown VersionStatus \"gone\""), "{err}");
    }
}
