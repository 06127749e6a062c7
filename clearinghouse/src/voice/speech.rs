//! The representative's voice: English text spoken by espeak-ng, run as a child process,
//! and brought to 8 kHz telephone samples, with a cache so that a prompt said on every
//! call is synthesized once.

use std::collections::HashMap;
use std::io;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;

use super::audio::{self, AudioError, RATE};

/// The espeak-ng voice: American English, as the representative of a US call centre.
pub const VOICE: &str = "en-us";

/// Words per minute; espeak-ng's default of 175 is too fast to write digits down by ear,
/// and a representative reading out a confirmation number slows down.
pub const WORDS_PER_MINUTE: u32 = 150;

/// The longest text, in characters, that is spoken at once: far above any prompt, and small
/// enough that its audio stays well under [`MAX_OUTPUT_BYTES`].
pub const MAX_TEXT_CHARS: usize = 2000;

/// The most WAV output read from espeak-ng (16 MiB, some six minutes at 22 050 Hz);
/// anything past it is a runaway synthesis, not a prompt.
pub const MAX_OUTPUT_BYTES: usize = 16 << 20;

/// How long one synthesis may take. espeak-ng speaks a sentence in milliseconds; a run this
/// long is stuck, and a caller is waiting in silence.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// The most samples kept in the cache for prompts that are not pinned (16 MB of `i16`,
/// some 17 minutes of speech at 8 kHz).
pub const CACHE_SAMPLES: usize = 8_000_000;

/// The word synthesized by [`Speaker::check`].
const CHECK_WORD: &str = "hello";

/// Samples quieter than this (about -42 dBFS) count as silence when trimming.
const SILENCE: i16 = 256;

/// The most near-silence kept at either end of a prompt: enough not to clip a soft first
/// consonant, short enough that a prompt starts promptly.
const EDGE_SILENCE: usize = RATE as usize / 10;

/// The most stderr kept, to take its first line for an error.
const MAX_STDERR_BYTES: u64 = 64 << 10;

/// Why text could not be spoken.
#[derive(Debug, thiserror::Error)]
pub enum SpeechError {
    /// The program could not be found.
    #[error(
        "{} was not found: espeak-ng is not installed (apt-get install espeak-ng), \
         or start with --no-sip",
        .program.display()
    )]
    NotInstalled {
        /// The program that was run.
        program: PathBuf,
    },
    /// The program could not be started, or its pipes failed.
    #[error("could not run {}: {source}", .program.display())]
    Io {
        /// The program that was run.
        program: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },
    /// The program exited unsuccessfully.
    #[error("{} failed ({status}): {stderr}", .program.display())]
    Failed {
        /// The program that was run.
        program: PathBuf,
        /// How it exited.
        status: ExitStatus,
        /// The first line it wrote to stderr, or a note that it wrote none.
        stderr: String,
    },
    /// The program did not finish in time, and was killed.
    #[error(
        "{} did not finish speaking within {:?} and was killed; is the machine overloaded?",
        .program.display(), .after
    )]
    TimedOut {
        /// The program that was run.
        program: PathBuf,
        /// How long it was given.
        after: Duration,
    },
    /// The program wrote more audio than any prompt needs.
    #[error(
        "{} wrote more than {limit} bytes of audio and was stopped; the text is too long \
         to speak at once",
        .program.display()
    )]
    OutputTooLarge {
        /// The program that was run.
        program: PathBuf,
        /// The most that is read.
        limit: usize,
    },
    /// The program's output is not audio that can be read.
    #[error(
        "{} did not write usable audio (is it espeak-ng?): {source}",
        .program.display()
    )]
    BadAudio {
        /// The program that was run.
        program: PathBuf,
        /// What was wrong with it.
        source: AudioError,
    },
    /// The text is longer than is spoken at once.
    #[error("the text has {chars} characters, more than the {max} spoken at once; split it")]
    TextTooLong {
        /// The characters in the text.
        chars: usize,
        /// The most allowed.
        max: usize,
    },
}

