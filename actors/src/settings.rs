//! The settings the actors run with, taken from the Core's validated config.

use std::time::Duration;

/// How every node session behaves (PROTOCOL.md's session rules).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSettings {
    pub max_frame_bytes: usize,
    pub registration_timeout: Duration,
    pub heartbeat_timeout: Duration,
    pub max_bad_frames_per_minute: u32,
    /// How long a closing session waits for its last frames to be written.
    pub close_grace: Duration,
    /// The longest a node's pots that keep sending events go unreported to the registry (their
    /// first events are reported within a second): well inside `pots.silence_alert_secs`.
    pub activity_refresh: Duration,
}

impl Default for SessionSettings {
    fn default() -> Self {
        SessionSettings {
            max_frame_bytes: honeybee_protocol::DEFAULT_MAX_FRAME_BYTES,
            registration_timeout: Duration::from_secs(10),
            heartbeat_timeout: Duration::from_secs(90),
            max_bad_frames_per_minute: 30,
            close_grace: Duration::from_secs(5),
            activity_refresh: Duration::from_secs(10),
        }
    }
}

/// How the registry supervises its children.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupervisionSettings {
    /// Crashed pot actors restarted at most this often within `window`.
    pub max_restarts: u32,
    pub window: Duration,
    pub backoff_initial: Duration,
    pub backoff_max: Duration,
}

impl Default for SupervisionSettings {
    fn default() -> Self {
        SupervisionSettings {
            max_restarts: 10,
            window: Duration::from_secs(60),
            backoff_initial: Duration::from_millis(10),
            backoff_max: Duration::from_secs(5),
        }
    }
}

/// How commands to nodes are tracked (`commands.*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandSettings {
    /// `commands.timeout_secs`: a sent command without an answer by then is `timed_out`.
    pub timeout: Duration,
    /// `commands.install_timeout_secs`: the same for `InstallPot`.
    pub install_timeout: Duration,
    /// `commands.list_window_ms`: how long `GetInstalledPots` collects answers.
    pub list_window: Duration,
    /// Commands waiting (`pending`) per node at most; past it a submission is refused.
    pub max_waiting: usize,
    /// `pots.allowed_sources`: where an `InstallPot`'s `git_url` may point.
    pub allowed_sources: honeybee_protocol::AllowedSources,
}

impl Default for CommandSettings {
    fn default() -> Self {
        CommandSettings {
            timeout: Duration::from_secs(30),
            install_timeout: Duration::from_secs(600),
            list_window: Duration::from_millis(2000),
            max_waiting: 1000,
            allowed_sources: honeybee_protocol::AllowedSources::none(),
        }
    }
}

/// The node policy (`nodes.*`): `Restart` a node that reports `Failed`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodePolicySettings {
    pub policy: crate::policy::RestartPolicy,
    pub max_restarts: u32,
    pub window: Duration,
}

impl Default for NodePolicySettings {
    fn default() -> Self {
        NodePolicySettings {
            policy: crate::policy::RestartPolicy::Never,
            max_restarts: 3,
            window: Duration::from_secs(3600),
        }
    }
}

/// The settings every pot runs with (`pots.*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PotSettings {
    /// `pots.restart`, for pots whose desired state names none.
    pub policy: crate::policy::RestartPolicy,
    pub limits: crate::policy::RestartLimits,
    /// `pots.silence_alert_secs`; zero = off.
    pub silence: Duration,
}

impl Default for PotSettings {
    fn default() -> Self {
        PotSettings {
            policy: crate::policy::RestartPolicy::OnFailure,
            limits: crate::policy::RestartLimits {
                max_restarts: 5,
                window: Duration::from_secs(600),
                backoff_initial: Duration::from_secs(5),
                backoff_max: Duration::from_secs(300),
            },
            silence: Duration::from_secs(3600),
        }
    }
}
