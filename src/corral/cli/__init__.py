"""The ``corral`` command line: settings, start-up, serving and shutdown.

The top layer: it wires storage, pki, auth and the API server together.
`corral.cli.main` is the entry point; `corral.cli.server_command` declares
``corral server``'s settings; `corral.cli.serve` starts and stops the server.

Errors (`corral.cli.errors`), one tree; each is printed as one line,
``corral: error: …``, with exit code 1:

    CLIError
    ├── ConfigFileError   the --config file is unreadable, not YAML, or has a bad key or value
    ├── SettingsError     settings that are valid alone but not together (or a bad address)
    └── StartupError      the server cannot start: data dir, ports, datastore, TLS, credentials
"""
