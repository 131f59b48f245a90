//! CoNLL-U at the level of surface tokens: `# text`, `# newdoc` / `# newpar`, multiword
//! ranges and `SpaceAfter=No`, which [`crate::conllu`] skips. From it: the raw text a
//! treebank was annotated from, and the per-character segmentation labels of that text.

use std::path::Path;

use crate::conllu::ParseError;

/// One syntactic word of a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokWord {
    /// Column 2.
    pub form: String,
    /// Column 4.
    pub upos: String,
}

/// A surface token: a plain word, or a multiword token (a `1-2` range) and its words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// The surface form (column 2 of the word or of the range line).
    pub form: String,
    /// No `SpaceAfter=No` in column 10.
    pub space_after: bool,
    /// Whether the token is a multiword range.
    pub multiword: bool,
    /// Its syntactic words (one for a plain token).
    pub words: Vec<TokWord>,
}

/// A sentence with its comments' structure.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokSentence {
    /// `# text = ...`, if present.
    pub text: Option<String>,
    /// The line of `# text` (1-based), or 0 without one.
    pub text_line: usize,
    /// Preceded by `# newdoc`.
    pub newdoc: bool,
    /// Preceded by `# newpar`.
    pub newpar: bool,
    /// The tokens in order.
    pub tokens: Vec<Token>,
    /// The line of the file it starts on (its first comment or word; 1-based), or 0
    /// where it comes from no file.
    pub line: usize,
}

impl TokSentence {
    /// Where `# text` and the tokens' forms first differ, whitespace aside: the
    /// character of the text (counted without whitespace) and up to 20 characters of
    /// each from there; `None` if the text spells the tokens (or there is no `# text`).
    pub fn misspelled(&self) -> Option<(usize, String, String)> {
        let text = self.text.as_deref()?;
        let text: Vec<char> = text.chars().filter(|c| !c.is_whitespace()).collect();
        let forms: Vec<char> = self
            .tokens
            .iter()
            .flat_map(|t| t.form.chars())
            .filter(|c| !c.is_whitespace())
            .collect();
        let at = (0..text.len().max(forms.len())).find(|&i| text.get(i) != forms.get(i))?;
        let from = |v: &[char]| v.iter().skip(at).take(20).collect::<String>();
        Some((at, from(&text), from(&forms)))
    }

    /// `# text`, or the text the tokens and their `SpaceAfter` give.
    pub fn text(&self) -> String {
        match &self.text {
            Some(t) => t.clone(),
            None => {
                let mut s = String::new();
                for (i, t) in self.tokens.iter().enumerate() {
                    s.push_str(&t.form);
                    if t.space_after && i + 1 < self.tokens.len() {
                        s.push(' ');
                    }
                }
                s
            }
        }
    }
}