/// A cached prompt.
struct Entry {
    samples: Arc<[i16]>,
    /// Pinned prompts are preloaded and never evicted.
    pinned: bool,
    /// When it was last used, on the cache's clock.
    used: u64,
}

/// Prompts already synthesized, bounded by the samples held by those not pinned.
struct Cache {
    entries: HashMap<String, Entry>,
    /// Samples held by entries that are not pinned.
    unpinned: usize,
    limit: usize,
    /// Counts uses, to tell the least recently used entry.
    clock: u64,
}

impl Cache {
    fn new(limit: usize) -> Cache {
        Cache {
            entries: HashMap::new(),
            unpinned: 0,
            limit,
            clock: 0,
        }
    }

    fn get(&mut self, text: &str) -> Option<Arc<[i16]>> {
        self.clock += 1;
        let entry = self.entries.get_mut(text)?;
        entry.used = self.clock;
        Some(Arc::clone(&entry.samples))
    }

    /// Keeps `samples` for `text` and returns what is now cached for it: an entry put there
    /// meanwhile by another caller wins, so that every caller shares one copy.
    fn insert(&mut self, text: &str, samples: Arc<[i16]>, pin: bool) -> Arc<[i16]> {
        self.clock += 1;
        if let Some(entry) = self.entries.get_mut(text) {
            entry.used = self.clock;
            if pin && !entry.pinned {
                entry.pinned = true;
                self.unpinned -= entry.samples.len();
            }
            return Arc::clone(&entry.samples);
        }
        if !pin {
            if samples.len() > self.limit {
                return samples;
            }
            while self.unpinned + samples.len() > self.limit && self.evict_one() {}
            self.unpinned += samples.len();
        }
        let entry = Entry {
            samples: Arc::clone(&samples),
            pinned: pin,
            used: self.clock,
        };
        self.entries.insert(text.to_owned(), entry);
        samples
    }

    /// Drops the least recently used entry that is not pinned, if there is one.
    fn evict_one(&mut self) -> bool {
        let oldest = self
            .entries
            .iter()
            .filter(|(_, entry)| !entry.pinned)
            .min_by_key(|(_, entry)| entry.used)
            .map(|(text, _)| text.clone());
        let Some(entry) = oldest.and_then(|text| self.entries.remove(&text)) else {
            return false;
        };
        self.unpinned -= entry.samples.len();
        true
    }
}

/// Speaks English text as 8 kHz mono samples by running espeak-ng, and remembers what it
/// has said.
pub struct Speaker {
    program: PathBuf,
    timeout: Duration,
    max_output: usize,
    /// Locked only between awaits, never across one.
    cache: Mutex<Cache>,
}

impl std::fmt::Debug for Speaker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The cache holds megabytes of samples; what it holds is not worth printing.
        f.debug_struct("Speaker")
            .field("program", &self.program)
            .field("timeout", &self.timeout)
            .field("max_output", &self.max_output)
            .finish_non_exhaustive()
    }
}

impl Default for Speaker {
    /// A speaker running `espeak-ng` found on `PATH`.
    fn default() -> Speaker {
        Speaker::new(PathBuf::from("espeak-ng"))
    }
}

impl Speaker {
    /// A speaker running `program`, which takes espeak-ng's command line.
    pub fn new(program: PathBuf) -> Speaker {
        Speaker {
            program,
            timeout: TIMEOUT,
            max_output: MAX_OUTPUT_BYTES,
            cache: Mutex::new(Cache::new(CACHE_SAMPLES)),
        }
    }

    /// Proves that the program runs and speaks, by synthesizing a short word; for start-up,
    /// so that a missing espeak-ng is reported before the first call rather than during it.
    pub async fn check(&self) -> Result<(), SpeechError> {
        self.synthesize(CHECK_WORD).await.map(|_| ())
    }

