//! The terminal connected to the Clearinghouse's phone line: the representative's lines
//! are shown without the tags a program matches, and each line typed is said to them.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Holds a call on `line` from the terminal until the representative ends it.
pub fn call(line: &str) -> std::io::Result<()> {
    let stream = TcpStream::connect(line)?;
    let mut mouth = stream.try_clone()?;
    let ended = Arc::new(AtomicBool::new(false));
    let typing = {
        let ended = ended.clone();
        std::thread::spawn(move || {
            let stdin = std::io::stdin();
            let mut text = String::new();
            loop {
                text.clear();
                match stdin.lock().read_line(&mut text) {
                    // End of input (Ctrl-D): hang up.
                    Ok(0) | Err(_) => {
                        let _ = mouth.shutdown(std::net::Shutdown::Write);
                        break;
                    }
                    Ok(_) if ended.load(Ordering::SeqCst) => break,
                    Ok(_) => {
                        if mouth.write_all(text.as_bytes()).is_err() {
                            break;
                        }
                    }
                }
            }
        })
    };
    for heard in BufReader::new(stream).lines() {
        let Ok(heard) = heard else { break };
        let prompt = heard.starts_with("ASK ") || heard.starts_with("READ ");
        eprint!("{}", shown(&heard));
        if prompt {
            eprint!("\n> ");
        } else {
            eprintln!();
        }
        let _ = std::io::stderr().flush();
    }
    ended.store(true, Ordering::SeqCst);
    if !typing.is_finished() {
        // The typing thread waits for a line; Enter gives it one, and it sees the call
        // ended.
        eprintln!("The call has ended. Press Enter to go on.");
    }
    let _ = typing.join();
    Ok(())
}

/// A line of the representative as a person reads it.
fn shown(line: &str) -> String {
    let (tag, rest) = line.split_once(' ').unwrap_or((line, ""));
    let slotted = matches!(tag, "ASK" | "HEARD" | "SORRY" | "READ" | "DONE" | "BYE");
    let (slot, text) = if slotted {
        rest.split_once(' ').unwrap_or((rest, ""))
    } else {
        ("", rest)
    };
    let group = slot.rsplit_once('.').map(|(_, n)| n).unwrap_or_default();
    match tag {
        "HEARD" => format!("Representative: I heard {text}."),
        "SORRY" => format!("Representative: Sorry, {text}."),
        "READ" => format!("Representative: group {group}: {text}   (say ok, or repeat)"),
        _ => format!("Representative: {text}"),
    }
}

#[cfg(test)]
mod tests {
    use super::shown;

    #[test]
    fn tags_and_slots_are_left_out_for_a_person() {
        assert_eq!(
            shown("ASK license_server_id.2 License server ID, group 2 of 7, please."),
            "Representative: License server ID, group 2 of 7, please."
        );
        assert_eq!(
            shown("READ key_pack_id.4 12345"),
            "Representative: group 4: 12345   (say ok, or repeat)"
        );
        assert_eq!(shown("SAY Hello there."), "Representative: Hello there.");
    }
}
