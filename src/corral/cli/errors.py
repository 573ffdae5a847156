"""The cli package's errors: each is printed as one ``corral: error: …`` line.

The CLI also catches the other packages' errors at start-up (storage's
`DatastoreError`, pki's `PKIError`, auth's `AuthError`) and wraps them in
`StartupError`, so that `corral.cli.main` has one thing to print.

    CLIError
    ├── ConfigFileError   the --config file is unreadable, not YAML, or has a bad key or value
    ├── SettingsError     settings that are valid alone but not together (or a bad address)
    ├── StartupError      the server cannot start: data dir, ports, datastore, TLS, credentials
    ├── KeyRotationError  ``corral secrets-encrypt``: the key file cannot be changed (yet)
    └── DatastoreCommandError  backup/restore failed: datastore unusable, bad file, not empty
"""

from __future__ import annotations


class CLIError(Exception):
    """Base of every error the cli package raises; str() is one line."""


class ConfigFileError(CLIError):
    """The configuration file cannot be used; the message names the file (and key)."""


class SettingsError(CLIError):
    """The resolved settings are inconsistent or invalid."""


class StartupError(CLIError):
    """Something the server needs at start-up is unavailable."""


class KeyRotationError(CLIError):
    """``corral secrets-encrypt`` cannot do what was asked (the message says why)."""


class DatastoreCommandError(CLIError):
    """``corral backup`` or ``corral restore`` could not do its work."""
