//! Text folding for search.

/// Folds text for accent- and case-insensitive search: lower case, and Spanish
/// and Portuguese accented letters replaced by their base letter (`Ángel
/// Núñez` becomes `angel nunez`). Both database backends then compare plain
/// strings, since SQLite's `LOWER` only folds ASCII.
pub fn fold_for_search(text: &str) -> String {
    text.chars()
        .flat_map(char::to_lowercase)
        .map(|character| match character {
            'á' | 'à' | 'ä' | 'â' | 'ã' => 'a',
            'é' | 'è' | 'ë' | 'ê' => 'e',
            'í' | 'ì' | 'ï' | 'î' => 'i',
            'ó' | 'ò' | 'ö' | 'ô' | 'õ' => 'o',
            'ú' | 'ù' | 'ü' | 'û' => 'u',
            'ñ' => 'n',
            'ç' => 'c',
            other => other,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accents_and_case_fold_away() {
        assert_eq!(
            fold_for_search("Ángel Álvarez Núñez"),
            "angel alvarez nunez"
        );
        assert_eq!(fold_for_search("ÁLVAREZ"), "alvarez");
        assert_eq!(fold_for_search("María José"), "maria jose");
    }
}
