//! The error every statistic returns when its input is malformed.

use std::error::Error;
use std::fmt;

/// Why an input was rejected. Positions are zero-based and refer to the input as the
/// caller passed it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AgreementError {
    /// A row of a matrix input is not as long as the first row.
    RaggedRows {
        /// The row that differs.
        row: usize,
        /// The length of the first row.
        expected: usize,
        /// The length of this row.
        found: usize,
    },
    /// Two inputs that pair up item by item (two raters' labels, two rankings) differ in
    /// length.
    LengthMismatch {
        /// The length of the first input.
        left: usize,
        /// The length of the second input.
        right: usize,
    },
    /// A value is NaN or infinite. For two paired slices, `row` is 0 for the first and 1
    /// for the second.
    NonFinite {
        /// The row (or slice) holding the value.
        row: usize,
        /// The value's position within its row.
        column: usize,
    },
    /// A category index is not below the number of categories.
    CategoryOutOfRange {
        /// The item whose label is out of range.
        item: usize,
        /// The category index given.
        category: usize,
        /// The number of categories.
        categories: usize,
    },
    /// A contingency table has a different number of columns than rows.
    NotSquare {
        /// The number of rows.
        rows: usize,
        /// The number of columns.
        columns: usize,
    },
    /// A subject's counts add up to a different number of raters than the first
    /// subject's; Fleiss' kappa needs the same number for every subject.
    UnequalRaters {
        /// The subject that differs.
        subject: usize,
        /// The number of raters of the first subject.
        expected: u128,
        /// The number of raters of this subject.
        found: u128,
    },
}

impl fmt::Display for AgreementError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::RaggedRows {
                row,
                expected,
                found,
            } => write!(
                f,
                "row {row} has {found} entries but the first row has {expected}"
            ),
            Self::LengthMismatch { left, right } => {
                write!(f, "paired inputs differ in length: {left} and {right}")
            }
            Self::NonFinite { row, column } => {
                write!(f, "value at row {row}, column {column} is not finite")
            }
            Self::CategoryOutOfRange {
                item,
                category,
                categories,
            } => write!(
                f,
                "item {item} has category {category}, but there are only {categories} categories"
            ),
            Self::NotSquare { rows, columns } => write!(
                f,
                "contingency table is not square: {rows} rows, {columns} columns"
            ),
            Self::UnequalRaters {
                subject,
                expected,
                found,
            } => write!(
                f,
                "subject {subject} was rated {found} times but the first subject {expected} times"
            ),
        }
    }
}

impl Error for AgreementError {}

/// Checks that every row is as long as the first and returns that length (0 for no rows).
pub(crate) fn row_length<T, R: AsRef<[T]>>(rows: &[R]) -> Result<usize, AgreementError> {
    let expected = rows.first().map_or(0, |row| row.as_ref().len());
    for (row, values) in rows.iter().enumerate() {
        let found = values.as_ref().len();
        if found != expected {
            return Err(AgreementError::RaggedRows {
                row,
                expected,
                found,
            });
        }
    }
    Ok(expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_position() {
        let err = AgreementError::NonFinite { row: 2, column: 5 };
        assert_eq!(err.to_string(), "value at row 2, column 5 is not finite");
        let err = AgreementError::CategoryOutOfRange {
            item: 3,
            category: 7,
            categories: 4,
        };
        assert_eq!(
            err.to_string(),
            "item 3 has category 7, but there are only 4 categories"
        );
    }

    #[test]
    fn row_length_reports_the_first_ragged_row() {
        assert_eq!(row_length::<u8, Vec<u8>>(&[]), Ok(0));
        assert_eq!(row_length(&[vec![1, 2], vec![3, 4]]), Ok(2));
        assert_eq!(
            row_length(&[vec![1, 2], vec![3, 4], vec![5]]),
            Err(AgreementError::RaggedRows {
                row: 2,
                expected: 2,
                found: 1
            })
        );
    }
}
