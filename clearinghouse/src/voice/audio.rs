//! Telephone audio: G.711 mu-law and A-law, reading the WAV that espeak-ng writes, and
//! bringing its 22 050 Hz speech down to the 8 kHz of a phone line without aliasing.
//!
//! Pure functions over samples; nothing here does I/O.

/// The sample rate of a telephone line, in samples per second.
pub const RATE: u32 = 8000;

/// Samples in one 20 ms RTP packet at [`RATE`].
pub const FRAME: usize = 160;

/// Added to the magnitude before mu-law segmenting, so that the segments' boundaries fall on
/// powers of two (ITU-T G.711).
const MU_BIAS: i32 = 0x84;

/// The largest magnitude mu-law encodes; with [`MU_BIAS`] added it is `0x7FFF`, the top of
/// the last segment.
const MU_CLIP: i32 = 32635;

/// A-law inverts the even bits so that a quiet line does not send long runs of zeros.
const A_XOR: u8 = 0x55;

/// The segment (0..=7) of a magnitude up to `0x7FFF`: the segment whose upper bound is
/// `0xFF << segment` is the first that holds it.
fn segment(magnitude: i32) -> u32 {
    // `magnitude | 0xFF` has its top bit at 7 + segment.
    let top = 31 - (magnitude | 0xFF).leading_zeros();
    top.saturating_sub(7).min(7)
}

/// `sample` as a G.711 mu-law byte (the classic Sun g711.c `linear2ulaw`).
pub fn mu_law(sample: i16) -> u8 {
    let sample = i32::from(sample);
    // The byte goes out with all bits inverted; the sign bit is set for positive samples.
    let mask: u8 = if sample < 0 { 0x7F } else { 0xFF };
    let magnitude = sample.abs().min(MU_CLIP) + MU_BIAS;
    let seg = segment(magnitude);
    let mantissa = ((magnitude >> (seg + 3)) & 0xF) as u8;
    ((seg as u8) << 4 | mantissa) ^ mask
}

/// The sample a G.711 mu-law byte stands for (the classic Sun g711.c `ulaw2linear`).
pub fn from_mu_law(byte: u8) -> i16 {
    let byte = !byte;
    let seg = u32::from((byte & 0x70) >> 4);
    let magnitude = ((i32::from(byte & 0xF) << 3) + MU_BIAS) << seg;
    let sample = if byte & 0x80 != 0 {
        MU_BIAS - magnitude
    } else {
        magnitude - MU_BIAS
    };
    // At most 32124 in magnitude, so this never saturates.
    sample.clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16
}

/// `sample` as a G.711 A-law byte (the classic Sun g711.c `linear2alaw`).
pub fn a_law(sample: i16) -> u8 {
    let sample = i32::from(sample);
    // A-law has no zero code: a negative sample's magnitude is its ones' complement, so that
    // -1 lands in the lowest negative step (the old g711.c's `-pcm_val - 8` sent -1..-7 to the
    // top of the first segment instead).
    let (mask, magnitude) = if sample >= 0 {
        (0xD5_u8, sample)
    } else {
        (A_XOR, !sample)
    };
    let seg = segment(magnitude);
    // The first two segments share one step size, so the first has no implied leading bit.
    let shift = if seg < 2 { 4 } else { seg + 3 };
    let mantissa = ((magnitude >> shift) & 0xF) as u8;
    ((seg as u8) << 4 | mantissa) ^ mask
}

/// The sample a G.711 A-law byte stands for (the classic Sun g711.c `alaw2linear`).
pub fn from_a_law(byte: u8) -> i16 {
    let byte = byte ^ A_XOR;
    let seg = u32::from((byte & 0x70) >> 4);
    // Decode to the middle of the step: half a step (8) above the mantissa's bottom, plus the
    // implied leading bit (0x100) above segment 0.
    let mut magnitude = i32::from(byte & 0xF) << 4;
    magnitude += match seg {
        0 => 8,
        _ => 0x108,
    };
    if seg > 1 {
        magnitude <<= seg - 1;
    }
    let sample = if byte & 0x80 != 0 {
        magnitude
    } else {
        -magnitude
    };
    // At most 32256 in magnitude, so this never saturates.
    sample.clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16
}

