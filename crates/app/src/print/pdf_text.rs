//! Text extraction from the PDFs this module writes, for tests.
//!
//! krilla writes compressed streams and shows text as 2-byte glyph ids of a
//! subset font, so the text is not in the bytes as written. This reader
//! inflates the streams, reads each font's ToUnicode CMap, and maps the glyph
//! ids of every text-showing operator back to characters. It handles only what
//! krilla 0.8 writes (uncompressed object syntax, literal or hex strings, bfchar
//! and bfrange CMaps), not PDF in general.

use std::collections::HashMap;
use std::io::Read;

struct PdfObject {
    dictionary: String,
    stream: Option<Vec<u8>>,
}

/// Returns the text of each `Tj`/`TJ` operator of every page, in content order.
pub(crate) fn texts(pdf: &[u8]) -> Vec<String> {
    let objects = objects(pdf);
    let mut numbers: Vec<&u32> = objects.keys().collect();
    numbers.sort();
    let mut texts = Vec::new();
    for object in numbers.into_iter().map(|number| &objects[number]) {
        if !object.dictionary.contains("/Type/Page/") && !object.dictionary.ends_with("/Type/Page")
        {
            continue;
        }
        let fonts = page_fonts(&objects, &object.dictionary);
        let Some(contents) = reference(&object.dictionary, "/Contents ") else {
            continue;
        };
        let Some(stream) = objects
            .get(&contents)
            .and_then(|content| content.stream.as_ref())
        else {
            continue;
        };
        texts.extend(content_texts(stream, &fonts));
    }
    texts
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    haystack
        .get(from..)?
        .windows(needle.len())
        .position(|window| window == needle)
        .map(|offset| from + offset)
}

fn objects(pdf: &[u8]) -> HashMap<u32, PdfObject> {
    let mut objects = HashMap::new();
    let mut position = 0;
    while let Some(header) = find(pdf, b" 0 obj", position) {
        let mut number_start = header;
        while number_start > 0 && pdf[number_start - 1].is_ascii_digit() {
            number_start -= 1;
        }
        let number: u32 = String::from_utf8_lossy(&pdf[number_start..header])
            .parse()
            .expect("an object number");
        let end = find(pdf, b"endobj", header).expect("the end of an object");
        let body = &pdf[header + b" 0 obj".len()..end];
        let object = match find(body, b"stream", 0) {
            Some(marker) => {
                let dictionary = String::from_utf8_lossy(&body[..marker]).trim().to_string();
                let mut data_start = marker + b"stream".len();
                while matches!(body.get(data_start), Some(b'\r' | b'\n')) {
                    data_start += 1;
                }
                let data_end = find(body, b"endstream", data_start).expect("the end of a stream");
                let mut data = &body[data_start..data_end];
                while let Some((last, rest)) = data.split_last()
                    && matches!(last, b'\r' | b'\n')
                {
                    data = rest;
                }
                let stream = if dictionary.contains("/FlateDecode") {
                    let mut inflated = Vec::new();
                    flate2::read::ZlibDecoder::new(data)
                        .read_to_end(&mut inflated)
                        .expect("a valid Flate stream");
                    inflated
                } else {
                    data.to_vec()
                };
                PdfObject {
                    dictionary,
                    stream: Some(stream),
                }
            }
            None => PdfObject {
                dictionary: String::from_utf8_lossy(body).trim().to_string(),
                stream: None,
            },
        };
        objects.insert(number, object);
        position = end;
    }
    objects
}

/// Returns the object number after `key` in `N 0 R` form.
fn reference(dictionary: &str, key: &str) -> Option<u32> {
    let start = dictionary.find(key)? + key.len();
    dictionary[start..].split(' ').next()?.parse().ok()
}

/// Maps each font resource name of a page (`f0`) to its glyph-id-to-text CMap.
fn page_fonts(
    objects: &HashMap<u32, PdfObject>,
    page: &str,
) -> HashMap<String, HashMap<u16, String>> {
    let resources = reference(page, "/Resources ")
        .and_then(|number| objects.get(&number))
        .map(|object| object.dictionary.clone())
        .unwrap_or_else(|| page.to_string());
    let Some(start) = resources.find("/Font<<") else {
        return HashMap::new();
    };
    let entries = &resources[start + "/Font<<".len()..];
    let entries = &entries[..entries.find(">>").unwrap_or(entries.len())];
    let mut fonts = HashMap::new();
    for entry in entries.split('/').filter(|entry| !entry.is_empty()) {
        let mut parts = entry.split(' ');
        let (Some(name), Some(number)) = (parts.next(), parts.next()) else {
            continue;
        };
        let cmap = number
            .parse::<u32>()
            .ok()
            .and_then(|number| objects.get(&number))
            .and_then(|font| reference(&font.dictionary, "/ToUnicode "))
            .and_then(|number| objects.get(&number))
            .and_then(|cmap| cmap.stream.as_ref())
            .map(|stream| to_unicode(&String::from_utf8_lossy(stream)))
            .unwrap_or_default();
        fonts.insert(name.to_string(), cmap);
    }
    fonts
}

