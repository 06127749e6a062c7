//! What a seat's student needs to start: their computers and the commands that reach them,
//! the licensing web site with their tenant, and the telephone number with the phone
//! line's address. `lab up` prints it for every seat, `lab seats` again.

use serde::Serialize;

use licensing_client::Desk;
use licensing_client::state::ClearinghouseAddress;
use licensing_client::vocab::Term;

use crate::class::{Class, SeatRecord};

/// A license server of a seat, as the student reaches it.
#[derive(Debug, Clone, Serialize)]
pub struct ServerBrief {
    /// Its name.
    pub name: String,
    /// Its operating system.
    pub os: String,
    /// Its state directory.
    pub state_dir: String,
    /// Where its daemon answers (the address a migration's source is reached at).
    pub daemon: Option<String>,
    /// The command to see it.
    pub command: String,
}

/// A session host of a seat.
#[derive(Debug, Clone, Serialize)]
pub struct HostBrief {
    /// Its name.
    pub name: String,
    /// Its directory.
    pub host_dir: String,
    /// The command to see it.
    pub command: String,
}

/// What one seat's student needs.
#[derive(Debug, Clone, Serialize)]
pub struct SeatBrief {
    /// The seat's number.
    pub seat: u32,
    /// Its tenant.
    pub tenant: String,
    /// Its directory (files the student saves go there).
    pub dir: String,
    /// Its license servers.
    pub license_servers: Vec<ServerBrief>,
    /// Its session hosts.
    pub session_hosts: Vec<HostBrief>,
    /// The licensing web site, with the tenant.
    pub web_site: String,
    /// The telephone number for the seat's country/region.
    pub telephone: String,
    /// The phone line's address, where every number is answered.
    pub phone_line: Option<String>,
    /// The SIP URI the seat calls the representative at by voice, when the clearinghouse
    /// has a voice line.
    pub voice: Option<String>,
    /// The seat's token, when the class keeps its seats apart.
    pub seat_token: Option<String>,
}

/// What seat `seat` of `class` needs.
pub fn brief(class: &Class, seat: &SeatRecord) -> SeatBrief {
    let license_servers = class
        .scenario
        .servers
        .iter()
        .filter_map(|spec| {
            let server = seat.servers.get(&spec.name)?;
            let dir = server.dir.display().to_string();
            Some(ServerBrief {
                name: spec.name.clone(),
                os: spec.os.name().to_owned(),
                command: format!("license-server --state-dir {dir} status"),
                state_dir: dir,
                daemon: server.daemon.clone(),
            })
        })
        .collect();
    let session_hosts = class
        .scenario
        .hosts
        .iter()
        .filter_map(|spec| {
            let dir = seat.hosts.get(&spec.name)?.display().to_string();
            Some(HostBrief {
                name: spec.name.clone(),
                command: format!("license-server session-host --host-dir {dir} status"),
                host_dir: dir,
            })
        })
        .collect();
    let address = ClearinghouseAddress {
        url: class.file.clearinghouse.clone(),
        tenant: Some(seat.tenant.clone()),
        seat_token: seat.seat_token.clone(),
    };
    let web_site = match Desk::web(&address) {
        Desk::Web { url, .. } | Desk::Telephone { number: url, .. } => url,
    };
    let telephone = match Desk::telephone(class.scenario.country, &address, None) {
        Desk::Telephone { number, .. } | Desk::Web { url: number, .. } => number,
    };
    SeatBrief {
        seat: seat.n,
        tenant: seat.tenant.clone(),
        dir: seat.dir.display().to_string(),
        license_servers,
        session_hosts,
        web_site,
        telephone,
        phone_line: class.file.phone_line.clone(),
        voice: class
            .file
            .voice_line
            .as_ref()
            .map(|line| format!("sip:{}@{line}", seat.tenant)),
        seat_token: seat.seat_token.clone(),
    }
}

/// The brief as text.
pub fn text(brief: &SeatBrief) -> String {
    let mut out = format!("Seat {} (tenant {})\n", brief.seat, brief.tenant);
    for server in &brief.license_servers {
        let daemon = server
            .daemon
            .as_deref()
            .map(|d| format!(", on the network at {d}"))
            .unwrap_or_else(|| ", not on the network".to_owned());
        out.push_str(&format!(
            "  {} ({}{daemon})\n    {}\n",
            server.name, server.os, server.command
        ));
    }
    for host in &brief.session_hosts {
        out.push_str(&format!(
            "  {} (session host)\n    {}\n",
            host.name, host.command
        ));
    }
    out.push_str(&format!("  web site:  {}\n", brief.web_site));
    match &brief.phone_line {
        Some(line) => out.push_str(&format!(
            "  telephone: {} (answered on the phone line {line})\n",
            brief.telephone
        )),
        None => out.push_str("  telephone: the clearinghouse has no phone line\n"),
    }
    if let Some(voice) = &brief.voice {
        out.push_str(&format!(
            "  voice:     {voice} (a softphone call: the representative speaks, you answer on the keypad)\n"
        ));
    }
    if let Some(token) = &brief.seat_token {
        out.push_str(&format!(
            "  seat token: {token} (the license servers keep it; the web site asks for it once, the phone line as the seat PIN; a license server you install yourself takes it with --seat-token)\n"
        ));
    }
    out.push_str(&format!("  files:     {}\n", brief.dir));
    out
}
