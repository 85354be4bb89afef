//! `features`: the feature table a model would see, written for inspection as CSV or
//! Parquet.

use crate::support::Case;

#[test]
fn the_feature_table_is_written_for_inspection() {
    let case = Case::new().with_sample();
    case.run(["features", "--symbol", "SYNTH", "--out", "f.csv"])
        .assert_exit(0)
        .stdout_contains("12960 rows x 34 features");
    let text = std::fs::read_to_string(case.path("f.csv")).unwrap();
    let header = text.lines().next().unwrap();
    assert!(header.starts_with("open_time,ret_1,"), "{header}");
    assert!(header.ends_with(",regime,label,forward_return"), "{header}");
    assert_eq!(text.lines().count(), 12961);
    for regime in ["trending", "sideways", "volatile", "consolidation"] {
        assert!(text.contains(&format!(",{regime},")), "{regime}");
    }
    case.run(["features", "--symbol", "SYNTH", "--out", "f.parquet"]).assert_exit(0);
    use polars::prelude::{ParquetReader, SerReader};
    let frame = ParquetReader::new(std::fs::File::open(case.path("f.parquet")).unwrap()).finish().unwrap();
    assert_eq!(frame.shape(), (12960, 38));
    case.run(["features", "--symbol", "SYNTH", "--out", "f.txt"])
        .assert_exit(2)
        .stderr_contains("expected a .csv or .parquet");
}
