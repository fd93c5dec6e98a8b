//! From the validated config to the settings each part of the Core runs with: the sessions,
//! the identity book, command tracking, the pots' and nodes' restart policies, the registry.

use honeybee_actors::auth::identities::{AuthSettings, Enrollment as BookEnrollment};
use honeybee_actors::policy::RestartLimits;
use honeybee_actors::settings::{NodePolicySettings, PotSettings};
use honeybee_actors::{CommandSettings, RegistrySettings, SessionSettings};

use super::{Config, Enrollment};

impl Config {
    /// How every node session behaves (`protocol.*`; how often it reports its pots' activity
    /// follows `pots.silence_alert_secs`).
    pub fn session_settings(&self) -> SessionSettings {
        let protocol = &self.protocol;
        SessionSettings {
            max_frame_bytes: protocol.max_frame_bytes,
            registration_timeout: protocol.registration_timeout,
            heartbeat_timeout: protocol.heartbeat_timeout,
            max_bad_frames_per_minute: protocol.max_bad_frames_per_minute,
            activity_refresh: activity_refresh(self.pots.silence_alert),
            ..SessionSettings::default()
        }
    }

    /// The identity book's settings from `auth.*`. `auth.totp_exempt` entries that are numbers
    /// are node ids (and names, in case a node is called that); others are names.
    pub fn auth_settings(&self) -> AuthSettings {
        let auth = &self.auth;
        AuthSettings {
            totp: auth.totp,
            enrollment: match auth.enrollment {
                Enrollment::Open => BookEnrollment::Open,
                Enrollment::Approve => BookEnrollment::Approve,
                Enrollment::Closed => BookEnrollment::Closed,
            },
            exempt_ids: auth
                .totp_exempt
                .iter()
                .filter_map(|e| e.parse().ok())
                .collect(),
            exempt_names: auth.totp_exempt.iter().cloned().collect(),
            max_failures: auth.max_failures,
            lockout: auth.lockout,
            max_identities_per_source: auth.max_identities_per_source,
            max_new_per_minute: auth.max_new_per_minute,
            max_nodes: usize::try_from(auth.max_nodes).unwrap_or(usize::MAX),
        }
    }

    /// Command tracking (`commands.*`, `pots.allowed_sources`).
    pub fn command_settings(&self) -> CommandSettings {
        CommandSettings {
            timeout: self.commands.timeout,
            install_timeout: self.commands.install_timeout,
            list_window: self.commands.list_window,
            allowed_sources: self.pots.allowed_sources.clone(),
            ..CommandSettings::default()
        }
    }

    /// The registry's: `protocol.strict_version`, `auth.max_nodes`, commands, and the pot and
    /// node restart policies (`pots.*`, `nodes.*`).
    pub fn registry_settings(&self) -> RegistrySettings {
        let (pots, nodes) = (&self.pots, &self.nodes);
        RegistrySettings {
            strict_version: self.protocol.strict_version,
            max_nodes: usize::try_from(self.auth.max_nodes).unwrap_or(usize::MAX),
            commands: self.command_settings(),
            pots: PotSettings {
                policy: pots.restart,
                limits: RestartLimits {
                    max_restarts: pots.max_restarts,
                    window: pots.restart_window,
                    backoff_initial: pots.backoff_initial,
                    backoff_max: pots.backoff_max,
                },
                silence: pots.silence_alert,
            },
            nodes: NodePolicySettings {
                policy: nodes.restart,
                max_restarts: nodes.max_restarts,
                window: nodes.restart_window,
            },
            ..RegistrySettings::default()
        }
    }
}

/// How often a session tells the registry that pots it already reported still send events: ten
/// seconds, or a quarter of the silent-pot window when that is shorter (so a pot sending events
/// is never taken for silent).
fn activity_refresh(silence_alert: std::time::Duration) -> std::time::Duration {
    let default = SessionSettings::default().activity_refresh;
    if silence_alert.is_zero() {
        default
    } else {
        default.min(silence_alert / 4)
    }
}