/// The two G.711 codecs every SIP phone offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    /// G.711 mu-law, RTP payload type 0 (North America, Japan).
    Pcmu,
    /// G.711 A-law, RTP payload type 8 (elsewhere).
    Pcma,
}

impl Codec {
    /// `samples` (at [`RATE`]) encoded one byte per sample.
    pub fn encode(self, samples: &[i16]) -> Vec<u8> {
        let encode_one = match self {
            Codec::Pcmu => mu_law,
            Codec::Pcma => a_law,
        };
        samples.iter().map(|&s| encode_one(s)).collect()
    }

    /// The static RTP payload type (RFC 3551) that names this codec in SDP and RTP headers.
    pub fn payload_type(self) -> u8 {
        match self {
            Codec::Pcmu => 0,
            Codec::Pcma => 8,
        }
    }

    /// The encoding name used in SDP `a=rtpmap` lines.
    pub fn name(self) -> &'static str {
        match self {
            Codec::Pcmu => "PCMU",
            Codec::Pcma => "PCMA",
        }
    }
}

/// Why bytes could not be read as speech.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AudioError {
    /// There are no bytes at all.
    #[error("there is no audio: the WAV file is empty")]
    Empty,
    /// The bytes do not start with a RIFF/WAVE header.
    #[error("not a WAV file: it does not start with a RIFF/WAVE header")]
    NotWave,
    /// The input ends inside a header.
    #[error("the WAV file is cut short inside its {what}")]
    Truncated {
        /// The part that was being read.
        what: &'static str,
    },
    /// There is no `fmt ` chunk before the `data` chunk.
    #[error("the WAV file has no `fmt ` chunk before its samples, so their format is unknown")]
    MissingFormat,
    /// There is no `data` chunk.
    #[error("the WAV file has no `data` chunk: it holds no samples")]
    MissingData,
    /// The samples are compressed or floating point.
    #[error("the WAV file is in format {format}, not PCM (1); only plain PCM is read")]
    NotPcm {
        /// The format tag found.
        format: u16,
    },
    /// More than one channel.
    #[error("the WAV file has {channels} channels; only mono is read")]
    NotMono {
        /// The channel count found.
        channels: u16,
    },
    /// Samples are not 16 bits.
    #[error("the WAV file has {bits}-bit samples; only 16-bit samples are read")]
    Not16Bit {
        /// The bits per sample found.
        bits: u16,
    },
    /// A sample rate of zero.
    #[error("the WAV file gives a sample rate of 0 Hz")]
    ZeroRate,
}

/// The 16-bit little-endian number at `at`, if the input reaches that far.
fn u16_at(bytes: &[u8], at: usize) -> Option<u16> {
    let b = bytes.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes([
        b.first().copied()?,
        b.get(1).copied()?,
    ]))
}

/// The 32-bit little-endian number at `at`, if the input reaches that far.
fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from(u16_at(bytes, at)?) | u32::from(u16_at(bytes, at.checked_add(2)?)?) << 16)
}