/// Parses CoNLL-U text into token-level sentences. Empty nodes are skipped; the word-level
/// checks (10 fields, IDs in sequence) are [`crate::conllu::parse`]'s, which callers run
/// first.
pub fn parse(text: &str, path: &Path) -> Result<Vec<TokSentence>, ParseError> {
    let err = |line: usize, message: String| ParseError {
        path: path.to_path_buf(),
        line,
        message,
    };
    let text = text.strip_prefix(crate::fsio::BOM).unwrap_or(text);
    let mut out = Vec::new();
    let mut cur = TokSentence::default();
    // Words still expected for the open multiword range.
    let mut pending = 0usize;
    for (number, line) in crate::conllu::numbered_lines(text) {
        if line.trim().is_empty() {
            if !cur.tokens.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            // (Comments without words before a blank line, such as `# newdoc`, stay
            // with the next sentence, which then starts at them; `# text` cannot be
            // among them: `crate::conllu::parse` refuses it.)
            pending = 0;
            continue;
        }
        if cur.line == 0 {
            cur.line = number;
        }
        if let Some(comment) = line.strip_prefix('#') {
            let comment = comment.trim_start();
            if let Some(t) = crate::conllu::text_comment(line) {
                cur.text = Some(t.to_string());
                cur.text_line = number;
            } else if comment.starts_with("newdoc") {
                cur.newdoc = true;
            } else if comment.starts_with("newpar") {
                cur.newpar = true;
            }
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        if fields.len() != 10 {
            return Err(err(
                number,
                format!("expected 10 tab-separated fields, found {}", fields.len()),
            ));
        }
        let id = fields[0];
        if id.contains('.') {
            continue;
        }
        let space_after = !fields[9].split('|').any(|m| m == "SpaceAfter=No");
        if let Some((a, b)) = id.split_once('-') {
            let (a, b): (usize, usize) = match (a.parse(), b.parse()) {
                (Ok(a), Ok(b)) if b > a => (a, b),
                _ => return Err(err(number, format!("bad ID {id:?}"))),
            };
            pending = b - a + 1;
            cur.tokens.push(Token {
                form: fields[1].to_string(),
                space_after,
                multiword: true,
                words: Vec::new(),
            });
            continue;
        }
        let word = TokWord {
            form: fields[1].to_string(),
            upos: fields[3].to_string(),
        };
        if pending > 0 {
            pending -= 1;
            if let Some(t) = cur.tokens.last_mut() {
                t.words.push(word);
            }
        } else {
            cur.tokens.push(Token {
                form: word.form.clone(),
                space_after,
                multiword: false,
                words: vec![word],
            });
        }
    }
    if !cur.tokens.is_empty() {
        out.push(cur);
    }
    Ok(out)
}

/// Reads and parses a CoNLL-U file at the token level (after the word-level checks).
pub fn read(path: &Path) -> anyhow::Result<Vec<TokSentence>> {
    let text = crate::fsio::read_data(path)?;
    crate::conllu::parse(&text, path)?;
    Ok(parse(&text, path)?)
}

/// Whether any sentence carries `# text` (a treebank a segmenter can learn from).
pub fn has_text(sentences: &[TokSentence]) -> bool {
    sentences.iter().any(|s| s.text.is_some())
}

/// The raw text of a treebank: each paragraph's sentences joined by one space, paragraphs
/// (a `# newpar` or `# newdoc`) separated by a blank line. A treebank without paragraph
/// marks is one paragraph.
pub fn raw_text(sentences: &[TokSentence]) -> String {
    joined(sentences, " ")
}

/// [`raw_text`] with one sentence per line: each paragraph's sentences joined by a line
/// break.
pub fn raw_lines(sentences: &[TokSentence]) -> String {
    joined(sentences, "\n")
}

/// The sentences' texts joined by `between`, paragraphs by a blank line, a final newline.
fn joined(sentences: &[TokSentence], between: &str) -> String {
    let mut out = String::new();
    for (i, s) in sentences.iter().enumerate() {
        if i > 0 {
            out.push_str(if s.newpar || s.newdoc {
                "\n\n"
            } else {
                between
            });
        }
        out.push_str(&s.text());
    }
    out.push('\n');
    out
}

/// Segmentation label of a character (see `postag_core::segment`): no boundary, or the
/// last character of a token, with the multiword and sentence-end marks.
pub use postag_core::segment::{LABEL_MULTIWORD, LABEL_NONE, LABEL_SENTENCE_END, LABEL_TOKEN_END};

/// Per-character labels of a text built by [`raw_text`] from `sentences`, one per Unicode
/// scalar value of the text, and whether a token of a labelled sentence contains a
/// space. Tokens are found in
/// each sentence's text by their forms (a sentence whose text does not match its tokens,
/// text after its last token included, is left unlabelled: the third value lists them,
/// as indices into `sentences`).
pub fn labels(sentences: &[TokSentence]) -> (Vec<char>, Vec<u8>, Vec<usize>, bool) {
    let text = raw_text(sentences);
    let chars: Vec<char> = text.chars().collect();
    let mut labels = vec![LABEL_NONE; chars.len()];
    let mut spaces_in_tokens = false;
    let mut mismatched = Vec::new();
    let mut pos = 0usize;
    for (i, s) in sentences.iter().enumerate() {
        if i > 0 {
            pos += if s.newpar || s.newdoc { 2 } else { 1 };
        }
        let sent: Vec<char> = s.text().chars().collect();
        let mut marks = Vec::with_capacity(s.tokens.len());
        let mut at = 0usize;
        let mut ok = true;
        // (Counts only for a sentence that is labelled.)
        let mut spaces = false;
        for t in &s.tokens {
            while at < sent.len() && sent[at].is_whitespace() {
                at += 1;
            }
            let mut spelled = 0;
            for c in t.form.chars() {
                if c.is_whitespace() {
                    spaces = true;
                    while at < sent.len() && sent[at].is_whitespace() {
                        at += 1;
                    }
                    continue;
                }
                if at < sent.len() && sent[at] == c {
                    at += 1;
                    spelled += 1;
                } else {
                    ok = false;
                    break;
                }
            }
            if !ok {
                break;
            }
            // A token that spelled no character of the text (a FORM of whitespace
            // only) cannot be labelled: the sentence counts as mismatched.
            if spelled == 0 {
                ok = false;
                break;
            }
            let end = at - 1;
            let mut label = LABEL_TOKEN_END;
            if t.multiword {
                label |= LABEL_MULTIWORD;
            }
            marks.push((end, label));
        }
        // The text must end where its last token does (whitespace aside).
        ok &= sent[at.min(sent.len())..].iter().all(|c| c.is_whitespace());
        if ok && !marks.is_empty() {
            spaces_in_tokens |= spaces;
            if let Some(last) = marks.last_mut() {
                last.1 |= LABEL_SENTENCE_END;
            }
            for (at, label) in marks {
                labels[pos + at] = label;
            }
        } else {
            mismatched.push(i);
        }
        pos += sent.len();
    }
    (chars, labels, mismatched, spaces_in_tokens)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "# newdoc id = d1\n# newpar\n# text = Don't go.\n1-2\tDon't\t_\t_\t_\t_\t_\t_\t_\t_\n1\tDo\tdo\tAUX\tVBP\t_\t3\taux\t_\t_\n2\tn't\tnot\tPART\tRB\t_\t3\tadvmod\t_\t_\n3\tgo\tgo\tVERB\tVB\t_\t0\troot\t_\tSpaceAfter=No\n4\t.\t.\tPUNCT\t.\t_\t3\tpunct\t_\t_\n\n# text = Hi!\n1\tHi\thi\tINTJ\tUH\t_\t0\troot\t_\tSpaceAfter=No\n2\t!\t!\tPUNCT\t.\t_\t1\tpunct\t_\t_\n\n# newpar\n1\tOk\tok\tINTJ\tUH\t_\t0\troot\t_\t_\n";

    #[test]
    fn reads_tokens_ranges_and_paragraphs() {
        let s = parse(DOC, Path::new("x")).unwrap();
        assert_eq!(s.len(), 3);
        assert!(s[0].newdoc && s[0].newpar && !s[1].newpar && s[2].newpar);
        assert_eq!(s[0].tokens.len(), 3);
        assert!(s[0].tokens[0].multiword);
        assert_eq!(s[0].tokens[0].words.len(), 2);
        assert!(!s[0].tokens[1].space_after);
        assert_eq!(s[2].text(), "Ok", "text rebuilt from forms");
    }

    #[test]
    fn raw_text_joins_sentences_and_paragraphs() {
        let s = parse(DOC, Path::new("x")).unwrap();
        assert_eq!(raw_text(&s), "Don't go. Hi!\n\nOk\n");
        assert_eq!(raw_lines(&s), "Don't go.\nHi!\n\nOk\n");
    }

    #[test]
    fn labels_mark_token_sentence_and_multiword_ends() {
        let s = parse(DOC, Path::new("x")).unwrap();
        let (chars, labels, mismatched, spaces) = labels(&s);
        assert_eq!((mismatched.len(), spaces), (0, false));
        let marked: Vec<(char, u8)> = chars
            .iter()
            .zip(&labels)
            .filter(|(_, &l)| l != LABEL_NONE)
            .map(|(&c, &l)| (c, l))
            .collect();
        let (t, m, e) = (LABEL_TOKEN_END, LABEL_MULTIWORD, LABEL_SENTENCE_END);
        assert_eq!(
            marked,
            [
                ('t', t | m),
                ('o', t),
                ('.', t | e),
                ('i', t),
                ('!', t | e),
                ('k', t | e)
            ]
        );
    }

    #[test]
    fn a_sentence_whose_text_does_not_match_is_left_unlabelled() {
        let bad = "# text = Hello\n1\tHi\thi\tINTJ\t_\t_\t0\troot\t_\t_\n";
        let s = parse(bad, Path::new("x")).unwrap();
        let (_, labels, mismatched, _) = labels(&s);
        assert_eq!(mismatched, [0]);
        assert!(labels.iter().all(|&l| l == LABEL_NONE));
    }

    #[test]
    fn only_a_labelled_sentence_says_tokens_hold_spaces() {
        let spaced =
            "# text = a b c\n1\ta b\t_\tX\t_\t_\t0\troot\t_\t_\n2\tc\t_\tX\t_\t_\t1\tdep\t_\t_\n";
        assert!(labels(&parse(spaced, Path::new("x")).unwrap()).3);
        // The same token in a sentence whose text does not spell it.
        let mismatched = spaced.replace("text = a b c", "text = a b d");
        let (_, _, left_out, spaces) = labels(&parse(&mismatched, Path::new("x")).unwrap());
        assert_eq!((left_out, spaces), (vec![0], false));
    }

    #[test]
    fn text_after_the_last_token_leaves_the_sentence_unlabelled() {
        let good = "# text = Hi\n1\tHi\thi\tINTJ\t_\t_\t0\troot\t_\t_\n\n";
        let extra = "# text = Hi there\n1\tHi\thi\tINTJ\t_\t_\t0\troot\t_\t_\n";
        let s = parse(&format!("{good}{extra}"), Path::new("x")).unwrap();
        let (chars, labels, mismatched, _) = labels(&s);
        assert_eq!(mismatched, [1]);
        // The first sentence is labelled, the second not at all.
        assert_eq!(labels[1], LABEL_TOKEN_END | LABEL_SENTENCE_END);
        assert_eq!(chars.len(), labels.len());
        assert!(labels[2..].iter().all(|&l| l == LABEL_NONE));
        // Whitespace after the last token is not text.
        let spaced = "# text = Hi \u{a0}\n1\tHi\thi\tINTJ\t_\t_\t0\troot\t_\t_\n";
        assert!(super::labels(&parse(spaced, Path::new("x")).unwrap())
            .2
            .is_empty());
    }

    #[test]
    fn a_token_of_whitespace_only_is_left_unlabelled_not_a_panic() {
        for doc in [
            "# text = a b\n1\t \t_\tX\t_\t_\t0\troot\t_\t_\n2\tb\t_\tX\t_\t_\t1\tdep\t_\t_\n",
            "# text = a b\n1\ta\t_\tX\t_\t_\t0\troot\t_\t_\n2\t \t_\tX\t_\t_\t1\tdep\t_\t_\n",
        ] {
            let s = parse(doc, Path::new("x")).unwrap();
            let (_, labels, mismatched, _) = labels(&s);
            assert_eq!(mismatched.len(), 1, "{doc:?}");
            assert!(labels.iter().all(|&l| l == LABEL_NONE));
        }
    }
}