    /// `text` spoken at [`RATE`], with at most 100 ms of near-silence at either end.
    ///
    /// Said once and then answered from the cache. Empty text gives no samples without
    /// running the program.
    pub async fn speak(&self, text: &str) -> Result<Arc<[i16]>, SpeechError> {
        self.speak_and_keep(text, false).await
    }

    /// Synthesizes `texts` and pins them in the cache: prompts that never change, said on
    /// every call, are never evicted.
    pub async fn preload(&self, texts: &[&str]) -> Result<(), SpeechError> {
        for text in texts {
            self.speak_and_keep(text, true).await?;
        }
        Ok(())
    }

    async fn speak_and_keep(&self, text: &str, pin: bool) -> Result<Arc<[i16]>, SpeechError> {
        let chars = text.chars().count();
        if chars > MAX_TEXT_CHARS {
            return Err(SpeechError::TextTooLong {
                chars,
                max: MAX_TEXT_CHARS,
            });
        }
        if text.trim().is_empty() {
            return Ok(Arc::from([]));
        }
        let cached = self.lock_cache().get(text);
        let samples = match cached {
            // A cached prompt may still need pinning.
            Some(samples) if !pin => return Ok(samples),
            Some(samples) => samples,
            None => Arc::from(self.synthesize(text).await?),
        };
        Ok(self.lock_cache().insert(text, samples, pin))
    }

    fn lock_cache(&self) -> std::sync::MutexGuard<'_, Cache> {
        // The cache is consistent between statements, so a panic elsewhere while it was held
        // leaves nothing half-done.
        self.cache.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs the program on `text` and returns its speech at [`RATE`], trimmed.
    async fn synthesize(&self, text: &str) -> Result<Vec<i16>, SpeechError> {
        let started = Instant::now();
        let wav = self.run(text).await?;
        let (rate, samples) = audio::wav_samples(&wav).map_err(|source| SpeechError::BadAudio {
            program: self.program.clone(),
            source,
        })?;
        let samples = audio::resample(&samples, rate, RATE);
        let samples = trim_silence(&samples).to_vec();
        tracing::debug!(
            chars = text.chars().count(),
            seconds = samples.len() as f64 / f64::from(RATE),
            took = ?started.elapsed(),
            "synthesized a prompt"
        );
        Ok(samples)
    }

    /// The WAV the program writes for `text`.
    async fn run(&self, text: &str) -> Result<Vec<u8>, SpeechError> {
        let io_error = |source: io::Error| SpeechError::Io {
            program: self.program.clone(),
            source,
        };
        let mut child = Command::new(&self.program)
            // The text goes on stdin, never on the command line, where text such as
            // "-w /tmp/x" would be read as an option.
            .args(["--stdin", "--stdout", "-v", VOICE, "-s"])
            .arg(WORDS_PER_MINUTE.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // A timed-out or abandoned synthesis must not linger.
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| match source.kind() {
                io::ErrorKind::NotFound => SpeechError::NotInstalled {
                    program: self.program.clone(),
                },
                _ => io_error(source),
            })?;
        let (Some(mut stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(io_error(io::Error::other(
                "the child's pipes were not opened",
            )));
        };
        // Write, read and drain stderr at once: a child blocked on a full pipe would never
        // finish otherwise.
        let write = async move {
            stdin.write_all(text.as_bytes()).await?;
            // Closing stdin is what tells espeak-ng the text is complete.
            stdin.shutdown().await
        };
        let limit = self.max_output;
        let read = async move {
            let mut wav = Vec::new();
            // One byte over the limit tells too much from exactly enough. Dropping stdout
            // at the end stops a runaway child with a broken pipe.
            let mut stdout = stdout.take(limit as u64 + 1);
            stdout.read_to_end(&mut wav).await.map(|_| wav)
        };
        let read_errors = async move {
            let mut bytes = Vec::new();
            // Unreadable stderr only costs the error message its detail.
            let _ = stderr.take(MAX_STDERR_BYTES).read_to_end(&mut bytes).await;
            bytes
        };
        let finished = tokio::time::timeout(self.timeout, async {
            let (written, wav, errors) = tokio::join!(write, read, read_errors);
            let status = child.wait().await;
            (written, wav, errors, status)
        })
        .await;
        let Ok((written, wav, errors, status)) = finished else {
            // Dropping the child would kill it too; killing now frees the CPU sooner.
            let _ = child.start_kill();
            return Err(SpeechError::TimedOut {
                program: self.program.clone(),
                after: self.timeout,
            });
        };
        let wav = wav.map_err(io_error)?;
        if wav.len() > limit {
            return Err(SpeechError::OutputTooLarge {
                program: self.program.clone(),
                limit,
            });
        }
        let status = status.map_err(io_error)?;
        if !status.success() {
            return Err(SpeechError::Failed {
                program: self.program.clone(),
                status,
                stderr: first_line(&errors),
            });
        }
        match written {
            // A child that exits successfully without reading all its input has chosen to:
            // its output decides. espeak-ng reads all of stdin before it speaks.
            Err(error) if error.kind() != io::ErrorKind::BrokenPipe => Err(io_error(error)),
            _ => Ok(wav),
        }
    }
}

/// The first non-blank line of `stderr`, for an error message.
fn first_line(stderr: &[u8]) -> String {
    String::from_utf8_lossy(stderr)
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty())
        .map_or_else(|| "it wrote nothing on stderr".to_owned(), str::to_owned)
}