/// The sample rate and samples of a mono 16-bit PCM WAV file.
///
/// Written for what espeak-ng writes on `--stdout`: it cannot seek back on a pipe, so its
/// RIFF and `data` sizes are placeholders. The RIFF size is ignored, and the `data` chunk
/// runs to the end of the input unless its size says less (and is not 0).
pub fn wav_samples(bytes: &[u8]) -> Result<(u32, Vec<i16>), AudioError> {
    if bytes.is_empty() {
        return Err(AudioError::Empty);
    }
    if bytes.len() < 12 {
        let riff = b"RIFF".starts_with(bytes) || bytes.starts_with(b"RIFF");
        return Err(if riff {
            AudioError::Truncated {
                what: "RIFF header",
            }
        } else {
            AudioError::NotWave
        });
    }
    if bytes.get(0..4) != Some(b"RIFF") || bytes.get(8..12) != Some(b"WAVE") {
        return Err(AudioError::NotWave);
    }
    let mut rate = None;
    let mut at = 12_usize;
    loop {
        let Some(id) = bytes
            .get(at..at.saturating_add(8))
            .and_then(|h| h.get(0..4))
        else {
            // A clean end between chunks, or a chunk header cut short.
            return Err(if at < bytes.len() {
                AudioError::Truncated {
                    what: "chunk header",
                }
            } else if rate.is_none() {
                AudioError::MissingFormat
            } else {
                AudioError::MissingData
            });
        };
        let size = u32_at(bytes, at + 4).ok_or(AudioError::Truncated {
            what: "chunk header",
        })? as usize;
        let body = at + 8;
        match id {
            b"fmt " => rate = Some(format_rate(bytes.get(body..).unwrap_or_default(), size)?),
            b"data" => {
                let rate = rate.ok_or(AudioError::MissingFormat)?;
                let rest = bytes.get(body..).unwrap_or_default();
                // 0 and sizes past the end are what a writer on a pipe leaves.
                let data = match rest.get(..size) {
                    Some(data) if size > 0 => data,
                    _ => rest,
                };
                let samples = data
                    .chunks_exact(2)
                    .map(|pair| i16::from_le_bytes([pair[0], pair[1]]))
                    .collect();
                return Ok((rate, samples));
            }
            _ => {}
        }
        // Chunks are padded to an even length.
        at = match body
            .checked_add(size)
            .and_then(|end| end.checked_add(size & 1))
        {
            Some(next) => next,
            None => return Err(AudioError::MissingData),
        };
    }
}

/// The sample rate in a `fmt ` chunk's `body` of stated `size`, if it is mono 16-bit PCM.
fn format_rate(body: &[u8], size: usize) -> Result<u32, AudioError> {
    const TRUNCATED: AudioError = AudioError::Truncated {
        what: "`fmt ` chunk",
    };
    if size < 16 {
        return Err(TRUNCATED);
    }
    let format = u16_at(body, 0).ok_or(TRUNCATED)?;
    let channels = u16_at(body, 2).ok_or(TRUNCATED)?;
    let rate = u32_at(body, 4).ok_or(TRUNCATED)?;
    let bits = u16_at(body, 14).ok_or(TRUNCATED)?;
    if format != 1 {
        return Err(AudioError::NotPcm { format });
    }
    if channels != 1 {
        return Err(AudioError::NotMono { channels });
    }
    if bits != 16 {
        return Err(AudioError::Not16Bit { bits });
    }
    if rate == 0 {
        return Err(AudioError::ZeroRate);
    }
    Ok(rate)
}

/// Zero crossings of the low-pass filter on each side of an output sample, counted at the
/// lower of the two rates: enough for a steep edge just under the lower Nyquist frequency.
const ZERO_CROSSINGS: usize = 16;

/// The pass band ends this fraction of the way to the lower Nyquist frequency, leaving the
/// rest for the filter's transition so that little above Nyquist folds back.
const CUTOFF: f64 = 0.9;

/// The most taps on each side of a kernel: the [`ZERO_CROSSINGS`] span a 64:1 reduction
/// (512 kHz to 8 kHz); beyond it the filter's edge widens rather than its table growing
/// without bound.
const MAX_HALF_WIDTH: usize = 1024;

/// Beyond this many distinct fractional positions, positions are rounded to the nearest of
/// this many (an error under 1/8192 of a sample) to keep the kernel table small.
const MAX_PHASES: u64 = 4096;

/// Low-pass filter kernels, one per fractional position of an output sample between input
/// samples, each `2 * half` taps long, normalised to unit gain at DC.
struct Kernels {
    phases: u64,
    half: usize,
    taps: Vec<f32>,
}