fn hex_text(hex: &str) -> String {
    let units: Vec<u16> = hex
        .as_bytes()
        .chunks(4)
        .filter_map(|chunk| u16::from_str_radix(std::str::from_utf8(chunk).ok()?, 16).ok())
        .collect();
    String::from_utf16_lossy(&units)
}

fn hex_values(line: &str) -> Vec<&str> {
    line.split(['<', '>'])
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .collect()
}

fn to_unicode(cmap: &str) -> HashMap<u16, String> {
    let mut map = HashMap::new();
    let mut section = "";
    for line in cmap.lines() {
        if line.ends_with("beginbfchar") || line.ends_with("beginbfrange") {
            section = if line.ends_with("beginbfchar") {
                "char"
            } else {
                "range"
            };
            continue;
        }
        if line.starts_with("end") {
            section = "";
            continue;
        }
        let values = hex_values(line);
        match (section, values.as_slice()) {
            ("char", [glyph, text]) => {
                if let Ok(glyph) = u16::from_str_radix(glyph, 16) {
                    map.insert(glyph, hex_text(text));
                }
            }
            ("range", [first, last, text]) => {
                let (Ok(first), Ok(last), Ok(base)) = (
                    u16::from_str_radix(first, 16),
                    u16::from_str_radix(last, 16),
                    u32::from_str_radix(text, 16),
                ) else {
                    continue;
                };
                for glyph in first..=last {
                    let code = base + u32::from(glyph - first);
                    if let Some(character) = char::from_u32(code) {
                        map.insert(glyph, character.to_string());
                    }
                }
            }
            _ => {}
        }
    }
    map
}

/// Reads a literal string starting after its `(`, and returns its bytes and
/// the position after the closing `)`.
fn literal(content: &[u8], mut position: usize) -> (Vec<u8>, usize) {
    let mut bytes = Vec::new();
    let mut depth = 0;
    while position < content.len() {
        let byte = content[position];
        position += 1;
        match byte {
            b'\\' => {
                let escaped = content[position];
                position += 1;
                match escaped {
                    b'n' => bytes.push(b'\n'),
                    b'r' => bytes.push(b'\r'),
                    b't' => bytes.push(b'\t'),
                    b'b' => bytes.push(0x08),
                    b'f' => bytes.push(0x0c),
                    b'0'..=b'7' => {
                        let mut value = u32::from(escaped - b'0');
                        for _ in 0..2 {
                            match content.get(position) {
                                Some(digit @ b'0'..=b'7') => {
                                    value = value * 8 + u32::from(digit - b'0');
                                    position += 1;
                                }
                                _ => break,
                            }
                        }
                        bytes.push(value as u8);
                    }
                    other => bytes.push(other),
                }
            }
            b'(' => {
                depth += 1;
                bytes.push(byte);
            }
            b')' if depth == 0 => return (bytes, position),
            b')' => {
                depth -= 1;
                bytes.push(byte);
            }
            other => bytes.push(other),
        }
    }
    (bytes, position)
}

fn content_texts(content: &[u8], fonts: &HashMap<String, HashMap<u16, String>>) -> Vec<String> {
    let empty = HashMap::new();
    let mut texts = Vec::new();
    let mut font = &empty;
    let mut last_name = String::new();
    let mut glyphs: Vec<u8> = Vec::new();
    let mut position = 0;
    while position < content.len() {
        match content[position] {
            b'(' => {
                let (bytes, next) = literal(content, position + 1);
                glyphs.extend(bytes);
                position = next;
            }
            b'<' if content.get(position + 1) != Some(&b'<') => {
                let end = find(content, b">", position).unwrap_or(content.len());
                let hex = String::from_utf8_lossy(&content[position + 1..end]).to_string();
                glyphs.extend(hex.as_bytes().chunks(2).filter_map(|pair| {
                    u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()
                }));
                position = end + 1;
            }
            b'/' => {
                let end = content[position + 1..]
                    .iter()
                    .position(|byte| byte.is_ascii_whitespace() || b"/[]()<>".contains(byte))
                    .map_or(content.len(), |offset| position + 1 + offset);
                last_name = String::from_utf8_lossy(&content[position + 1..end]).to_string();
                position = end;
            }
            _ if content[position..].starts_with(b"Tf") => {
                font = fonts.get(&last_name).unwrap_or(&empty);
                position += 2;
            }
            _ if content[position..].starts_with(b"TJ")
                || content[position..].starts_with(b"Tj") =>
            {
                let text: String = glyphs
                    .chunks(2)
                    .map(|pair| u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)]))
                    .map(|glyph| font.get(&glyph).cloned().unwrap_or_default())
                    .collect();
                texts.push(text);
                glyphs.clear();
                position += 2;
            }
            _ => position += 1,
        }
    }
    texts
}