/// `samples` without near-silence beyond [`EDGE_SILENCE`] at either end; nothing if it is all
/// near-silence.
fn trim_silence(samples: &[i16]) -> &[i16] {
    let loud = |s: &i16| s.unsigned_abs() >= SILENCE.unsigned_abs();
    let Some(first) = samples.iter().position(loud) else {
        return &[];
    };
    let last = samples.iter().rposition(loud).unwrap_or(first);
    let start = first.saturating_sub(EDGE_SILENCE);
    let end = last.saturating_add(1 + EDGE_SILENCE).min(samples.len());
    samples.get(start..end).unwrap_or(samples)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SENTENCE: &str = "Please read me the nine digits of your confirmation number.";

    fn missing() -> PathBuf {
        PathBuf::from("/nonexistent/espeak-ng")
    }

    fn seconds(samples: &[i16]) -> f64 {
        samples.len() as f64 / f64::from(RATE)
    }

    #[tokio::test]
    async fn a_sentence_lasts_a_plausible_time_for_its_words() {
        let samples = Speaker::default().speak(SENTENCE).await.unwrap();
        let words = SENTENCE.split_whitespace().count() as f64;
        let per_word = seconds(&samples) / words;
        assert!((0.15..0.8).contains(&per_word), "{per_word:.2} s a word");
    }

    #[tokio::test]
    async fn a_sentence_is_louder_than_silence() {
        let samples = Speaker::default().speak(SENTENCE).await.unwrap();
        assert!(
            audio::rms(&samples) > 1000.0,
            "rms {}",
            audio::rms(&samples)
        );
    }

    #[tokio::test]
    async fn a_sentence_starts_and_ends_within_100_ms_of_its_speech() {
        let samples = Speaker::default().speak(SENTENCE).await.unwrap();
        let loud = |s: &i16| s.unsigned_abs() >= SILENCE.unsigned_abs();
        let head = samples.iter().position(loud).unwrap();
        let tail = samples.len() - 1 - samples.iter().rposition(loud).unwrap();
        assert!(
            head <= EDGE_SILENCE && tail <= EDGE_SILENCE,
            "{head} and {tail} samples"
        );
    }

    #[tokio::test]
    async fn text_that_looks_like_an_option_is_spoken() {
        let samples = Speaker::default().speak("--help").await.unwrap();
        // "dash dash help" is over half a second; espeak-ng's usage is no audio at all.
        assert!(seconds(&samples) > 0.5, "{:.2} s", seconds(&samples));
        assert!(audio::rms(&samples) > 1000.0);
    }

    #[tokio::test]
    async fn text_naming_an_output_file_writes_no_file() {
        let path = std::env::temp_dir().join(format!("speech-test-{}.wav", std::process::id()));
        let text = format!("-w {}", path.display());
        let samples = Speaker::default().speak(&text).await.unwrap();
        assert!(audio::rms(&samples) > 1000.0);
        assert!(!path.exists(), "{} was written", path.display());
    }

    #[tokio::test]
    async fn a_repeated_text_is_answered_from_the_cache() {
        let mut speaker = Speaker::default();
        let first = speaker.speak("Thank you.").await.unwrap();
        // The program is gone, so the second answer cannot have come from running it.
        speaker.program = missing();
        let second = speaker.speak("Thank you.").await.unwrap();
        assert!(Arc::ptr_eq(&first, &second));
    }

    #[tokio::test]
    async fn preloaded_prompts_are_answered_without_the_program() {
        let mut speaker = Speaker::default();
        speaker.preload(&["Welcome.", "Goodbye."]).await.unwrap();
        speaker.program = missing();
        assert!(!speaker.speak("Goodbye.").await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_missing_program_is_reported_as_not_installed() {
        let error = Speaker::new(missing()).speak("Hello.").await.unwrap_err();
        assert!(
            matches!(error, SpeechError::NotInstalled { .. }),
            "{error:?}"
        );
    }

    #[tokio::test]
    async fn not_installed_says_how_to_install_espeak_ng() {
        let error = Speaker::new(missing()).check().await.unwrap_err();
        assert!(
            error.to_string().contains("apt-get install espeak-ng"),
            "{error}"
        );
    }

    #[tokio::test]
    async fn check_passes_when_espeak_ng_runs() {
        Speaker::default().check().await.unwrap();
    }

    #[tokio::test]
    async fn empty_text_gives_no_audio_without_running_the_program() {
        let speaker = Speaker::new(missing());
        assert!(speaker.speak("").await.unwrap().is_empty());
        assert!(speaker.speak(" \n").await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn text_over_the_limit_is_refused() {
        let text = "a".repeat(MAX_TEXT_CHARS + 1);
        let error = Speaker::default().speak(&text).await.unwrap_err();
        assert!(
            matches!(error, SpeechError::TextTooLong { chars, max: MAX_TEXT_CHARS } if chars == MAX_TEXT_CHARS + 1),
            "{error:?}"
        );
    }

    #[tokio::test]
    async fn a_failing_program_is_reported_with_its_status_and_first_stderr_line() {
        // GNU cat refuses espeak-ng's options on stderr and exits 1.
        let error = Speaker::new(PathBuf::from("cat"))
            .speak("Hello.")
            .await
            .unwrap_err();
        let SpeechError::Failed { status, stderr, .. } = error else {
            panic!("{error:?}");
        };
        assert!(!status.success());
        assert!(stderr.contains("--stdin"), "{stderr}");
        assert!(!stderr.contains('\n'));
    }

    #[tokio::test]
    async fn output_that_is_not_a_wav_is_reported_as_bad_audio() {
        // echo prints its arguments and succeeds.
        let error = Speaker::new(PathBuf::from("echo"))
            .speak("Hello.")
            .await
            .unwrap_err();
        assert!(matches!(error, SpeechError::BadAudio { .. }), "{error:?}");
    }

    #[tokio::test]
    async fn output_over_the_limit_is_refused() {
        let speaker = Speaker {
            max_output: 1000,
            ..Speaker::default()
        };
        let error = speaker.speak(SENTENCE).await.unwrap_err();
        assert!(
            matches!(error, SpeechError::OutputTooLarge { limit: 1000, .. }),
            "{error:?}"
        );
    }

    #[tokio::test]
    async fn a_synthesis_past_the_timeout_is_stopped() {
        let speaker = Speaker {
            timeout: Duration::from_millis(1),
            ..Speaker::default()
        };
        // Some 100 ms of work for espeak-ng: a hundred times the timeout.
        let text = "one two three four five six seven eight nine ten. ".repeat(38);
        let error = speaker.speak(&text).await.unwrap_err();
        assert!(matches!(error, SpeechError::TimedOut { .. }), "{error:?}");
    }

    #[test]
    fn speaking_can_be_spawned_on_a_multithreaded_runtime() {
        fn send<T: Send>(_: T) {}
        let speaker = Speaker::default();
        send(speaker.speak("Hello."));
        send(speaker.preload(&["Hello."]));
    }

    #[test]
    fn the_cache_evicts_the_least_recently_used_prompt() {
        let mut cache = Cache::new(10);
        cache.insert("a", Arc::from([0; 4]), false);
        cache.insert("b", Arc::from([0; 4]), false);
        cache.get("a");
        cache.insert("c", Arc::from([0; 4]), false);
        assert!(cache.get("a").is_some());
        assert!(cache.get("b").is_none());
        assert!(cache.get("c").is_some());
    }

    #[test]
    fn the_cache_never_evicts_pinned_prompts() {
        let mut cache = Cache::new(10);
        cache.insert("pinned", Arc::from([0; 8]), true);
        for text in ["a", "b", "c"] {
            cache.insert(text, Arc::from([0; 10]), false);
        }
        assert!(cache.get("pinned").is_some());
    }

    #[test]
    fn the_cache_holds_no_more_unpinned_samples_than_its_limit() {
        let mut cache = Cache::new(10);
        for text in ["a", "b", "c", "d", "e"] {
            cache.insert(text, Arc::from([0; 3]), false);
        }
        let held: usize = cache.entries.values().map(|e| e.samples.len()).sum();
        assert_eq!((held, cache.unpinned), (9, 9));
    }

    #[test]
    fn the_cache_does_not_keep_a_prompt_larger_than_itself() {
        let mut cache = Cache::new(10);
        cache.insert("a", Arc::from([0; 4]), false);
        cache.insert("huge", Arc::from([0; 11]), false);
        assert!(cache.get("huge").is_none());
        assert!(cache.get("a").is_some());
    }

    #[test]
    fn the_cache_answers_a_second_insert_with_the_first_copy() {
        let mut cache = Cache::new(10);
        let first = cache.insert("a", Arc::from([0; 4]), false);
        let second = cache.insert("a", Arc::from([0; 4]), false);
        assert!(Arc::ptr_eq(&first, &second));
    }

    #[test]
    fn pinning_a_cached_prompt_takes_it_out_of_the_limit() {
        let mut cache = Cache::new(10);
        cache.insert("a", Arc::from([0; 4]), false);
        cache.insert("a", Arc::from([0; 4]), true);
        assert_eq!(cache.unpinned, 0);
    }

    #[test]
    fn trimming_keeps_100_ms_of_silence_at_either_end() {
        let mut samples = vec![0; 3000];
        samples.extend([5000; 400]);
        samples.extend(vec![0; 3000]);
        let trimmed = trim_silence(&samples);
        assert_eq!(trimmed.len(), EDGE_SILENCE + 400 + EDGE_SILENCE);
    }

    #[test]
    fn trimming_keeps_short_silence_whole() {
        let mut samples = vec![0; 100];
        samples.extend([5000; 400]);
        samples.extend(vec![0; 100]);
        assert_eq!(trim_silence(&samples), samples);
    }

    #[test]
    fn trimming_all_silence_leaves_nothing() {
        assert!(trim_silence(&[0, 10, -10, 0]).is_empty());
    }

    #[test]
    fn trimming_counts_quiet_noise_as_silence() {
        let mut samples = vec![100; 3000];
        samples.extend([-5000; 400]);
        assert_eq!(trim_silence(&samples).len(), EDGE_SILENCE + 400);
    }
}
