//! Seat-map rules for numbered zones.

/// Returns the label of the row at `index` (0-based): A … Z, AA … AZ, BA …, like
/// spreadsheet columns.
pub fn row_label(index: usize) -> String {
    let mut label = Vec::new();
    let mut remaining = index + 1;
    while remaining > 0 {
        remaining -= 1;
        label.push(b'A' + (remaining % 26) as u8);
        remaining /= 26;
    }
    label.reverse();
    String::from_utf8(label).expect("row labels are ASCII")
}

/// Largest number of rows in a numbered zone.
pub const MAX_ROWS: usize = 200;
/// Largest number of seats in one row.
pub const MAX_SEATS_PER_ROW: i64 = 500;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_follow_spreadsheet_order() {
        assert_eq!(row_label(0), "A");
        assert_eq!(row_label(25), "Z");
        assert_eq!(row_label(26), "AA");
        assert_eq!(row_label(27), "AB");
        assert_eq!(row_label(51), "AZ");
        assert_eq!(row_label(52), "BA");
        assert_eq!(row_label(701), "ZZ");
        assert_eq!(row_label(702), "AAA");
    }
}
