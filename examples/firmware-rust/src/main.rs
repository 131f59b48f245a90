//! A `no_std` Rust firmware for the MPS2 AN386 board (Cortex-M4F, as QEMU emulates it):
//! tags the sentences of `tests/firmware/sentences.txt` with the micro English model kept
//! in flash, using `postag-core` directly, and prints through semihosting each token's tag
//! and the bits of its scores (the format of the C firmware in `tests/firmware/`), then
//! exits. No heap and no buffer arithmetic: the tagger's scratch is sized by the compiler
//! from the model's sizes and a token count, the outputs are `heapless` vectors.

#![no_std]
#![no_main]

use core::fmt::Write as _;

use cortex_m_rt::{entry, exception, ExceptionFrame};
use cortex_m_semihosting::{debug, hprintln};
use postag_core::format::LstmShape;
use postag_core::{CharDims, Dims, Error, Tagger};

/// The model blob, read in place from flash.
static BLOB: &[u8] = include_bytes!("../../../models/en_ewt_micro.postag");

/// The sentences, one per line, tokens separated by spaces.
static SENTENCES: &str = include_str!("../../../tests/firmware/sentences.txt");

/// The micro English model's sizes (`postag inspect --model models/en_ewt_micro.postag`).
const MICRO: Dims = Dims {
    word_dim: 32,
    chars: Some(CharDims {
        dim: 16,
        max_word_chars: 24,
        lstm: LstmShape {
            hidden: 24,
            layers: 1,
            bidirectional: true,
        },
    }),
    lstm: LstmShape {
        hidden: 64,
        layers: 1,
        bidirectional: true,
    },
    tags: TAGS as u32,
    crf: false,
};

/// The longest sentence one call tags.
const MAX_TOKENS: usize = 16;

/// The model's tags (UPOS): one score per tag and token.
const TAGS: usize = 17;

/// The tagger with scratch for `MAX_TOKENS` tokens of the micro model.
type MicroTagger = Tagger<'static, { MICRO.scratch_bytes(MAX_TOKENS).unwrap() }>;

#[entry]
fn main() -> ! {
    let status = match run() {
        Ok(()) => debug::EXIT_SUCCESS,
        Err(e) => {
            hprintln!("error {:?}", e);
            debug::EXIT_FAILURE
        }
    };
    exit(status)
}

fn run() -> Result<(), Error> {
    let mut tagger = MicroTagger::new(BLOB)?;
    hprintln!(
        "model bytes {} tags {} sized_for {} max_tokens {} scratch_buffer {}",
        BLOB.len(),
        tagger.model().num_tags(),
        MAX_TOKENS,
        tagger.max_tokens(),
        MICRO.scratch_bytes(MAX_TOKENS).unwrap_or(0)
    );
    let sentences = SENTENCES.lines().filter(|l| !l.trim().is_empty());
    for (i, sentence) in sentences.enumerate() {
        let mut tokens = heapless::Vec::<&str, MAX_TOKENS>::new();
        for token in sentence.split_whitespace() {
            tokens.push(token).map_err(|_| Error::TooManyTokens)?;
        }
        let (tags, scores) = tagger.tag_vec_with_scores::<MAX_TOKENS, TAGS>(&tokens)?;
        hprintln!("sentence index {} tokens {}", i, tokens.len());
        for (tag, row) in tags.iter().zip(&scores) {
            // A tag, then the bits of each score in hex: 5 + 17 x 9 characters.
            let mut line = heapless::String::<192>::new();
            let _ = write!(line, "{tag}");
            for score in row {
                let _ = write!(line, " {:08x}", score.to_bits());
            }
            hprintln!("{}", line);
        }
    }
    hprintln!("done");
    Ok(())
}

/// Any fault ends the run with a failure status instead of a hang.
#[exception]
unsafe fn HardFault(_frame: &ExceptionFrame) -> ! {
    exit(debug::EXIT_FAILURE)
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    exit(debug::EXIT_FAILURE)
}

/// Ends the run through semihosting (QEMU exits with the status); waits for interrupts
/// if no debugger is attached to end it.
fn exit(status: debug::ExitStatus) -> ! {
    debug::exit(status);
    loop {
        cortex_m::asm::wfi();
    }
}