impl Kernels {
    fn new(from: u32, to: u32, phases: u64) -> Kernels {
        let lower = f64::from(from.min(to));
        // Cycles per input sample at the cutoff.
        let fc = CUTOFF * lower / 2.0 / f64::from(from);
        let half =
            ((ZERO_CROSSINGS as f64 * f64::from(from) / lower).ceil() as usize).min(MAX_HALF_WIDTH);
        let width = half as f64;
        let mut taps = Vec::with_capacity(phases as usize * 2 * half);
        for phase in 0..phases {
            let frac = phase as f64 / phases as f64;
            let start = taps.len();
            for k in 0..2 * half {
                // Distance of input sample `i - (half - 1) + k` from the output position
                // `i + frac`.
                let d = k as f64 - (half as f64 - 1.0) - frac;
                let x = 2.0 * fc * d;
                let sinc = if x == 0.0 {
                    1.0
                } else {
                    (std::f64::consts::PI * x).sin() / (std::f64::consts::PI * x)
                };
                // Blackman: side lobes near -58 dB, so what the cutoff leaves is small.
                let w = std::f64::consts::PI * d / width;
                let window = 0.42 + 0.5 * w.cos() + 0.08 * (2.0 * w).cos();
                taps.push((sinc * window.max(0.0)) as f32);
            }
            let kernel = taps.get_mut(start..).unwrap_or_default();
            let sum: f32 = kernel.iter().sum();
            if sum != 0.0 {
                kernel.iter_mut().for_each(|t| *t /= sum);
            }
        }
        Kernels { phases, half, taps }
    }

    fn kernel(&self, phase: u64) -> &[f32] {
        let len = 2 * self.half;
        let start = phase as usize * len;
        self.taps.get(start..start + len).unwrap_or_default()
    }
}

/// Multiply-accumulate in eight lanes, so that the compiler can vectorise it.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0.0_f32; 8];
    let a8 = a.chunks_exact(8);
    let b8 = b.chunks_exact(8);
    let tail: f32 = a8
        .remainder()
        .iter()
        .zip(b8.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in a8.zip(b8) {
        for ((lane, x), y) in lanes.iter_mut().zip(x).zip(y) {
            *lane += x * y;
        }
    }
    lanes.iter().sum::<f32>() + tail
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// `samples` taken from `from` to `to` samples per second, through a windowed-sinc low-pass
/// filter just under the lower rate's Nyquist frequency, so that nothing above it aliases.
///
/// The output has `round(len * to / from)` samples, clamped to the `i16` range. Equal rates
/// return the input unchanged; a rate of 0 gives no samples.
pub fn resample(samples: &[i16], from: u32, to: u32) -> Vec<i16> {
    if from == to {
        return samples.to_vec();
    }
    if from == 0 || to == 0 || samples.is_empty() {
        return Vec::new();
    }
    let (from64, to64) = (u64::from(from), u64::from(to));
    let out_len =
        (samples.len() as u128 * u128::from(to) + u128::from(from) / 2) / u128::from(from);
    let Ok(out_len) = usize::try_from(out_len) else {
        return Vec::new();
    };
    // Output sample j sits at input position j * from / to, whose fractional part takes only
    // to / gcd distinct values: one kernel each, computed once.
    let exact_phases = to64 / gcd(from64, to64);
    let kernels = Kernels::new(from, to, exact_phases.min(MAX_PHASES));
    let half = kernels.half;
    // Zeros beyond both ends, so that every kernel sits over real memory.
    let mut padded = vec![0.0_f32; samples.len() + 2 * half + 2];
    for (p, &s) in padded.iter_mut().skip(half).zip(samples) {
        *p = f32::from(s);
    }
    let mut out = Vec::with_capacity(out_len);
    for j in 0..out_len as u64 {
        let position = j * from64;
        let mut index = position / to64;
        let mut phase = (position % to64 * kernels.phases + to64 / 2) / to64;
        if phase == kernels.phases {
            index += 1;
            phase = 0;
        }
        // The kernel's first tap is input sample index - (half - 1), at padded index + 1.
        let start = index as usize + 1;
        let value = padded
            .get(start..start + 2 * half)
            .map_or(0.0, |window| dot(kernels.kernel(phase), window));
        out.push(
            value
                .round()
                .clamp(f32::from(i16::MIN), f32::from(i16::MAX)) as i16,
        );
    }
    out
}

/// The root mean square of `samples` (0 for none), in sample units.
pub fn rms(samples: &[i16]) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    let sum: f64 = samples.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
    (sum / samples.len() as f64).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_samples() -> impl Iterator<Item = i16> {
        i16::MIN..=i16::MAX
    }

    /// The width of the mu-law step that holds `decoded`: 8 in the first segment, doubling
    /// with each segment after (segments are counted on the biased magnitude).
    fn mu_step(decoded: i16) -> i32 {
        8 << segment(i32::from(decoded).abs() + MU_BIAS)
    }

    /// The width of the A-law step that holds `decoded`: 16 in the first two segments,
    /// doubling with each segment after.
    fn a_step(decoded: i16) -> i32 {
        (8 << segment(i32::from(decoded).abs())).max(16)
    }

    fn sine(freq: f64, rate: u32, seconds: f64, amplitude: f64) -> Vec<i16> {
        let n = (f64::from(rate) * seconds) as usize;
        (0..n)
            .map(|i| {
                let t = i as f64 / f64::from(rate);
                (amplitude * (2.0 * std::f64::consts::PI * freq * t).sin()).round() as i16
            })
            .collect()
    }

    /// The amplitude of the best-fitting sine of `freq`, and the rms of what it leaves.
    fn fit_sine(samples: &[i16], freq: f64, rate: u32) -> (f64, f64) {
        let w = 2.0 * std::f64::consts::PI * freq / f64::from(rate);
        let n = samples.len() as f64;
        let (mut s, mut c) = (0.0, 0.0);
        for (i, &x) in samples.iter().enumerate() {
            s += f64::from(x) * (w * i as f64).sin();
            c += f64::from(x) * (w * i as f64).cos();
        }
        let (a, b) = (2.0 * s / n, 2.0 * c / n);
        let residual: f64 = samples
            .iter()
            .enumerate()
            .map(|(i, &x)| {
                let fit = a * (w * i as f64).sin() + b * (w * i as f64).cos();
                (f64::from(x) - fit).powi(2)
            })
            .sum();
        ((a * a + b * b).sqrt(), (residual / n).sqrt())
    }

    /// A RIFF/WAVE file with a 16-byte `fmt ` chunk, as espeak-ng writes it.
    fn wav(
        riff_size: u32,
        format: u16,
        channels: u16,
        rate: u32,
        bits: u16,
        data_size: u32,
    ) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(b"RIFF");
        out.extend_from_slice(&riff_size.to_le_bytes());
        out.extend_from_slice(b"WAVEfmt ");
        out.extend_from_slice(&16_u32.to_le_bytes());
        out.extend_from_slice(&format.to_le_bytes());
        out.extend_from_slice(&channels.to_le_bytes());
        out.extend_from_slice(&rate.to_le_bytes());
        let block = channels * bits / 8;
        out.extend_from_slice(&(rate * u32::from(block)).to_le_bytes());
        out.extend_from_slice(&block.to_le_bytes());
        out.extend_from_slice(&bits.to_le_bytes());
        out.extend_from_slice(b"data");
        out.extend_from_slice(&data_size.to_le_bytes());
        out
    }

    fn with_samples(mut header: Vec<u8>, samples: &[i16]) -> Vec<u8> {
        for s in samples {
            header.extend_from_slice(&s.to_le_bytes());
        }
        header
    }

    #[test]
    fn mu_law_encodes_silence_as_0xff() {
        assert_eq!(mu_law(0), 0xFF);
    }

    #[test]
    fn a_law_encodes_silence_as_0xd5() {
        assert_eq!(a_law(0), 0xD5);
    }

    #[test]
    fn mu_law_matches_known_pairs() {
        for (sample, byte) in [
            (0, 0xFF),
            (-1, 0x7F),
            (100, 0xF2),
            (-100, 0x72),
            (1000, 0xCE),
            (-1000, 0x4E),
            (32767, 0x80),
            (-32768, 0x00),
        ] {
            assert_eq!(mu_law(sample), byte, "mu_law({sample})");
        }
    }

    #[test]
    fn mu_law_decodes_known_pairs() {
        for (byte, sample) in [
            (0xFF, 0),
            (0x7F, 0),
            (0xF2, 104),
            (0xCE, 988),
            (0x80, 32124),
            (0x00, -32124),
        ] {
            assert_eq!(from_mu_law(byte), sample, "from_mu_law({byte:#04x})");
        }
    }

    #[test]
    fn a_law_matches_known_pairs() {
        for (sample, byte) in [
            (0, 0xD5),
            (-1, 0x55),
            (100, 0xD3),
            (-100, 0x53),
            (1000, 0xFA),
            (-1000, 0x7A),
            (32767, 0xAA),
            (-32768, 0x2A),
        ] {
            assert_eq!(a_law(sample), byte, "a_law({sample})");
        }
    }

    #[test]
    fn a_law_decodes_known_pairs() {
        for (byte, sample) in [
            (0xD5, 8),
            (0x55, -8),
            (0xD3, 104),
            (0xFA, 1008),
            (0xAA, 32256),
            (0x2A, -32256),
        ] {
            assert_eq!(from_a_law(byte), sample, "from_a_law({byte:#04x})");
        }
    }

    #[test]
    fn mu_law_round_trip_stays_within_one_step_for_every_sample() {
        for sample in all_samples() {
            let back = from_mu_law(mu_law(sample));
            let error = (i32::from(sample) - i32::from(back)).abs();
            // Clipping above 32635 costs more than half a step, but less than a whole one.
            assert!(error <= mu_step(back), "{sample} came back as {back}");
        }
    }

    #[test]
    fn mu_law_round_trip_stays_within_half_a_step_below_the_clip() {
        for sample in -32635..=32635_i16 {
            let back = from_mu_law(mu_law(sample));
            let error = (i32::from(sample) - i32::from(back)).abs();
            assert!(error <= mu_step(back) / 2, "{sample} came back as {back}");
        }
    }

    #[test]
    fn a_law_round_trip_stays_within_half_a_step_for_every_sample() {
        for sample in all_samples() {
            let back = from_a_law(a_law(sample));
            let error = (i32::from(sample) - i32::from(back)).abs();
            assert!(error <= a_step(back) / 2, "{sample} came back as {back}");
        }
    }

    #[test]
    fn mu_law_is_monotonic() {
        let decoded: Vec<i16> = all_samples().map(|s| from_mu_law(mu_law(s))).collect();
        assert!(decoded.windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn a_law_is_monotonic() {
        let decoded: Vec<i16> = all_samples().map(|s| from_a_law(a_law(s))).collect();
        assert!(decoded.windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn every_mu_law_byte_survives_decoding_and_encoding() {
        // 0x7F is negative zero, which encodes back as positive zero.
        for byte in (0..=255_u8).filter(|&b| b != 0x7F) {
            assert_eq!(mu_law(from_mu_law(byte)), byte, "{byte:#04x}");
        }
    }

    #[test]
    fn every_a_law_byte_survives_decoding_and_encoding() {
        for byte in 0..=255_u8 {
            assert_eq!(a_law(from_a_law(byte)), byte, "{byte:#04x}");
        }
    }

    #[test]
    fn codecs_encode_with_their_own_law() {
        let samples = [0, 1000, -1000, 32767];
        assert_eq!(Codec::Pcmu.encode(&samples), samples.map(mu_law));
        assert_eq!(Codec::Pcma.encode(&samples), samples.map(a_law));
    }

    #[test]
    fn codecs_have_their_rtp_payload_types() {
        assert_eq!(Codec::Pcmu.payload_type(), 0);
        assert_eq!(Codec::Pcma.payload_type(), 8);
    }

    #[test]
    fn codecs_have_their_sdp_names() {
        assert_eq!(Codec::Pcmu.name(), "PCMU");
        assert_eq!(Codec::Pcma.name(), "PCMA");
    }

    #[test]
    fn a_frame_is_20_ms_at_the_telephone_rate() {
        assert_eq!(FRAME as u32 * 1000 / RATE, 20);
    }

    #[test]
    fn wav_with_exact_sizes_gives_rate_and_samples() {
        let bytes = with_samples(wav(36 + 6, 1, 1, 22050, 16, 6), &[1, -2, 32767]);
        assert_eq!(wav_samples(&bytes), Ok((22050, vec![1, -2, 32767])));
    }

    #[test]
    fn wav_with_espeak_placeholder_sizes_reads_to_the_end() {
        let bytes = with_samples(wav(0x7FFF_F024, 1, 1, 22050, 16, 0x7FFF_F000), &[5, 6, 7]);
        assert_eq!(wav_samples(&bytes), Ok((22050, vec![5, 6, 7])));
    }

    #[test]
    fn wav_with_zero_sizes_reads_to_the_end() {
        let bytes = with_samples(wav(0, 1, 1, 8000, 16, 0), &[5, 6, 7]);
        assert_eq!(wav_samples(&bytes), Ok((8000, vec![5, 6, 7])));
    }

    #[test]
    fn wav_data_stops_at_its_size_when_more_follows() {
        let mut bytes = with_samples(wav(0, 1, 1, 8000, 16, 4), &[5, 6]);
        bytes.extend_from_slice(b"LIST\x04\x00\x00\x00abcd");
        assert_eq!(wav_samples(&bytes), Ok((8000, vec![5, 6])));
    }

    #[test]
    fn wav_ignores_an_odd_trailing_byte() {
        let mut bytes = with_samples(wav(0, 1, 1, 8000, 16, 0), &[5, 6]);
        bytes.push(0x01);
        assert_eq!(wav_samples(&bytes), Ok((8000, vec![5, 6])));
    }

    #[test]
    fn wav_skips_chunks_it_does_not_know_with_their_padding() {
        let mut bytes = b"RIFF\0\0\0\0WAVEjunk\x03\0\0\0xyz\0".to_vec();
        bytes.extend_from_slice(wav(0, 1, 1, 16000, 16, 0).get(12..).unwrap());
        let bytes = with_samples(bytes, &[9]);
        assert_eq!(wav_samples(&bytes), Ok((16000, vec![9])));
    }

    #[test]
    fn wav_in_stereo_is_refused() {
        let bytes = with_samples(wav(0, 1, 2, 22050, 16, 0), &[1, 2]);
        assert_eq!(
            wav_samples(&bytes),
            Err(AudioError::NotMono { channels: 2 })
        );
    }

    #[test]
    fn wav_in_floating_point_is_refused() {
        let bytes = with_samples(wav(0, 3, 1, 22050, 32, 0), &[1, 2]);
        assert_eq!(wav_samples(&bytes), Err(AudioError::NotPcm { format: 3 }));
    }

    #[test]
    fn wav_with_8_bit_samples_is_refused() {
        let bytes = with_samples(wav(0, 1, 1, 22050, 8, 0), &[1, 2]);
        assert_eq!(wav_samples(&bytes), Err(AudioError::Not16Bit { bits: 8 }));
    }

    #[test]
    fn wav_with_a_zero_rate_is_refused() {
        let bytes = with_samples(wav(0, 1, 1, 0, 16, 0), &[1, 2]);
        assert_eq!(wav_samples(&bytes), Err(AudioError::ZeroRate));
    }

    #[test]
    fn wav_cut_inside_its_format_chunk_is_refused() {
        let bytes = wav(0, 1, 1, 22050, 16, 0);
        assert!(matches!(
            wav_samples(bytes.get(..30).unwrap()),
            Err(AudioError::Truncated { .. })
        ));
    }

    #[test]
    fn wav_cut_inside_its_riff_header_is_refused() {
        assert!(matches!(
            wav_samples(b"RIFF\0\0"),
            Err(AudioError::Truncated { .. })
        ));
    }

    #[test]
    fn wav_without_a_data_chunk_is_refused() {
        let bytes = wav(0, 1, 1, 22050, 16, 0);
        assert_eq!(
            wav_samples(bytes.get(..36).unwrap()),
            Err(AudioError::MissingData)
        );
    }

    #[test]
    fn wav_with_data_before_format_is_refused() {
        let bytes = b"RIFF\0\0\0\0WAVEdata\0\0\0\0\x01\x00";
        assert_eq!(wav_samples(bytes), Err(AudioError::MissingFormat));
    }

    #[test]
    fn no_bytes_are_refused_as_empty() {
        assert_eq!(wav_samples(b""), Err(AudioError::Empty));
    }

    #[test]
    fn resampling_from_a_very_high_rate_still_filters() {
        let input = sine(1000.0, 1_000_000, 0.1, 10000.0);
        let output = resample(&input, 1_000_000, RATE);
        assert_eq!(output.len(), 800);
        let middle = output.get(100..700).unwrap();
        let (amplitude, _) = fit_sine(middle, 1000.0, RATE);
        assert!((amplitude - 10000.0).abs() < 100.0, "amplitude {amplitude}");
    }

    #[test]
    fn bytes_that_are_not_riff_are_refused() {
        assert_eq!(
            wav_samples(b"ID3\x04 an mp3 file, say"),
            Err(AudioError::NotWave)
        );
    }

    #[test]
    fn resampling_keeps_a_1_khz_tone_at_1_khz_with_its_amplitude() {
        let input = sine(1000.0, 22050, 1.0, 10000.0);
        let output = resample(&input, 22050, RATE);
        // The filter's reach at either end sees zeros beyond the input; judge the middle.
        let middle = output.get(200..output.len() - 200).unwrap();
        let (amplitude, residual) = fit_sine(middle, 1000.0, RATE);
        assert!((amplitude - 10000.0).abs() < 100.0, "amplitude {amplitude}");
        assert!(residual < 50.0, "residual {residual}");
    }

    #[test]
    fn resampling_to_8_khz_attenuates_a_6_khz_tone_by_30_db() {
        let input = sine(6000.0, 22050, 1.0, 10000.0);
        let output = resample(&input, 22050, RATE);
        let middle = output.get(200..output.len() - 200).unwrap();
        let attenuation = 20.0 * (rms(&input) / rms(middle).max(1e-9)).log10();
        assert!(attenuation >= 30.0, "only {attenuation:.1} dB");
    }

    #[test]
    fn resampling_gives_round_len_times_to_over_from_samples() {
        for (len, from, to, expected) in [
            (22050, 22050, 8000, 8000),
            (100, 22050, 8000, 36),
            (3, 22050, 8000, 1),
            (1, 22050, 8000, 0),
            (441, 22050, 8000, 160),
            (160, 8000, 22050, 441),
            (7, 8000, 16000, 14),
        ] {
            let output = resample(&vec![0; len], from, to);
            assert_eq!(output.len(), expected, "{len} samples from {from} to {to}");
        }
    }

    #[test]
    fn resampling_up_keeps_a_1_khz_tone() {
        let input = sine(1000.0, RATE, 1.0, 10000.0);
        let output = resample(&input, RATE, 44100);
        let middle = output.get(1000..output.len() - 1000).unwrap();
        let (amplitude, residual) = fit_sine(middle, 1000.0, 44100);
        assert!((amplitude - 10000.0).abs() < 100.0, "amplitude {amplitude}");
        assert!(residual < 50.0, "residual {residual}");
    }

    #[test]
    fn resampling_at_the_same_rate_returns_the_input() {
        let input = [1, -2, 3, 32767, -32768];
        assert_eq!(resample(&input, 22050, 22050), input);
    }

    #[test]
    fn resampling_nothing_gives_nothing() {
        assert!(resample(&[], 22050, RATE).is_empty());
    }

    #[test]
    fn resampling_clamps_overshoot_instead_of_wrapping() {
        // A full-scale square wave rings past full scale at each edge.
        let input: Vec<i16> = (0..22050)
            .map(|i| {
                if (i / 110) % 2 == 0 {
                    i16::MAX
                } else {
                    i16::MIN
                }
            })
            .collect();
        let output = resample(&input, 22050, RATE);
        for (j, &s) in output.iter().enumerate().skip(20).take(output.len() - 40) {
            let source = j * 22050 / 8000;
            let phase = source % 220;
            // Well inside a half period, where a wrapped sample would have the wrong sign.
            if (15..95).contains(&phase) {
                assert!(s > 20000, "sample {j} is {s}");
            } else if (125..205).contains(&phase) {
                assert!(s < -20000, "sample {j} is {s}");
            }
        }
    }

    #[test]
    fn rms_of_silence_is_zero() {
        assert_eq!(rms(&[0; 100]), 0.0);
        assert_eq!(rms(&[]), 0.0);
    }

    #[test]
    fn rms_of_a_sine_is_its_amplitude_over_root_two() {
        let tone = sine(1000.0, RATE, 1.0, 10000.0);
        assert!((rms(&tone) - 10000.0 / 2f64.sqrt()).abs() < 1.0);
    }
}
